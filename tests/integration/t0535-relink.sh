#!/bin/sh
# relink = yes, with the real rsync: a directory of large files renamed on
# the source costs the clone, the next snapshot and the weekly holding no new
# data blocks (du of the whole root against the total before the rename);
# status, status --json and the metrics file show what the last run saved.
. "$(dirname "$0")/lib.sh"
SRC="$TMP/src"
C="$TMP/root/clone"
S="$TMP/root/snapshots"
total_kib() { du -sk "$TMP/root" | cut -f1; }
setup() { # setup RELINK
  rm -rf "$SRC" "$TMP/root"
  mkdir -p "$SRC/big" "$SRC/small" "$TMP/root"
  i=0; while [ $i -lt 4 ]; do head -c 2097152 /dev/urandom >"$SRC/big/f$i"; i=$((i + 1)); done
  echo small >"$SRC/small/s"
  write_conf "$CONF" "$TMP/root" "$SRC/" <<CONF
relink = $1
max_delete = 90%

[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:3

[backup]
type = backup
run_on = weekly
from = clone
path = backup
holding = holding
CONF
  sed -i "s|^timezone = UTC\$|timezone = UTC\nmetrics_file = $TMP/rotator.prom|" "$CONF"
  R --now 2026-11-01T02:00 daily 2>/dev/null || fail "first daily run"
  R --now 2026-11-01T03:00 weekly 2>/dev/null || fail "first weekly run"
}
# rename_and_run: the rename on the source, a daily run (clone + snapshot),
# a weekly run (backup; the old names go to holding); prints the growth in KiB.
rename_and_run() {
  before=$(total_kib)
  mv "$SRC/big" "$SRC/moved"
  R -v --now 2026-11-02T02:00 daily 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "daily run after the rename"; }
  R --now 2026-11-08T03:00 weekly 2>/dev/null || fail "weekly run after the rename"
  after=$(total_kib)
  echo $((after - before))
}
t_rename_costs_nothing() {
  setup yes
  grown=$(rename_and_run)
  expect_grep 'clone\] ok: .*4 files relinked to history (8388608 bytes saved)' "$TMP/err"
  expect_same_inode "$C/moved/f0" "$S/daily.1/big/f0"
  expect_same_inode "$C/moved/f3" "$S/daily.0/moved/f3"
  expect_same_inode "$C/moved/f2" "$TMP/root/backup/moved/f2"
  [ -e "$TMP/root/holding/2026-11-08/big/f1" ] || fail "the old names are not in holding"
  expect_same_inode "$C/moved/f1" "$TMP/root/holding/2026-11-08/big/f1"
  # Directories, state and logs only: far below one of the 2 MiB files.
  [ "$grown" -lt 512 ] || fail "the rename cost $grown KiB of new blocks"
  ! find "$C" -name '.rotator-partial.*' | grep -q . || fail "a temporary is left in the clone"
  # The clone's last run, as status and the metrics (rewritten by the weekly
  # run, which did not run the clone) report it.
  expect_grep '^rotator_last_run_relinked_files{job="clone"} 4$' "$TMP/rotator.prom"
  expect_grep '^rotator_last_run_relinked_bytes{job="clone"} 8388608$' "$TMP/rotator.prom"
  ! grep -q 'relinked_files{job="backup"}' "$TMP/rotator.prom" || fail "a backup job has a relink sample"
  # (exit 1: the daily jobs are overdue by then; the output is what counts)
  R --now 2026-11-08T04:00 status >"$TMP/status" 2>&1 || :
  expect_grep '^clone: last run relinked 4 files to history (8388608 bytes saved)$' "$TMP/status"
  R --now 2026-11-08T04:00 status --json >"$TMP/status.json" 2>&1 || :
  expect_grep '"last_relinked_files": 4,' "$TMP/status.json"
  expect_grep '"last_relinked_bytes": 8388608,' "$TMP/status.json"
  # du: what the relinks kept from being stored twice, last run and in all
  # (since the first run, which relinked nothing but recorded it).
  R du >"$TMP/du" 2>&1 || { cat "$TMP/du" >&2; fail "du failed"; }
  expect_grep '^relink \[clone\]: last run 4 files, 8.0M (8388608 bytes); since 2026-11-01 02:00: 4 files, 8.0M (8388608 bytes) not stored again$' "$TMP/du"
  R du --json >"$TMP/du.json" 2>&1 || fail "du --json failed"
  expect_grep '"total_bytes": 8388608' "$TMP/du.json"
  # A later run that relinks nothing: the last run says 0, the sum stays.
  R --now 2026-11-09T02:00 daily 2>/dev/null || fail "a run without renames"
  R du >"$TMP/du2" 2>&1 || fail "du failed"
  expect_grep '^relink \[clone\]: last run 0 files, 0B (0 bytes); since 2026-11-01 02:00: 4 files, 8.0M (8388608 bytes) not stored again$' "$TMP/du2"
}
t_without_relink_costs_a_copy() {
  setup no
  grown=$(rename_and_run)
  [ "$grown" -ge 8192 ] || fail "without relink the rename should cost 8 MiB, cost $grown KiB"
  ! grep -q relinked "$TMP/err" || fail "relink = no relinked"
  ! grep -q 'relinked_[a-z]*{' "$TMP/rotator.prom" || fail "relink = no has relink samples"
  R --now 2026-11-08T04:00 status >"$TMP/status" 2>&1 || :
  ! grep -q relinked "$TMP/status" || fail "relink = no: status reports relinks"
  R du >"$TMP/du" 2>&1 || fail "du failed"
  ! grep -q '^relink' "$TMP/du" || fail "relink = no: du reports relinks"
}
t_edited_file_not_linked() {
  setup yes
  # Same size and mtime, different bytes: never merged.
  t=$(stat -c %y "$SRC/big/f0")
  cp -p "$SRC/big/f0" "$TMP/f0.orig"
  # f0 is random: the byte at 1000 is 'X' one run in 256, so pick one it is not.
  b=$(dd if="$SRC/big/f0" bs=1 skip=1000 count=1 2>/dev/null | od -An -tx1 | tr -d ' ')
  if [ "$b" = 58 ]; then c=Y; else c=X; fi
  printf '%s' "$c" | dd of="$SRC/big/f0" bs=1 seek=1000 conv=notrunc 2>/dev/null
  touch -d "$t" "$SRC/big/f0"
  ! cmp -s "$SRC/big/f0" "$TMP/f0.orig" || fail "the edit left f0's bytes as they were"
  [ "$(stat -c %s.%y "$SRC/big/f0")" = "$(stat -c %s.%y "$TMP/f0.orig")" ] ||
    fail "the edit changed f0's size or mtime"
  mv "$SRC/big" "$SRC/moved"
  R -v --now 2026-11-02T02:00 daily 2>"$TMP/err" || fail "daily run"
  expect_grep '3 files relinked to history (6291456 bytes saved)' "$TMP/err"
  [ ! "$C/moved/f0" -ef "$S/daily.1/big/f0" ] || fail "different content was linked"
  cmp -s "$C/moved/f0" "$SRC/moved/f0" || fail "the clone's f0 is not the source's"
}
test_case "a renamed directory of large files costs no new data blocks" t_rename_costs_nothing
test_case "relink = no: the same rename costs a full copy (the control)" t_without_relink_costs_a_copy
test_case "a file with equal size and mtime but other bytes is not linked" t_edited_file_not_linked
[ "$nfail" -eq 0 ]
