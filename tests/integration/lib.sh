# Shared helpers for integration scripts (POSIX sh). Source it first.
# Each test prints "ok N - name", "not ok N - name" or "skip N - name # reason".
# Every script works only inside its own scratch directory $TMP (removed at
# exit unless a test failed).
set -u
ROTATOR=${ROTATOR:-$(cd "$(dirname "$0")/../.." && pwd)/rotator}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rotator-it.XXXXXX")
n=0
nfail=0
cleanup() {
  if [ "$nfail" -eq 0 ]; then chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"
  else echo "# scratch kept in $TMP"; fi
}
trap cleanup EXIT

# test_case NAME COMMAND...: runs COMMAND (a shell function) in a subshell.
test_case() {
  name=$1; shift
  n=$((n + 1))
  # Neither "if ( ... )" nor "( ... ) || ...": set -e is ignored inside an
  # if condition or an && / || list (subshells included), so only the last
  # command would count. Run the subshell as a plain command, then read $?.
  ( set -e; "$@" ) >"$TMP/.out.$n" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "ok $n - $name"
  elif [ "$rc" -eq 77 ]; then
    echo "skip $n - $name # $(tail -1 "$TMP/.out.$n")"
  else
    nfail=$((nfail + 1))
    echo "not ok $n - $name"
    sed 's/^/#   /' "$TMP/.out.$n"
  fi
}
skip_case() { n=$((n + 1)); echo "skip $n - $1 # $2"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
# skip_inside REASON: end the current test case as skipped (exit 77).
skip_inside() { echo "$*"; exit 77; }
# expect_same_inode A B
expect_same_inode() { [ "$1" -ef "$2" ] || fail "'$1' and '$2' are not the same inode"; }
expect_exit() { # expect_exit CODE COMMAND...
  want=$1; shift
  set +e; "$@"; got=$?; set -e
  [ "$got" -eq "$want" ] || fail "expected exit $want, got $got from: $*"
}
expect_grep() { # expect_grep PATTERN FILE
  grep -q -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "'$1' not found in $2"; }
}
have() { command -v "$1" >/dev/null 2>&1; }

# The scenario's config file, and R: rotator run with it. A script may set
# CONF to another file, or redefine R (to run rotator as another user, say).
CONF=$TMP/rotator.conf
R() { "$ROTATOR" -c "$CONF" "$@"; }
# write_conf FILE ROOT SOURCE: the config most scenarios start from — a
# [rotator] section with ROOT and timezone UTC, then a [clone] job run daily
# from SOURCE into ROOT/clone — followed by stdin as it is (more [clone] keys
# first, then further sections; `</dev/null` for none). The [clone] section
# starts on line 5, path = clone is line 9, stdin begins on line 10.
write_conf() {
  { printf '[rotator]\nroot = %s\ntimezone = UTC\n\n' "$2"
    printf '[clone]\ntype = clone\nrun_on = daily\nsource = %s\npath = clone\n' "$3"
    cat
  } >"$1"
}
