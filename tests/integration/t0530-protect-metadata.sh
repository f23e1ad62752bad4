#!/bin/sh
# protect_metadata = yes, with the real rsync: a chmod, chown or touch on the
# source changes the clone, never the earlier snapshots that share its inodes.
. "$(dirname "$0")/lib.sh"
SRC="$TMP/src"
S="$TMP/root/snapshots"
C="$TMP/root/clone"
# meta FILE: mode, owner, group, mtime
meta() { stat -c '%a %u %g %Y' "$1"; }
config() { # config PROTECT [RSYNC_ARGS]
  write_conf "$CONF" "$TMP/root" "$SRC/" <<CONF
protect_metadata = $1
rsync_args = ${2:-}

[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:9
CONF
}
setup() {
  rm -rf "$SRC" "$TMP/root"
  mkdir -p "$SRC/d" "$TMP/root"
  i=0; while [ $i -lt 150 ]; do echo "file $i" >"$SRC/d/f$i"; i=$((i + 1)); done
  echo mode >"$SRC/m.txt"; echo owner >"$SRC/o.txt"; echo time >"$SRC/t.txt"
  ln -s m.txt "$SRC/lnk"
  chmod 644 "$SRC/m.txt"
  touch -d '2026-01-01 00:00' "$SRC"/*.txt "$SRC"/d/*
  config "$@"
  R --now 2026-11-01T02:00 daily 2>/dev/null
}
t_history_keeps_metadata() {
  setup yes
  m0=$(meta "$S/daily.0/m.txt"); o0=$(meta "$S/daily.0/o.txt"); t0=$(meta "$S/daily.0/t.txt")
  expect_same_inode "$C/m.txt" "$S/daily.0/m.txt"
  chmod 600 "$SRC/m.txt"
  if [ "$(id -u)" = 0 ]; then chown 1234:4321 "$SRC/o.txt"; fi
  touch -m -d '2026-06-01 00:00' "$SRC/t.txt"        # rsync transfers it (quick check): a new inode anyway
  R -v --now 2026-11-01T02:00 -n daily >"$TMP/plan" 2>"$TMP/plan.err"
  expect_grep '^protect m.txt$' "$TMP/plan"
  ! grep -q '^protect t.txt' "$TMP/plan" || fail "t.txt is transferred, not protected"
  cat "$TMP/plan" "$TMP/plan.err" >"$TMP/plan.all"
  expect_grep 'dry run: .* files to protect' "$TMP/plan.all"   # counted, not only planned
  R --now 2026-11-02T02:00 daily 2>"$TMP/err"
  expect_grep 'given a new inode so that history keeps their old metadata' "$TMP/root/.rotator/state/clone.state"
  [ "$(meta "$S/daily.1/m.txt")" = "$m0" ] || fail "earlier snapshot lost the mode: $(meta "$S/daily.1/m.txt") != $m0"
  [ "$(meta "$S/daily.1/o.txt")" = "$o0" ] || fail "earlier snapshot lost the owner"
  [ "$(meta "$S/daily.1/t.txt")" = "$t0" ] || fail "earlier snapshot lost the mtime"
  [ "$(stat -c %a "$C/m.txt")" = 600 ] || fail "clone not refreshed"
  [ "$(stat -c %a "$S/daily.0/m.txt")" = 600 ] || fail "new snapshot not refreshed"
  if [ "$(id -u)" = 0 ]; then [ "$(stat -c '%u %g' "$C/o.txt")" = "1234 4321" ] || fail "owner not refreshed"; fi
  expect_same_inode "$C/d/f1" "$S/daily.1/d/f1"          # unchanged files still shared
  ! ls -a "$C" | grep -q rotator-partial || fail "temporary left in the clone"
}
t_checksum_touch() {
  # With --checksum rsync does not transfer a touched file: it sets the mtime in place.
  setup yes --checksum
  t0=$(meta "$S/daily.0/t.txt")
  touch -m -d '2026-06-01 00:00' "$SRC/t.txt"
  touch -h -d '2026-06-01 00:00' "$SRC/lnk"
  l0=$(stat -c %Y "$S/daily.0/lnk")
  R --now 2026-11-01T02:00 -n daily >"$TMP/plan"
  expect_grep '^protect t.txt$' "$TMP/plan"
  expect_grep '^protect lnk$' "$TMP/plan"
  R --now 2026-11-02T02:00 daily 2>/dev/null
  [ "$(meta "$S/daily.1/t.txt")" = "$t0" ] || fail "earlier snapshot lost the mtime"
  [ "$(stat -c %Y "$S/daily.1/lnk")" = "$l0" ] || fail "earlier snapshot lost the symlink's mtime"
  [ "$(stat -c %Y "$C/t.txt")" = "$(stat -c %Y "$SRC/t.txt")" ] || fail "clone not refreshed"
}
t_without_protect_history_loses() {
  # The control: what protect_metadata prevents.
  setup no
  chmod 600 "$SRC/m.txt"
  R --now 2026-11-02T02:00 daily 2>/dev/null
  [ "$(stat -c %a "$S/daily.1/m.txt")" = 600 ] || fail "expected rsync's in-place chmod to reach history"
}
t_chmod_r_is_a_full_copy() {
  setup yes
  chmod -R go-r "$SRC/d"
  expect_exit 2 R --now 2026-11-02T02:00 daily 2>"$TMP/err"
  expect_grep 'of the clone.s files (150 of 15[0-9]) got a new inode (churn_warn 30%)' "$TMP/err"
  [ "$(stat -c %a "$S/daily.1/d/f7")" = 644 ] || fail "earlier snapshot lost the mode"
}
t_leftover_removed() {
  # A crashed protect step recorded its temporaries in the state; the next
  # run removes exactly those (never a user's file of the same form).
  setup yes
  echo mine >"$SRC/.rotator-partial.7"
  R --now 2026-11-01T03:00 daily 2>/dev/null
  echo partial >"$C/.rotator-partial.99"
  echo partial >"$C/d/.rotator-partial.98"
  printf 'resume.protect_tmp=d/.rotator-partial.98\\x00.rotator-partial.99\n' >>"$TMP/root/.rotator/state/clone.state"
  R -v --now 2026-11-02T02:00 daily 2>"$TMP/err"
  [ ! -e "$C/.rotator-partial.99" ] || fail "leftover not removed"
  [ ! -e "$C/d/.rotator-partial.98" ] || fail "leftover not removed"
  expect_grep 'removed 2 temporaries of an interrupted protect_metadata step' "$TMP/err"
  [ "$(cat "$C/.rotator-partial.7")" = mine ] || fail "a file of the source lost"
  ! grep -q resume.protect_tmp "$TMP/root/.rotator/state/clone.state" || fail "record not cleared"
}
t_scratch_failure_changes_nothing() {
  # The metadata-only list goes to a scratch file in $TMPDIR; when it cannot
  # be written the run stops before rsync: nothing in the clone or history
  # changes, and the next run (scratch space back) protects and converges.
  setup yes
  m0=$(meta "$S/daily.0/m.txt")
  chmod 600 "$SRC/m.txt"
  expect_exit 1 env TMPDIR="$TMP/no-such-dir" "$ROTATOR" -c "$CONF" --now 2026-11-02T02:00 daily 2>"$TMP/err"
  expect_grep 'protect_metadata: .*rsync did not run; history is unchanged' "$TMP/err"
  [ "$(stat -c %a "$C/m.txt")" = 644 ] || fail "the clone changed although rsync did not run"
  expect_same_inode "$C/m.txt" "$S/daily.0/m.txt"
  [ "$(meta "$S/daily.0/m.txt")" = "$m0" ] || fail "history's mode changed"
  R --now 2026-11-02T03:00 daily 2>"$TMP/err2" || { cat "$TMP/err2" >&2; fail "the rerun failed"; }
  [ "$(meta "$S/daily.1/m.txt")" = "$m0" ] || fail "the earlier snapshot lost the mode on the rerun"
  [ "$(stat -c %a "$C/m.txt")" = 600 ] || fail "clone not refreshed by the rerun"
}
test_case "chmod, chown and touch on the source: the earlier snapshot keeps mode, owner, mtime" t_history_keeps_metadata
test_case "--checksum: a touched file and symlink are protected, not transferred" t_checksum_touch
test_case "protect_metadata = no: rsync's in-place chmod reaches history (the control)" t_without_protect_history_loses
test_case "chmod -R becomes a full copy, which churn_warn reports" t_chmod_r_is_a_full_copy
test_case "a recorded leftover temporary is removed by the next run" t_leftover_removed
test_case "no scratch space for the metadata-only list: exit 1, nothing changed, the rerun converges" t_scratch_failure_changes_nothing
[ "$nfail" -eq 0 ]
