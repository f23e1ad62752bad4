#!/bin/sh
# Issue 7 item 8: bad command lines, the state after a kill, a disk full or a
# corrupt file, and a root the user cannot write.
. "$(dirname "$0")/lib.sh"

setup() {
  mkdir -p "$TMP/src/docs" "$TMP/root"
  echo one >"$TMP/src/docs/a.txt"
  cat >"$TMP/rotator.conf" <<CONF
[rotator]
root = $TMP/root
timezone = UTC

[clone]
type = clone
run_on = daily
source = $TMP/src/
path = clone
CONF
}
R() { "$ROTATOR" -c "$TMP/rotator.conf" "$@"; }

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

setup
test_case "extra arguments and --now '' are errors" t_extra_arguments_are_errors
[ "$nfail" -eq 0 ]
