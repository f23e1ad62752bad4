# rotator — plain GNU Makefile.
#
# Knobs:
#   PREFIX=/usr/local   install prefix (bin, share/man, etc under it; sysconfdir = /etc
#                        when PREFIX=/usr, else $(PREFIX)/etc)
#   DESTDIR=            staging root for packaging
#   CRONDIR=/etc/cron.d, LOGROTATEDIR=/etc/logrotate.d, SYSTEMDUNITDIR (/lib/systemd/system
#                        for PREFIX=/usr, else PREFIX/lib/systemd/system), BASHCOMPDIR
#   INSTALL_STRIP=-s    strip on install (INSTALL_STRIP= keeps the debug info)
#   DEVELOPER=1         add -Werror (CI sets it)
#   V=1                 show full compiler command lines
#   CXX, CXXFLAGS, LDFLAGS as usual
#   SANITIZE=address,undefined | SANITIZE=thread
#                       build with -fsanitize=LIST into build/sanitize-LIST/ (own objects,
#                       own rotator and unittest there; ./rotator and the normal build
#                       are not touched); `make SANITIZE=LIST check-unit` runs the unit
#                       suite under it (CI does both); UNIT_ARGS= passes doctest options
#   CLANG_FORMAT=clang-format-14   the formatter of `make format` / `make format-check`
#   FUZZ_TIME=60        seconds `make fuzz` runs each fuzz target
#   FUZZ_CXX=clang++    the compiler for the fuzz targets (libFuzzer needs clang)
#
# Targets: all (./rotator), check (unit + oracle + integration tests), check-unit,
#          format (clang-format the sources in place), format-check, install, uninstall,
#          deps (apt-get the Debian build/test dependencies), demo, lint, bench, clean,
#          fuzz (libFuzzer targets, needs clang: see below), fuzz-deps,
#          deb (Debian package under build/deb), deb-deps.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif
# cron and logrotate read only /etc, whatever the prefix.
CRONDIR ?= /etc/cron.d
LOGROTATEDIR ?= /etc/logrotate.d
ifeq ($(PREFIX),/usr)
SYSTEMDUNITDIR ?= /lib/systemd/system
else
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
endif
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITS = rotator-daily.timer rotator-weekly.timer rotator-monthly.timer
# install -s: the binary is ~21 MB with debug info; INSTALL_STRIP= keeps it
# (debian/rules does, so that dh_strip makes the -dbgsym package).
INSTALL_STRIP ?= -s

CXX ?= g++
PKGS = fmt inih INIReader libxxhash
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lfmt -lINIReader -linih -lxxhash)

WARN = -Wall -Wextra -Wshadow -Wno-missing-field-initializers
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif
CXXFLAGS ?= -O2 -g
ALL_CXXFLAGS = -std=c++20 -pthread $(WARN) $(CPPFLAGS) $(CXXFLAGS) $(PKG_CFLAGS) -Isrc -MMD -MP
LIBS = $(PKG_LIBS) -ldate-tz -pthread

comma := ,
ifneq ($(SANITIZE),)
# A separate tree, so sanitized and normal objects never mix.
OBJ := build/sanitize-$(subst $(comma),-,$(SANITIZE))
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_CXXFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
ROTATOR_BIN := $(OBJ)/rotator
UNITTEST_BIN := $(OBJ)/unittest
else
OBJ := build
ROTATOR_BIN := rotator
UNITTEST_BIN := tests/unit/unittest
endif

ifeq ($(V),1)
Q =
else
Q = @
endif

