#!/bin/sh
# The share of new bytes on the backup and snapshot summary lines, checked
# against sizes the test chose: the new bytes are the sizes of the files the
# run linked in, the share is of the clone's bytes as its rsync counted them.
. "$(dirname "$0")/lib.sh"
SRC="$TMP/src"
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
setup() {
  mkdir -p "$SRC/d" "$TMP/root"
  i=0; while [ $i -lt 10 ]; do head -c 1000 /dev/zero >"$SRC/d/f$i"; i=$((i + 1)); done
  ln -s d/f0 "$SRC/lnk"   # 4 bytes: its target's length
  write_conf "$CONF" "$TMP/root" "$SRC/" <<CONF

[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:1

[backup]
type = backup
run_on = weekly
from = clone
path = backup
holding = holding
CONF
}
t_first_runs() {
  total=$((10 * 1000 + 4))
  R -v --now 2026-11-01T02:00 daily 2>"$TMP/err1"
  expect_grep "\[snaps\] ok: created daily.0 (fresh): 11 linked, 0 unchanged, 0 displaced.*, all bytes new (fresh build of the $(kib $total) in clone)" "$TMP/err1"
  R -v --now 2026-11-01T03:00 weekly 2>"$TMP/err2"
  expect_grep "\[backup\] ok: 11 linked, 0 unchanged, .*, $(kib $total) new (100.0% of the $(kib $total) in clone)" "$TMP/err2"
}
t_changed_files() {
  # Two files grow to 3000 bytes (rsync gives them new inodes), one is added.
  head -c 3000 /dev/zero >"$SRC/d/f1"
  head -c 3000 /dev/zero >"$SRC/d/f2"
  head -c 500 /dev/zero >"$SRC/d/new"
  new=$((3000 + 3000 + 500))
  total=$((8 * 1000 + 3000 + 3000 + 500 + 4))
  R -v --now 2026-11-02T02:00 daily 2>"$TMP/err3"
  # daily.0 is recycled into the new daily.0: only the three are linked.
  expect_grep "\[snaps\] ok: created daily.0 (recycled from daily.0): 3 linked, 9 unchanged, 2 displaced.*, $(kib $new) new ($(pct $new $total) of the $(kib $total) in clone)" "$TMP/err3"
  R -v --now 2026-11-08T03:00 weekly 2>"$TMP/err4"
  expect_grep "\[backup\] ok: 3 linked, 9 unchanged, 2 archived.*, $(kib $new) new ($(pct $new $total) of the $(kib $total) in clone)" "$TMP/err4"
  # The summary is in the state too.
  grep -q "$(kib $new) new ($(pct $new $total)" "$TMP/root/.rotator/state/backup.state" ||
    fail "no new bytes in the backup state"
}
t_nothing_new() {
  R -v --now 2026-11-15T03:00 weekly 2>"$TMP/err5"
  expect_grep "\[backup\] ok: 0 linked, 12 unchanged, .*, 0 B new (0.0% of the" "$TMP/err5"
}
setup
test_case "fresh build: all bytes new; first backup: 100% of the clone" t_first_runs
test_case "recycled build and backup: the changed files' bytes over the clone's" t_changed_files
test_case "nothing changed: 0 B new" t_nothing_new
[ "$nfail" -eq 0 ]
