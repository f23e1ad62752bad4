#!/bin/sh
# CI: build the Debian package (make deb) and inspect it: the file list, the
# conffile, units installed but not enabled, and no lintian errors.
# Needs the packages of DEB_PKG_DEPS in the Makefile (make deb-deps).
set -eu
cd "$(dirname "$0")/.."
# DEB_CHECK_BUILT=1: inspect the .deb an earlier `make deb` left in build/deb.
[ "${DEB_CHECK_BUILT:-0}" = 1 ] || make deb
deb=$(ls build/deb/rotator_*.deb | head -1)
echo "deb-check: $deb"
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >build/deb/files.txt
fail=0
for f in /usr/bin/rotator /etc/rotator.conf /etc/rotator/backup.filter /etc/cron.d/rotator \
  /etc/logrotate.d/rotator /usr/share/man/man1/rotator.1.gz /usr/share/man/man5/rotator.conf.5.gz \
  /usr/share/bash-completion/completions/rotator /lib/systemd/system/rotator@.service \
  /lib/systemd/system/rotator-daily.timer /lib/systemd/system/rotator-weekly.timer \
  /lib/systemd/system/rotator-monthly.timer /lib/systemd/system/rotator@daily.service.d/order.conf \
  /lib/systemd/system/rotator@weekly.service.d/order.conf /usr/share/doc/rotator/copyright; do
  grep -qx "$f" build/deb/files.txt || { echo "deb-check: missing $f"; fail=1; }
done
# Nothing outside the expected trees.
if grep -Ev '^/(usr/bin|usr/share/(man|doc|bash-completion)|etc|lib/systemd/system)(/|$)|^/((usr|usr/share|lib|lib/systemd)/)?$' build/deb/files.txt; then
  echo "deb-check: unexpected paths above"; fail=1
fi
mkdir -p build/deb/ctl && dpkg-deb -e "$deb" build/deb/ctl
grep -qx /etc/rotator.conf build/deb/ctl/conffiles || { echo "deb-check: /etc/rotator.conf not a conffile"; fail=1; }
# Installed, not enabled or started: dh_installsystemd --no-enable only
# re-creates the links of a unit the admin had enabled (was-enabled).
if awk 'BEGIN { guard = -100 } /was-enabled/ { guard = NR } /deb-systemd-helper (--quiet )?enable/ && NR - guard > 2 { print; bad = 1 }
        /deb-systemd-invoke (start|restart)/ { print; bad = 1 } END { exit !bad }' \
     build/deb/ctl/postinst 2>/dev/null; then
  echo "deb-check: the package enables or starts units"; fail=1
fi
# The binary is stripped (debug info goes to the -dbgsym package).
dpkg-deb -x "$deb" build/deb/root
if readelf -S build/deb/root/usr/bin/rotator | grep -q '\.debug_info'; then echo "deb-check: not stripped"; fail=1; fi
build/deb/root/usr/bin/rotator --version
lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" || { echo "deb-check: lintian errors"; fail=1; }
[ "$fail" -eq 0 ] && echo "deb-check: ok"
exit "$fail"