# Every src/*/*.cpp except main.cpp goes into librotator.a, linked by both the
# program and the unit tests.
LIB_SRCS := $(sort $(wildcard src/*/*.cpp))
LIB_OBJS := $(LIB_SRCS:%.cpp=$(OBJ)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/*.cpp))
TEST_OBJS := $(TEST_SRCS:%.cpp=$(OBJ)/%.o)

all: $(ROTATOR_BIN)

$(ROTATOR_BIN): $(OBJ)/src/main.o $(OBJ)/librotator.a
	@echo "  LINK    $@"
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LIBS)

$(OBJ)/librotator.a: $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(UNITTEST_BIN): $(TEST_OBJS) $(OBJ)/librotator.a
	@echo "  LINK    $@"
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LIBS)

$(OBJ)/%.o: %.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	$(Q)$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

# make check: every suite; the last line is "N passed, N failed[, N skipped]".
check: rotator tests/unit/unittest
	@tests/run-all

# make check-unit: the unit suite alone (with SANITIZE=..., the sanitized one).
check-unit: $(UNITTEST_BIN)
	@$(UNITTEST_BIN) --no-version $(UNIT_ARGS)

install: rotator
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(SYSCONFDIR)/rotator $(DESTDIR)$(CRONDIR)
	install -m 0755 $(INSTALL_STRIP) rotator $(DESTDIR)$(BINDIR)/rotator
	install -m 0644 man/rotator.1 $(DESTDIR)$(MANDIR)/man1/rotator.1
	install -m 0644 man/rotator.conf.5 $(DESTDIR)$(MANDIR)/man5/rotator.conf.5
	install -m 0644 etc/rotator.conf $(DESTDIR)$(SYSCONFDIR)/rotator.conf.example
	install -m 0644 etc/backup.filter $(DESTDIR)$(SYSCONFDIR)/rotator/backup.filter
	install -m 0644 etc/cron.d/rotator $(DESTDIR)$(CRONDIR)/rotator
	install -d $(DESTDIR)$(LOGROTATEDIR) $(DESTDIR)$(BASHCOMPDIR) \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@daily.service.d $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@weekly.service.d
	install -m 0644 etc/logrotate.d/rotator $(DESTDIR)$(LOGROTATEDIR)/rotator
	install -m 0644 etc/bash-completion/rotator $(DESTDIR)$(BASHCOMPDIR)/rotator
	sed 's|@BINDIR@|$(BINDIR)|g' systemd/rotator@.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/rotator@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@.service
	for u in $(UNITS) rotator@daily.service.d/order.conf rotator@weekly.service.d/order.conf; do \
	  install -m 0644 systemd/$$u $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done

# Removes exactly what install put there (never /etc/rotator.conf, which the
# user wrote, nor any backup).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rotator $(DESTDIR)$(MANDIR)/man1/rotator.1 \
	  $(DESTDIR)$(MANDIR)/man5/rotator.conf.5 $(DESTDIR)$(SYSCONFDIR)/rotator.conf.example \
	  $(DESTDIR)$(SYSCONFDIR)/rotator/backup.filter $(DESTDIR)$(CRONDIR)/rotator \
	  $(DESTDIR)$(LOGROTATEDIR)/rotator $(DESTDIR)$(BASHCOMPDIR)/rotator \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@.service $(UNITS:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%) \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@daily.service.d/order.conf \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@weekly.service.d/order.conf
	-rmdir $(DESTDIR)$(SYSCONFDIR)/rotator $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@daily.service.d \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/rotator@weekly.service.d 2>/dev/null

DEB_DEPS = g++ make pkg-config libfmt-dev libinih-dev libhowardhinnant-date-dev doctest-dev libxxhash-dev \
	   nlohmann-json3-dev rsync mandoc tzdata jq attr acl clang-format-14 strace
# make deb-deps: what `make deb`, tests/deb-check.sh and the systemd and
# completion tests need besides DEB_DEPS (.ci/run installs both lists).
deb-deps:
	@$(MAKE) --no-print-directory deps DEB_DEPS="$(DEB_PKG_DEPS)"

deps:
	@missing=""; for p in $(DEB_DEPS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "all build dependencies present"; fi

demo: deps
	@$(MAKE) --no-print-directory rotator
	@tests/demo.sh

# The Fs seam: no direct file syscalls outside src/fs/posix_fs.cpp.
# make lint: the shape checks, none of which needs mandoc:
#   tools/lint-seam.sh    no file syscall (path or descriptor: fsync, ioctl,
#                         copy_file_range, f*xattr ...), stdio open, stream or
#                         std::filesystem outside src/fs/posix_fs and
#                         src/util/process (the Fs seam), qualified or not;
#   tools/lint-layers.sh  no include of a higher layer (order: ARCHITECTURE.md);
#   nlohmann only through util/json.hpp. (make format-check is separate, so
#   that a layout slip and a layering breach read as different failures; CI
#   runs both.)
# The man pages are linted by mandoc when it is installed (make deps does),
# else skipped with a message.
lint:
	@sh tools/lint-seam.sh
	@sh tools/lint-layers.sh
	@! grep -n 'include <nlohmann/' $$(ls src/*/*.cpp src/*/*.hpp tests/unit/*.cpp tests/unit/*.hpp | grep -v src/util/json.hpp) \
	  || (echo "lint: include util/json.hpp, not nlohmann directly (JSON_NOEXCEPTION must be set)"; exit 1)
	@if command -v mandoc >/dev/null 2>&1; then \
	  mandoc -Tlint -W warning man/rotator.1 man/rotator.conf.5 && \
	  tests/lint-man-render man/rotator.1 man/rotator.conf.5 && echo "lint: man pages ok"; \
	else echo "lint: mandoc is not installed: man pages not checked (make deps installs it)"; fi

# make format / format-check: clang-format (.clang-format) over the C++ sources.
FORMAT_SRCS = $(sort $(wildcard src/*.cpp src/*/*.cpp src/*/*.hpp tests/unit/*.cpp tests/unit/*.hpp \
		tests/fuzz/*.cpp))
CLANG_FORMAT ?= $(shell command -v clang-format-14 2>/dev/null || echo clang-format)
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)
format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS) \
	  || (echo "format-check: run 'make format' (clang-format, .clang-format)"; exit 1)
	@echo "format-check: ok"

# make deb: the Debian package, built from a copy of the source files under
# build/deb (the tree itself stays clean); the .deb lands in build/deb/.
DEB_PKG_DEPS = debhelper dpkg-dev fakeroot lintian systemd man-db bash-completion
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null || echo 0)
deb:
	rm -rf build/deb && mkdir -p build/deb/rotator-$(DEB_VERSION)
	git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t build/deb/rotator-$(DEB_VERSION)
	cd build/deb/rotator-$(DEB_VERSION) && dpkg-buildpackage -us -uc -b
	@ls build/deb/*.deb

bench: rotator
	bench/run.sh

clean:
	rm -rf build rotator tests/unit/unittest

# make fuzz: libFuzzer targets (tests/fuzz/fuzz_*.cpp) for the INI config
# parser, the filter rule parser and wildmatch, built with clang
# (-fsanitize=fuzzer,address,undefined) under build/fuzz/, then each is run
# for FUZZ_TIME seconds from its seed corpus tests/fuzz/corpus/<target>/
# (new inputs go to build/fuzz/corpus/<target>/, crashes, leaks, UB and
# inputs slower than 10 s to build/fuzz/artifacts/). Fails on any finding.
# Only this target needs clang and libclang-rt-14-dev (make fuzz-deps);
# make and make check do not.
FUZZ_TIME ?= 60
FUZZ_CXX ?= clang++
FUZZ_TARGETS = config filter_rules wildmatch
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CXXFLAGS = -std=c++20 -g -O1 -pthread $(FUZZ_SAN) $(PKG_CFLAGS) -Isrc -MMD -MP
FUZZ_LIB_OBJS := $(LIB_SRCS:%.cpp=build/fuzz/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_DEPS = clang libclang-rt-14-dev

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t build/fuzz/artifacts; \
	  echo "  FUZZ    $$t ($(FUZZ_TIME) s)"; \
	  build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/$$t- \
	    build/fuzz/corpus/$$t tests/fuzz/corpus/$$t 2>build/fuzz/$$t.log \
	    || { tail -40 build/fuzz/$$t.log; echo "fuzz: $$t found a problem (build/fuzz/artifacts/)"; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^stat::new_units_added' build/fuzz/$$t.log | tr '\n' ' '; echo; \
	done

fuzz-deps:
	@missing=""; for p in $(FUZZ_DEPS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "all fuzz dependencies present"; fi

build/fuzz/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o build/fuzz/librotator.a
	@echo "  LINK    $@"
	$(Q)$(FUZZ_CXX) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

build/fuzz/librotator.a: $(FUZZ_LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

build/fuzz/%.o: %.cpp
	@command -v $(FUZZ_CXX) >/dev/null 2>&1 || { echo "make fuzz needs $(FUZZ_CXX) (make fuzz-deps)"; exit 1; }
	@mkdir -p $(dir $@)
	@echo "  FUZZCXX $<"
	$(Q)$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

.PHONY: all check check-unit format format-check install uninstall deps deb-deps deb demo lint bench clean fuzz fuzz-deps

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(OBJ)/src/main.d
-include $(wildcard build/fuzz/src/*/*.d build/fuzz/tests/fuzz/*.d)
