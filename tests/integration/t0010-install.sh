#!/bin/sh
# make install honours PREFIX and DESTDIR.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

t_install_prefix_destdir() {
  make -s -C "$top" install PREFIX=/usr DESTDIR="$TMP/stage" >/dev/null
  [ -x "$TMP/stage/usr/bin/rotator" ]
  [ -f "$TMP/stage/usr/share/man/man1/rotator.1" ]
  [ -f "$TMP/stage/usr/share/man/man5/rotator.conf.5" ]
  [ -f "$TMP/stage/etc/rotator.conf.example" ]
  "$TMP/stage/usr/bin/rotator" --version | grep -q '^rotator '
  make -s -C "$top" install PREFIX=/opt/rot DESTDIR="$TMP/stage2" >/dev/null
  [ -x "$TMP/stage2/opt/rot/bin/rotator" ]
  [ -f "$TMP/stage2/opt/rot/etc/rotator.conf.example" ]
}
test_case "make install with PREFIX and DESTDIR" t_install_prefix_destdir
[ "$nfail" -eq 0 ]
