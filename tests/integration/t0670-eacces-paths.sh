#!/bin/sh
# Errors name the path (issue 8 item 5): as an unprivileged user, a directory
# made unreadable (chmod 000) makes each job fail with exit 1 and a message
# naming that directory, never a placeholder ('<fd>', '<directory>').
. "$(dirname "$0")/lib.sh"

AS=
if [ "$(id -u)" -eq 0 ] && have setpriv; then
  AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi

setup() {
  chmod 755 "$TMP"
  mkdir -p "$TMP/src/docs" "$TMP/root"
  echo one >"$TMP/src/docs/a.txt"
  write_conf "$CONF" "$TMP/root" "$TMP/src/" <<CONF

[backup]
type = backup
run_on = weekly
from = clone
path = backup

[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:3
CONF
  chmod -R a+rX "$TMP/src" "$CONF"
  [ -z "$AS" ] || chown -R nobody:nogroup "$TMP/root"
}
R() { $AS "$ROTATOR" -c "$CONF" "$@"; }

# expect_named_failure DIR COMMAND...: with DIR chmod 000, COMMAND exits 1
# and its message names DIR, never a placeholder.
expect_named_failure() {
  dir=$1; shift
  chmod 000 "$dir"
  set +e; R "$@" >"$TMP/out" 2>"$TMP/err"; got=$?; set -e
  chmod 755 "$dir"
  [ "$got" -eq 1 ] || { cat "$TMP/err"; fail "expected exit 1, got $got from: $*"; }
  name=${dir#"$TMP/root/"}
  grep -q -- "$name" "$TMP/err" || { cat "$TMP/err"; fail "'$name' not named by: $*"; }
  if grep -q -- "<fd>\|<directory>\|<filesystem>\|<lock file>" "$TMP/err" "$TMP/out"; then
    cat "$TMP/err"; fail "a placeholder instead of a path from: $*"
  fi
}

t_first_runs() {
  [ "$(id -u)" -ne 0 ] || [ -n "$AS" ] || skip_inside "root without setpriv: permissions are not enforced"
  R --now 2026-11-01T02:00 daily
  R --now 2026-11-01T03:00 weekly
  [ -d "$TMP/root/snapshots/daily.0" ]
  [ -d "$TMP/root/backup" ]
}
t_snapshot_eacces() {
  [ "$(id -u)" -ne 0 ] || [ -n "$AS" ] || skip_inside "root without setpriv"
  expect_named_failure "$TMP/root/snapshots" --now 2026-11-02T02:00 daily
}
t_backup_eacces() {
  [ "$(id -u)" -ne 0 ] || [ -n "$AS" ] || skip_inside "root without setpriv"
  expect_named_failure "$TMP/root/backup" --now 2026-11-08T03:00 weekly
}
t_clone_eacces() {
  [ "$(id -u)" -ne 0 ] || [ -n "$AS" ] || skip_inside "root without setpriv"
  expect_named_failure "$TMP/root/clone/docs" --now 2026-11-03T02:00 daily
}
t_prune_eacces() {
  [ "$(id -u)" -ne 0 ] || [ -n "$AS" ] || skip_inside "root without setpriv"
  expect_named_failure "$TMP/root/snapshots" prune
}

setup
test_case "first runs as the unprivileged user" t_first_runs
test_case "snapshot daily: EACCES names the snapshot directory" t_snapshot_eacces
test_case "backup weekly: EACCES names the backup" t_backup_eacces
test_case "clone: EACCES names the clone's directory" t_clone_eacces
test_case "prune: EACCES names the snapshot directory" t_prune_eacces
[ "$nfail" -eq 0 ]
