#!/bin/sh
# Hostile input and hostile trees (issue 7): symlinks where rotator keeps its
# own files, non-regular config files, bad command lines.
. "$(dirname "$0")/lib.sh"

setup() {
  mkdir -p "$TMP/src/docs" "$TMP/root"
  echo one >"$TMP/src/docs/a.txt"
  write_conf "$CONF" "$TMP/root" "$TMP/src/" </dev/null
}

t_lock_symlink_not_followed() {
  echo precious >"$TMP/victim"
  mkdir -p "$TMP/root/.rotator"
  ln -s "$TMP/victim" "$TMP/root/.rotator/lock"
  expect_exit 1 R -n daily 2>"$TMP/err"
  expect_grep "lock file '$TMP/root/.rotator/lock' is a symlink; rotator never follows one there" "$TMP/err"
  expect_exit 1 R daily 2>"$TMP/err"
  [ "$(cat "$TMP/victim")" = precious ]
  [ ! -e "$TMP/root/clone" ]
  rm "$TMP/root/.rotator/lock"
  R daily
}

t_state_dir_symlink_not_followed() {
  mkdir -p "$TMP/elsewhere" "$TMP/root2"
  ln -s "$TMP/elsewhere" "$TMP/root2/.rotator"
  sed "s|^root = .*|root = $TMP/root2|" "$CONF" >"$TMP/r2.conf"
  expect_exit 1 "$ROTATOR" -c "$TMP/r2.conf" daily 2>"$TMP/err"
  expect_grep "'$TMP/root2/.rotator' is a symlink or not a directory" "$TMP/err"
  [ -z "$(ls -A "$TMP/elsewhere")" ] || fail "state written through the symlink: $(ls -A "$TMP/elsewhere")"
  [ ! -e "$TMP/root2/clone" ]
}

t_non_regular_config_and_merge() {
  expect_exit 1 "$ROTATOR" -c /dev/zero check 2>"$TMP/err"
  expect_grep "cannot read configuration '/dev/zero': not a regular file: a character device" "$TMP/err"
  mkfifo "$TMP/fifo.conf"
  expect_exit 1 timeout 10 "$ROTATOR" -c "$TMP/fifo.conf" check 2>"$TMP/err"
  expect_grep "not a regular file: a fifo" "$TMP/err"
  mkdir -p "$TMP/adir"
  printf -- '- *.tmp\nmerge %s\n' "$TMP/adir" >"$TMP/rules"
  cat "$CONF" - >"$TMP/merge.conf" <<CONF
[backup]
type = backup
run_on = weekly
from = clone
path = backup
filter = $TMP/rules
CONF
  expect_exit 1 "$ROTATOR" -c "$TMP/merge.conf" check 2>"$TMP/err"
  expect_grep "$TMP/rules:2: failed to open merge file '$TMP/adir': not a regular file: a directory" "$TMP/err"
  expect_exit 1 "$ROTATOR" -c "$TMP/merge.conf" weekly 2>"$TMP/err"
  [ ! -e "$TMP/root/backup" ] || [ -z "$(ls -A "$TMP/root/backup")" ] || fail "the backup selected something"
}

t_generation_symlink_refused() {
  cat "$CONF" - >"$TMP/snap.conf" <<CONF
[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:3 weekly:2
CONF
  S() { "$ROTATOR" -c "$TMP/snap.conf" "$@"; }
  S --now 2026-11-01T02:00 daily
  S --now 2026-11-02T02:00 daily
  mkdir -p "$TMP/elsewhere/keep"
  echo mine >"$TMP/elsewhere/keep/file"
  ls -lR --time-style=+%s "$TMP/elsewhere" >"$TMP/elsewhere.before"
  mv "$TMP/root/snapshots/daily.0" "$TMP/moved"
  ln -s "$TMP/elsewhere" "$TMP/root/snapshots/daily.0"
  ls -la --time-style=+%s "$TMP/root/snapshots" >"$TMP/snaps.before"
  msg="snapshot 'daily.0' is a symlink, not a directory: move it out of '$TMP/root/snapshots' and rerun"
  for cmd in "--now 2026-11-03T02:00 daily" "--now 2026-11-03T03:00 weekly" "prune" "check" \
             "-n --now 2026-11-03T02:00 daily"; do
    # shellcheck disable=SC2086
    expect_exit 1 S $cmd 2>"$TMP/err"
    expect_grep "$msg" "$TMP/err"
  done
  ls -la --time-style=+%s "$TMP/root/snapshots" >"$TMP/snaps.after"
  cmp "$TMP/snaps.before" "$TMP/snaps.after" || fail "the snapshot directory changed"
  ls -lR --time-style=+%s "$TMP/elsewhere" >"$TMP/elsewhere.after"
  cmp "$TMP/elsewhere.before" "$TMP/elsewhere.after" || fail "the symlink's target changed"
  [ "$(cat "$TMP/elsewhere/keep/file")" = mine ]
  # A regular file named like a generation, too.
  rm "$TMP/root/snapshots/daily.0"
  mv "$TMP/moved" "$TMP/root/snapshots/daily.0"
  mv "$TMP/root/snapshots/daily.1" "$TMP/moved"
  echo junk >"$TMP/root/snapshots/daily.1"
  expect_exit 1 S --now 2026-11-03T02:00 daily 2>"$TMP/err"
  expect_grep "snapshot 'daily.1' is a file, not a directory: move it out of '$TMP/root/snapshots' and rerun" "$TMP/err"
  [ "$(cat "$TMP/root/snapshots/daily.1")" = junk ]
  rm "$TMP/root/snapshots/daily.1"
  S --now 2026-11-03T02:00 daily
}

setup
test_case "a symlinked lock file is refused and its target untouched (even -n)" t_lock_symlink_not_followed
test_case "a symlinked .rotator is refused and nothing lands in its target" t_state_dir_symlink_not_followed
test_case "a non-regular config or merge file is refused, naming the line" t_non_regular_config_and_merge
test_case "a symlink or file named like a generation is refused by name; nothing changes" t_generation_symlink_refused
[ "$nfail" -eq 0 ]
