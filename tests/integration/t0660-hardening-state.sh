#!/bin/sh
# Issue 7 item 8: bad command lines, the state after a kill, a disk full or a
# corrupt file, and a root the user cannot write.
. "$(dirname "$0")/lib.sh"

setup() {
  mkdir -p "$TMP/src/docs" "$TMP/root"
  echo one >"$TMP/src/docs/a.txt"
  write_conf "$CONF" "$TMP/root" "$TMP/src/" </dev/null
}

t_extra_arguments_are_errors() {
  for cmd in "status foo" "daily extra" "check x" "prune x" "status --bogus"; do
    # shellcheck disable=SC2086
    expect_exit 1 R $cmd 2>"$TMP/err"
    what=unexpected\ argument
    case $cmd in *--bogus) what=unknown\ option ;; esac
    expect_grep "^rotator: ${cmd%% *}: $what '${cmd#* }'\$" "$TMP/err"
    expect_grep "^Try 'rotator --help'.\$" "$TMP/err"
  done
  [ ! -e "$TMP/root/clone" ] || fail "a refused command ran the clone"
  expect_exit 1 R --now '' status 2>"$TMP/err"
  expect_grep "^rotator: --now: empty time" "$TMP/err"
  expect_grep "^Try 'rotator --help'.\$" "$TMP/err"
  expect_exit 1 R daily --now= 2>"$TMP/err"
  expect_grep "^rotator: --now: empty time" "$TMP/err"
  [ ! -e "$TMP/root/clone" ] || fail "--now '' ran the clone"
}

t_prune_settles_a_killed_run() {
  write_conf "$TMP/snap.conf" "$TMP/root" "$TMP/src/" <<CONF

[snaps]
type = snapshot
from = clone
path = snaps
naming = rotate
keep = daily:3
CONF
  S() { "$ROTATOR" -c "$TMP/snap.conf" "$@"; }
  S daily
  # A daily run killed while it built a generation: its state still says
  # running and its staging is there.
  state=$TMP/root/.rotator/state/snaps.state
  sed -i 's/^last_result=.*/last_result=running/' "$state"
  mkdir "$TMP/root/snaps/.rotator-staging"
  cp -al "$TMP/root/clone/." "$TMP/root/snaps/.rotator-staging/"
  S status >"$TMP/out" || true
  expect_grep "running, or interrupted (crash or kill)" "$TMP/out"
  S prune 2>"$TMP/err"
  [ ! -e "$TMP/root/snaps/.rotator-staging" ] || fail "prune did not roll back the staging"
  expect_exit 1 S status >"$TMP/out"
  expect_grep "rotator prune recovered it" "$TMP/out"
  S daily 2>"$TMP/err"
  if grep -q "did not finish" "$TMP/err"; then cat "$TMP/err"; fail "warned again after prune"; fi
  S status
}

t_corrupt_state_is_a_warning() {
  R daily
  state=$TMP/root/.rotator/state/clone.state
  for content in "" "garbage"; do
    printf '%s' "$content" >"$state"
    expect_exit 2 R status >"$TMP/out"
    what="is corrupt (line 1: 'garbage' is not KEY=VALUE)"
    [ -n "$content" ] || what="is empty"
    expect_grep "warning: state file '$state' $what; the last results are unknown" "$TMP/out"
    if grep -q "never run" "$TMP/out"; then fail "a $what state file reads as never run"; fi
    expect_exit 2 R status --json >"$TMP/json"
    if have jq; then
      [ "$(jq -r '.jobs[0].severity' "$TMP/json")" = warning ]
      jq -r '.jobs[0].problem' "$TMP/json" | grep -q "^state file '$state' "
    else
      expect_grep '"severity":"warning"' "$TMP/json"
    fi
    expect_exit 1 R status --nagios >"$TMP/nagios"
    expect_grep "^ROTATOR WARNING - clone: state file '$state' " "$TMP/nagios"
  done
  # The next run warns and starts a new state.
  expect_exit 2 R daily 2>"$TMP/err"
  expect_grep "\[clone\] state file '$state' is corrupt" "$TMP/err"
  R status
}

t_check_root_not_writable() {
  have setpriv || skip_inside "setpriv(1) is not installed"
  id nobody >/dev/null 2>&1 || skip_inside "no user nobody"
  [ "$(id -u)" -eq 0 ] || skip_inside "needs root to become nobody"
  # A tree nobody can read but not write; the test's own scratch directory
  # is opened for it to traverse.
  mkdir -p "$TMP/ro/root" "$TMP/ro/src"
  echo x >"$TMP/ro/src/f"
  sed "s|$TMP/root|$TMP/ro/root|; s|$TMP/src/|$TMP/ro/src/|" "$CONF" >"$TMP/ro/r.conf"
  chmod 755 "$TMP" "$TMP/ro" "$TMP/ro/root" "$TMP/ro/src"
  chmod 644 "$TMP/ro/r.conf"
  as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
  if ! as_nobody "$ROTATOR" --version >/dev/null 2>&1; then
    skip_inside "user nobody cannot run $ROTATOR"
  fi
  expect_exit 1 as_nobody "$ROTATOR" -c "$TMP/ro/r.conf" check 2>"$TMP/err"
  expect_grep "^rotator: root '$TMP/ro/root' is not writable by this user: Permission denied" "$TMP/err"
  "$ROTATOR" -c "$TMP/ro/r.conf" check >"$TMP/out"
  expect_grep "config OK" "$TMP/out"
}

setup
test_case "extra arguments and --now '' are errors" t_extra_arguments_are_errors
test_case "prune settles a killed run: the next run does not warn again" t_prune_settles_a_killed_run
test_case "an empty or corrupt state file is a warning in status, not never run" t_corrupt_state_is_a_warning
test_case "check reports a root the user cannot write (as nobody)" t_check_root_not_writable
[ "$nfail" -eq 0 ]
