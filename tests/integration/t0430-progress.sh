#!/bin/sh
# The progress line: on a TTY only (run under script(1)'s pty), "\r"-updated,
# cleared before the summary; nothing through a pipe, under -q or in the log.
. "$(dirname "$0")/lib.sh"

setup() {
  mkdir -p "$TMP/src" "$TMP/root/clone"
  # 400 KB at --bwlimit=400 (KB/s): the clone runs about a second.
  head -c 409600 /dev/urandom >"$TMP/src/big"
  for d in 0 1 2 3; do
    mkdir -p "$TMP/src/d$d" && (cd "$TMP/src/d$d" && seq 3000 | xargs touch)
  done
  printf -- '- *.nothing\n' >"$TMP/rules"
  cat >"$TMP/rotator.conf" <<CONF
[rotator]
root = $TMP/root
timezone = UTC
logfile = $TMP/log
[clone]
type = clone
run_on = daily
source = $TMP/src/
path = clone
rsync_args = --bwlimit=400
[backup]
type = backup
run_on = weekly
from = clone
path = backup
filter = $TMP/rules
holding = holding
CONF
}
tty_run() { # tty_run OUT ARGS...: rotator on a pty, its output in OUT
  out=$1; shift
  script -qfec "'$ROTATOR' -c '$TMP/rotator.conf' $*" /dev/null >"$out" </dev/null
}

t_clone_shows_phase_on_tty() {
  have script || skip_inside "no script(1) (bsdutils)"
  tty_run "$TMP/tty-clone" --now 2026-11-22T03:00 daily
  grep -q "$(printf '\r')\[clone\] clone: rsync running, 0:0[0-9] elapsed" "$TMP/tty-clone" ||
    fail "no progress line: $(cat -v "$TMP/tty-clone")"
  # Cleared before the summary, which is unchanged.
  grep -q "$(printf '\033')\[Krotator: \[clone\] ok: " "$TMP/tty-clone" || fail "summary not on a clean line: $(cat -v "$TMP/tty-clone")"
}

t_backup_counts_against_previous_run() {
  have script || skip_inside "no script(1) (bsdutils)"
  "$ROTATOR" -c "$TMP/rotator.conf" --now 2026-11-22T03:00 weekly 2>/dev/null
  grep -q '^last_entries=12001$' "$TMP/root/.rotator/state/backup"* 2>/dev/null ||
    grep -rq 'last_entries=12001' "$TMP/root" || fail "no last_entries in the state"
  rm -rf "$TMP/root/backup" && mkdir "$TMP/root/backup"
  tty_run "$TMP/tty-backup" --now 2026-11-29T03:00 weekly
  cat -v "$TMP/tty-backup"
  grep -q "$(printf '\r')\[backup\] backup: [0-9]*/12001 entries ([0-9]*%), [0-9.]* [KM]*i*B linked, 0 archived" "$TMP/tty-backup" ||
    fail "no counted progress line"
  # Bytes linked: only the 400 KiB file has data, so no line shows more.
  tr '\r' '\n' <"$TMP/tty-backup" | sed -n 's/.* \([0-9.]* [KM]*i*B\) linked.*/\1/p' >"$TMP/linked"
  [ -s "$TMP/linked" ] || fail "no bytes linked shown"
  ! grep -v '^0 B$\|^400.0 KiB$' "$TMP/linked" || fail "bytes linked other than 0 B or 400.0 KiB"
  grep -q "rotator: \[backup\] ok: 12001 linked" "$TMP/tty-backup"
}

t_nothing_without_tty_or_with_q() {
  have script || skip_inside "no script(1) (bsdutils)"
  rm -rf "$TMP/root/clone" && mkdir "$TMP/root/clone"
  "$ROTATOR" -c "$TMP/rotator.conf" -v --now 2026-11-23T03:00 daily 2>"$TMP/pipe" | cat
  grep -q "\[clone\] ok: " "$TMP/pipe"
  ! grep -q "rsync running" "$TMP/pipe" || fail "progress through a pipe"
  ! grep -q "$(printf '\r')" "$TMP/pipe" || fail "carriage return through a pipe"
  rm -rf "$TMP/root/clone" && mkdir "$TMP/root/clone"
  tty_run "$TMP/tty-q" -q --now 2026-11-24T03:00 daily
  ! grep -q "rsync running" "$TMP/tty-q" || fail "progress under -q"
  ! grep -q "rsync running\|entries (" "$TMP/log" || fail "progress in the log file"
  grep -q "\[clone\] ok: " "$TMP/log"
}

setup
test_case "clone: phase line on a TTY, cleared before the summary" t_clone_shows_phase_on_tty
test_case "backup: entries of the previous run's count" t_backup_counts_against_previous_run
test_case "no progress through a pipe, under -q, or in the log" t_nothing_without_tty_or_with_q
[ "$nfail" -eq 0 ]
