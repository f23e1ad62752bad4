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

t_install_all_and_uninstall() {
  make -s -C "$top" install PREFIX=/usr DESTDIR="$TMP/full" >/dev/null
  [ -f "$TMP/full/etc/rotator/backup.filter" ] || fail "no example filter"
  [ -f "$TMP/full/etc/cron.d/rotator" ] || fail "no cron.d example"
  # install -s by default: no debug sections left.
  if have readelf; then
    if readelf -S "$TMP/full/usr/bin/rotator" | grep -q '\.debug_info'; then fail "not stripped"; fi
  fi
  make -s -C "$top" uninstall PREFIX=/usr DESTDIR="$TMP/full" >/dev/null
  left=$(find "$TMP/full" -type f)
  [ -z "$left" ] || fail "uninstall left: $left"
}

# A test config whose daily clone and weekly backup can really run.
cron_conf() {
  mkdir -p "$TMP/src" "$TMP/root"; echo a >"$TMP/src/a"
  write_conf "$TMP/cron.conf" "$TMP/root" "$TMP/src/" <<CONF
[backup]
type = backup
run_on = weekly
from = clone
path = backup
holding = holding
CONF
}

# The README's crontab works as written under cron's environment (PATH
# /usr/bin:/bin): each command names where `make install` put the program.
t_readme_crontab_as_written() {
  make -s -C "$top" install DESTDIR="$TMP/st" >/dev/null
  cron_conf
  awk '/^crontab/{f=1} f&&/^```$/{c++; if(c==2) exit; next} f&&c==1' "$top/README.md" >"$TMP/crontab"
  [ -s "$TMP/crontab" ] || fail "no crontab block in README"
  while read -r m h dom mon dow cmd; do
    case $cmd in /*) ;; *) fail "README crontab: '$cmd' depends on cron's PATH" ;; esac
    # Run it the way cron would, with the installed file under DESTDIR.
    run=$(printf '%s' "$cmd" | sed "s|^/usr/local/bin/rotator|$TMP/st/usr/local/bin/rotator|")
    [ "$run" != "$cmd" ] || fail "'$cmd' is not the installed /usr/local/bin/rotator"
    set +e; out=$(env -i PATH=/usr/bin:/bin ROTATOR_CONF="$TMP/cron.conf" sh -c "$run" 2>&1); rc=$?; set -e
    [ "$rc" -eq 0 ] || fail "'$cmd' exit $rc: $out"
    case $cmd in *status*) [ -z "$out" ] || fail "status line printed when all is well: $out" ;; esac
  done <"$TMP/crontab"
}

# /etc/cron.d/rotator: its PATH finds both install prefixes; uncommented,
# every line runs under exactly that PATH.
t_crond_example() {
  f="$top/etc/cron.d/rotator"
  path=$(sed -n 's/^PATH=//p' "$f")
  case ":$path:" in *:/usr/local/bin:*) ;; *) fail "PATH lacks /usr/local/bin" ;; esac
  case ":$path:" in *:/usr/bin:*) ;; *) fail "PATH lacks /usr/bin" ;; esac
  make -s -C "$top" install DESTDIR="$TMP/st2" >/dev/null
  cron_conf
  staged=$(printf '%s' "$path" | tr ':' '\n' | sed "s|^|$TMP/st2|" | paste -sd: -)
  grep -E '^#[0-9]' "$f" | sed 's/^#//' >"$TMP/lines"
  [ "$(wc -l <"$TMP/lines")" -ge 3 ] || fail "too few example lines"
  while read -r m h dom mon dow user cmd; do
    [ "$user" = root ] || fail "cron.d line without a user field: $cmd"
    case $cmd in *monthly*) continue ;; esac  # needs a rotate snapshot job
    set +e; out=$(env -i PATH="$staged:$path" ROTATOR_CONF="$TMP/cron.conf" sh -c "$cmd" 2>&1); rc=$?; set -e
    [ "$rc" -eq 0 ] || fail "'$cmd' exit $rc: $out"
  done <"$TMP/lines"
}

# The sample config passes `rotator check` with the installed example filter.
t_sample_config_checks() {
  make -s -C "$top" install PREFIX=/usr DESTDIR="$TMP/st3" >/dev/null
  mkdir -p "$TMP/srv"
  sed -e "s|^root     = /srv/backup|root     = $TMP/srv|" -e "s|= /etc/rotator/|= $TMP/st3/etc/rotator/|" \
    "$TMP/st3/etc/rotator.conf.example" >"$TMP/sample.conf"
  grep -q "$TMP/st3/etc/rotator/backup.filter" "$TMP/sample.conf" || fail "sample config names no shipped filter"
  "$ROTATOR" -c "$TMP/sample.conf" check
}

test_case "make install with PREFIX and DESTDIR" t_install_prefix_destdir
test_case "make install: filter, cron.d, stripped; make uninstall removes it all" t_install_all_and_uninstall
test_case "README crontab works as written under cron's PATH" t_readme_crontab_as_written
test_case "/etc/cron.d/rotator sets a PATH and its lines run" t_crond_example
test_case "sample config passes rotator check with the shipped filter" t_sample_config_checks
[ "$nfail" -eq 0 ]
