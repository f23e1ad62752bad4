#!/bin/sh
# Snapshot jobs end to end: a clone job feeding a rotate and a dated snapshot
# job, driven with --now; exit codes, prune, dry runs.
. "$(dirname "$0")/lib.sh"

setup() {
  mkdir -p "$TMP/src/docs" "$TMP/root"
  echo one >"$TMP/src/docs/a.txt"
  echo two >"$TMP/src/top.txt"
  write_conf "$CONF" "$TMP/root" "$TMP/src/" <<CONF

[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:3 weekly:2

[dated]
type = snapshot
from = clone
path = dated
naming = dated
keep = daily:2 weekly:2
name_format = %Y-%m-%d_%H%M%S
run_on = daily
CONF
}
S="$TMP/root/snapshots"
D="$TMP/root/dated"


# Only rotator's own files are left in DIR/.trash: the ownership marker, the
# (empty) deletion queue and its lock; the trash was deleted after the unlock.
trash_empty() {
  [ "$(ls -A "$1/.trash" | tr '\n' ' ')" = ".rotator-deleting .rotator-deleting.lock .rotator-trash " ]
  [ -z "$(ls -A "$1/.trash/.rotator-deleting")" ]
}

t_first_dailies() {
  R --now 2026-11-01T02:00 daily
  [ -d "$S/daily.0" ]
  [ ! -e "$S/daily.1" ]
  expect_same_inode "$TMP/root/clone/top.txt" "$S/daily.0/top.txt"
  [ "$(readlink "$D/latest")" = 2026-11-01_020000 ]
  expect_same_inode "$TMP/root/clone/top.txt" "$D/2026-11-01_020000/top.txt"
  echo changed >"$TMP/src/top.txt"
  R --now 2026-11-02T02:00 daily
  [ -d "$S/daily.1" ]
  [ "$(cat "$S/daily.0/top.txt")" = changed ]
  [ "$(cat "$S/daily.1/top.txt")" = two ]
  # The generation's own mtime is when it was taken.
  [ "$(date -u -r "$S/daily.1" +%Y-%m-%dT%H:%M)" = 2026-11-01T02:00 ]
}

t_weekly_nothing_to_promote() {
  before=$(ls -liR "$S")
  expect_exit 1 R --now 2026-11-03T01:00 weekly 2>"$TMP/err"
  expect_grep "nothing to promote: 'daily.2' not present (yet); nothing was changed" "$TMP/err"
  [ "$before" = "$(ls -liR "$S")" ]
}

t_third_daily_and_promotion() {
  R --now 2026-11-03T02:00 daily
  [ -d "$S/daily.2" ]
  oldest=$(ls -i "$S/daily.2/top.txt" | cut -d' ' -f1)
  R --now 2026-11-04T01:00 weekly
  [ -d "$S/weekly.0" ]
  [ ! -e "$S/daily.2" ]
  [ "$(ls -i "$S/weekly.0/top.txt" | cut -d' ' -f1)" = "$oldest" ]
  expect_exit 1 R --now 2026-11-04T01:30 weekly 2>/dev/null
  [ -d "$S/weekly.0" ]
}

t_recycle_summary() {
  echo third >"$TMP/src/top.txt"
  R --now 2026-11-04T02:00 daily
  R -v --now 2026-11-05T02:00 daily 2>"$TMP/err"
  expect_grep '\[snaps\] ok: created daily.0 (recycled from daily.2)' "$TMP/err"
  expect_grep '\[dated\] ok: created 2026-11-05_020000 (recycled from' "$TMP/err"
  [ ! -e "$S/.rotator-staging" ]
  trash_empty "$S"
}

t_dry_run_changes_nothing() {
  echo fourth >"$TMP/src/top.txt"
  R --now 2026-11-05T12:00 daily  # the clone changes; snapshots get a new generation
  before=$(ls -liR "$TMP/root")
  R -n --now 2026-11-06T02:00 daily >"$TMP/plan"
  expect_grep '^recycle daily.2$' "$TMP/plan"
  expect_grep '^commit .rotator-staging -> .rotator-committed$' "$TMP/plan"
  expect_grep '^rename daily.1 -> daily.2$' "$TMP/plan"
  expect_grep '^rename .rotator-committed -> daily.0$' "$TMP/plan"
  expect_grep '^commit .rotator-staging -> 2026-11-06_020000$' "$TMP/plan"
  expect_grep '^delete-trash$' "$TMP/plan"
  [ "$before" = "$(ls -liR "$TMP/root")" ]
}

t_prune_explain() {
  before=$(ls -liR "$TMP/root")
  R prune -n --explain >"$TMP/out"
  expect_grep '^\[snaps\]$' "$TMP/out"
  expect_grep '^keep   daily.0  *daily #1$' "$TMP/out"
  expect_grep '^keep   weekly.0  *weekly #1$' "$TMP/out"
  expect_grep '^\[dated\]$' "$TMP/out"
  expect_grep '^keep   2026-11-05_120000  *newest$' "$TMP/out"
  expect_grep '^keep   2026-11-04_020000  *daily 2026-11-04$' "$TMP/out"
  [ "$before" = "$(ls -liR "$TMP/root")" ]
  # keep shrinks: prune expires, creates nothing.
  # (daily:1 weekly:2 is refused: the weekly would promote the only daily.)
  sed 's/^keep = daily:3 weekly:2$/keep = daily:1/' "$CONF" >"$TMP/shrunk.conf"
  "$ROTATOR" -c "$TMP/shrunk.conf" prune --explain >"$TMP/out"
  expect_grep '^expire daily.1  *expired (beyond daily:1)$' "$TMP/out"
  [ -d "$S/daily.0" ]
  [ ! -e "$S/daily.1" ]
  [ ! -e "$S/daily.2" ]
  trash_empty "$S"
}

t_interrupted_build_rolled_back() {
  # A leftover staging directory (as a killed run leaves it) is rolled back
  # by the next run before it does its own work.
  mkdir "$S/.rotator-staging" && echo partial >"$S/.rotator-staging/x"
  R -v --now 2026-11-07T02:00 daily 2>"$TMP/err"
  expect_grep 'rolled back an interrupted fresh build' "$TMP/err"
  [ ! -e "$S/.rotator-staging" ]
  [ ! -e "$S/daily.0/x" ]
}

t_foreign_untouched() {
  mkdir "$D/keep-me" && echo mine >"$D/keep-me/f"
  R --now 2026-11-20T02:00 daily
  R prune
  [ "$(cat "$D/keep-me/f")" = mine ]
}

# The trash is deleted after the run's lock is released, by real processes:
# (a) a stand-in for a run still deleting holds .trash/.rotator-deleting.lock
# (flock(1), 8 s); (b) run 1 commits, releases its lock and then waits for
# the deleter; (c) run 2 gets the run lock and commits while run 1 is still
# alive; (d) both exit 0 once the deleter lets go, with the trash empty.
t_trash_deleted_after_unlock() {
  have flock || skip_inside "flock(1) is not installed"
  flock "$S/.trash/.rotator-deleting.lock" sleep 8 &
  holder=$!
  i=0
  while flock -n "$S/.trash/.rotator-deleting.lock" true; do
    i=$((i + 1)); [ "$i" -lt 100 ] || fail "the stand-in deleter never took its lock"; sleep 0.05
  done
  R -v --now 2026-11-21T02:00 daily 2>"$TMP/run1" &
  run1=$!
  i=0
  until grep -q '\[snaps\] ok: created daily.0' "$TMP/run1"; do
    i=$((i + 1)); [ "$i" -lt 100 ] || fail "run 1 did not commit: $(cat "$TMP/run1")"; sleep 0.05
  done
  R -v --wait=6 --now 2026-11-22T02:00 daily 2>"$TMP/run2" &
  run2=$!
  i=0
  until grep -q '\[snaps\] ok: created daily.0' "$TMP/run2"; do
    i=$((i + 1)); [ "$i" -lt 120 ] || fail "run 2 did not commit: $(cat "$TMP/run2")"; sleep 0.05
  done
  kill -0 "$run1" 2>/dev/null || fail "run 1 had ended: nothing shows the lock was free before"
  expect_grep 'trash queued (.*deleted after the unlock)' "$TMP/run1"
  wait "$run1" || fail "run 1 failed: $(cat "$TMP/run1")"
  wait "$run2" || fail "run 2 failed: $(cat "$TMP/run2")"
  wait "$holder"
  expect_grep '\[snaps\] trash deleted after the unlock' "$TMP/run1"
  trash_empty "$S"
  trash_empty "$D"
}

# sync = none: the same generations, without a syncfs; sync = commit (the
# default) makes one per run. strace counts the calls (skipped without it).
t_sync_none() {
  have strace || skip_inside "strace is not installed"
  strace -f -qq -o /dev/null true 2>/dev/null || skip_inside "strace cannot trace here (ptrace refused)"
  for mode in commit none; do
    mkdir -p "$TMP/sync-$mode"
    sed -e "s|^root = .*|root = $TMP/sync-$mode\nsync = $mode|" "$CONF" >"$TMP/sync-$mode.conf"
    cp -a "$TMP/root/clone" "$TMP/sync-$mode/clone"
    for day in 01 02 03 04; do
      strace -f -qq -e trace=syncfs,fsync -o "$TMP/sync-$mode.$day.trace" \
        "$ROTATOR" -q -c "$TMP/sync-$mode.conf" --now "2026-12-${day}T02:00" daily
    done
    [ -d "$TMP/sync-$mode/snapshots/daily.2" ]
    expect_same_inode "$TMP/sync-$mode/clone/top.txt" "$TMP/sync-$mode/snapshots/daily.0/top.txt"
    cat "$TMP/sync-$mode".*.trace >"$TMP/sync-$mode.trace"
  done
  [ "$(grep -c '^[0-9]* *syncfs(' "$TMP/sync-commit.trace")" -ge 4 ] || fail "sync = commit: no syncfs per run"
  ! grep '^[0-9]* *syncfs(' "$TMP/sync-none.trace" || fail "sync = none made a syncfs"
  commit_fsyncs=$(grep -c '^[0-9]* *fsync(' "$TMP/sync-commit.trace")
  none_fsyncs=$(grep -c '^[0-9]* *fsync(' "$TMP/sync-none.trace" || true)
  [ "$none_fsyncs" -lt "$commit_fsyncs" ] || fail "sync = none: $none_fsyncs fsyncs, commit $commit_fsyncs"
}

setup
test_case "first dailies fill daily.0, daily.1 and dated generations" t_first_dailies
test_case "weekly with nothing to promote exits 1 and changes nothing" t_weekly_nothing_to_promote
test_case "weekly promotes the oldest daily" t_third_daily_and_promotion
test_case "a run that expires a generation recycles it" t_recycle_summary
test_case "-n prints the plan and changes nothing" t_dry_run_changes_nothing
test_case "prune -n --explain gives reasons; prune expires after keep shrank" t_prune_explain
test_case "an interrupted build is rolled back by the next run" t_interrupted_build_rolled_back
test_case "entries that are not generations are never touched" t_foreign_untouched
test_case "the trash is deleted after the unlock; a second run need not wait" t_trash_deleted_after_unlock
test_case "sync = none makes the same snapshots without syncfs" t_sync_none
[ "$nfail" -eq 0 ]
