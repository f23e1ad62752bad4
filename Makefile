# rotator — plain GNU Makefile.
#
# Knobs:
#   PREFIX=/usr/local   install prefix (bin, share/man, etc under it; sysconfdir = /etc
#                        when PREFIX=/usr, else $(PREFIX)/etc)
#   DESTDIR=            staging root for packaging
#   DEVELOPER=1         add -Werror (CI sets it)
#   V=1                 show full compiler command lines
#   CXX, CXXFLAGS, LDFLAGS as usual
#
# Targets: all (./rotator), check (unit + oracle + integration tests), install,
#          deps (apt-get the Debian build/test dependencies), demo, lint, bench, clean.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif

CXX ?= g++
PKGS = fmt inih INIReader
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lfmt -lINIReader -linih)

WARN = -Wall -Wextra -Wshadow -Wno-missing-field-initializers
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif
CXXFLAGS ?= -O2 -g
ALL_CXXFLAGS = -std=c++20 -pthread $(WARN) $(CXXFLAGS) $(PKG_CFLAGS) -Isrc -MMD -MP
LIBS = $(PKG_LIBS) -ldate-tz -pthread

ifeq ($(V),1)
Q =
else
Q = @
endif

# Every src/*/*.cpp except main.cpp goes into librotator.a, linked by both the
# program and the unit tests.
LIB_SRCS := $(sort $(wildcard src/*/*.cpp))
LIB_OBJS := $(LIB_SRCS:%.cpp=build/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/*.cpp))
TEST_OBJS := $(TEST_SRCS:%.cpp=build/%.o)

all: rotator

rotator: build/src/main.o build/librotator.a
	@echo "  LINK    $@"
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LIBS)

build/librotator.a: $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

tests/unit/unittest: $(TEST_OBJS) build/librotator.a
	@echo "  LINK    $@"
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LIBS)

build/%.o: %.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	$(Q)$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

# make check: every suite; the last line is "N passed, N failed[, N skipped]".
check: rotator tests/unit/unittest
	@tests/run-all

install: rotator
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 rotator $(DESTDIR)$(BINDIR)/rotator
	install -m 0644 man/rotator.1 $(DESTDIR)$(MANDIR)/man1/rotator.1
	install -m 0644 man/rotator.conf.5 $(DESTDIR)$(MANDIR)/man5/rotator.conf.5
	install -m 0644 etc/rotator.conf $(DESTDIR)$(SYSCONFDIR)/rotator.conf.example

DEB_DEPS = g++ make pkg-config libfmt-dev libinih-dev libhowardhinnant-date-dev doctest-dev \
	   nlohmann-json3-dev rsync mandoc tzdata jq attr
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
lint:
	@! grep -nE '(^|[^A-Za-z0-9_])(::|std::filesystem::)(rename|renameat|renameat2|link|linkat|unlink|unlinkat|rmdir|mkdir|mkdirat|symlink|symlinkat|remove|remove_all|open|openat|chmod|fchmodat|chown|fchownat|utimensat|fstatat|lstat|stat|getdents64)\(' \
	  $$(ls src/*/*.cpp src/*/*.hpp | grep -v -e src/fs/posix_fs.cpp -e src/util/process.cpp) \
	  || (echo "lint: filesystem call outside the Fs seam (src/fs/posix_fs.cpp)"; exit 1)
	@! grep -n 'include <nlohmann/' $$(ls src/*/*.cpp src/*/*.hpp tests/unit/*.cpp tests/unit/*.hpp | grep -v src/util/json.hpp) \
	  || (echo "lint: include util/json.hpp, not nlohmann directly (JSON_NOEXCEPTION must be set)"; exit 1)
	mandoc -Tlint -W warning man/rotator.1 man/rotator.conf.5

bench: rotator
	bench/run.sh

clean:
	rm -rf build rotator tests/unit/unittest

.PHONY: all check install deps demo lint bench clean

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) build/src/main.d
