#!/bin/sh
# The history commands over simulated months (--now): versions, find,
# restore, diff, du, asserted against what the scenario itself did (its own
# record of the source tree each day), never against rotator's own output.
. "$(dirname "$0")/lib.sh"

SRC="$TMP/src"
ROOT="$TMP/root"
REC="$TMP/record"   # REC/dayNN: the source tree as the scenario left it that day

day() { printf '2026-09-%02d' "$1"; }
# at DAY HH:MM -> date-time text
at() { printf '%sT%s' "$(day "$1")" "$2"; }
# stamp FILE DAY: a distinct mtime per edit (rsync's quick check must see it)
stamp() { touch -d "$(day "$2") 01:00" "$1"; }

setup_history() {
  mkdir -p "$SRC/docs" "$SRC/old" "$SRC/proj/sub" "$ROOT" "$REC"
  write_conf "$CONF" "$ROOT" "$SRC/" <<CONF

[dated]
type = snapshot
from = clone
path = dated
naming = dated
keep = daily:60
run_on = daily

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
  echo "report v1" >"$SRC/docs/report.txt"; stamp "$SRC/docs/report.txt" 1
  echo "invoice" >"$SRC/old/invoice-2026.pdf"; stamp "$SRC/old/invoice-2026.pdf" 1
  echo "keep" >"$SRC/old/keep.txt"; stamp "$SRC/old/keep.txt" 1
  echo "notes" >"$SRC/notes.txt"; stamp "$SRC/notes.txt" 1
  echo "a" >"$SRC/proj/a.c"; stamp "$SRC/proj/a.c" 1
  echo "b" >"$SRC/proj/sub/b.c"; stamp "$SRC/proj/sub/b.c" 1
  d=1
  while [ $d -le 30 ]; do
    printf 'day %02d\n' $d >"$SRC/daily.txt"; stamp "$SRC/daily.txt" $d
    case $d in
      3) head -c 1048576 /dev/zero | tr '\0' x >"$SRC/big.bin"; stamp "$SRC/big.bin" 3 ;;
      4) rm "$SRC/big.bin" ;;
      10) echo "report v2" >"$SRC/docs/report.txt"; stamp "$SRC/docs/report.txt" 10 ;;
      15) rm "$SRC/old/invoice-2026.pdf" ;;
      20) mv "$SRC/notes.txt" "$SRC/notes-renamed.txt" ;;
      22) echo "report v3" >"$SRC/docs/report.txt"; stamp "$SRC/docs/report.txt" 22
          echo "a2" >"$SRC/proj/a.c"; stamp "$SRC/proj/a.c" 22 ;;
      25) rm -r "$SRC/proj"; echo "now a file" >"$SRC/proj"; stamp "$SRC/proj" 25 ;;
    esac
    cp -a "$SRC" "$REC/$(printf 'day%02d' $d)"
    R --now "$(at $d 02:00)" daily >/dev/null
    if [ $((d % 7)) -eq 0 ]; then R --now "$(at $d 04:00)" weekly >/dev/null; fi
    d=$((d + 1))
  done
}

# json_get FILE EXPR: python-free JSON reading is fragile; use rotator's
# documents through a tiny jq-like helper when jq exists, else grep.
have_jq() { have jq; }

t_versions_every_day() {
  R versions daily.txt >"$TMP/v.txt"
  head -1 "$TMP/v.txt" | grep -qx 'daily.txt: 30 versions' || { cat "$TMP/v.txt"; fail "want 30 versions"; }
  # Row k is the version of day k: its mtime is the scenario's stamp.
  k=1
  while [ $k -le 30 ]; do
    line=$(sed -n "$((k + 2))p" "$TMP/v.txt")
    echo "$line" | grep -q "^ *$k  file .* $(day $k) 01:00  $(day $k) 02:00" ||
      fail "row $k: $line"
    k=$((k + 1))
  done
  sed -n 32p "$TMP/v.txt" | grep -q ' current ' || fail "newest not current"
  sed -n 32p "$TMP/v.txt" | grep -q "clone, $(day 30)_020000, daily.0$" || fail "newest places: $(sed -n 32p "$TMP/v.txt")"
  # The version of day 28 is in the week-4 backup's place... no: day 28's
  # weekly ran after the daily, so backup holds day 28's inode.
  sed -n 30p "$TMP/v.txt" | grep -q 'backup' || fail "day 28 row lacks backup: $(sed -n 30p "$TMP/v.txt")"
  # day 21's version was displaced by the weekly of day 28 into holding.
  sed -n 23p "$TMP/v.txt" | grep -q 'holding/2026-09-28' || fail "day 21 row lacks holding"
  R versions --json daily.txt >"$TMP/v.json"
  grep -q '"versions"' "$TMP/v.json"
  [ "$(grep -o '"version":' "$TMP/v.json" | wc -l)" -eq 30 ]
}

t_versions_report() {
  R versions docs/report.txt >"$TMP/r.txt"
  head -1 "$TMP/r.txt" | grep -qx 'docs/report.txt: 3 versions' || { cat "$TMP/r.txt"; fail "want 3"; }
  sed -n 3p "$TMP/r.txt" | grep -q "$(day 1) 01:00  $(day 1) 02:00  $(day 14) 00:00 "
  sed -n 4p "$TMP/r.txt" | grep -q "$(day 10) 01:00  $(day 10) 02:00"
  sed -n 5p "$TMP/r.txt" | grep -q "$(day 22) 01:00  $(day 22) 02:00  current"
  # The same file named by an absolute path inside a place, and by the
  # source's own path.
  R versions "$ROOT/dated/$(day 5)_020000/docs/report.txt" | head -1 | grep -qx 'docs/report.txt: 3 versions'
  R versions "$SRC/docs/report.txt" | head -1 | grep -qx 'docs/report.txt: 3 versions'
}

t_find_deleted_invoice() {
  R find '*invoice*' >"$TMP/f.txt"
  [ "$(wc -l <"$TMP/f.txt")" -eq 1 ] || { cat "$TMP/f.txt"; fail "one path expected"; }
  grep -q "^old/invoice-2026.pdf  1 version  last seen .*deleted between $(day 14) 02:00 and $(day 15) 02:00\$" "$TMP/f.txt" ||
    { cat "$TMP/f.txt"; fail "deletion interval"; }
  # A pattern with '/' matches the whole relative path.
  R find 'docs/*.txt' | grep -q '^docs/report.txt  3 versions'
  R find 'report.txt' | grep -q '^docs/report.txt  3 versions'
  expect_exit 1 R find 'no-such-name*'
  R versions old --deleted >"$TMP/d.txt"
  grep -q '^old/invoice-2026.pdf  1 version  deleted between' "$TMP/d.txt"
  ! grep -q keep.txt "$TMP/d.txt" || fail "keep.txt is not deleted"
  R versions . --deleted >"$TMP/all.txt"
  grep -q "^notes.txt  1 version  deleted between $(day 19) 02:00 and $(day 20) 02:00" "$TMP/all.txt"
  grep -q "^big.bin  1 version  deleted between $(day 3) 02:00 and $(day 4) 02:00" "$TMP/all.txt"
  grep -q "^proj/sub/b.c  1 version  deleted between $(day 24) 02:00 and $(day 25) 02:00" "$TMP/all.txt"
  ! grep -q '^daily.txt' "$TMP/all.txt" || fail "daily.txt listed as deleted"
}

t_restore_at() {
  mkdir -p "$TMP/out"
  cd "$TMP/out"
  R restore docs/report.txt --at "$(day 12)" >/dev/null
  cmp report.txt "$REC/day12/docs/report.txt"
  R restore docs/report.txt --at "$(day 5)" --to r5 >/dev/null
  cmp r5 "$REC/day05/docs/report.txt"
  R restore docs/report.txt --version 3 --to r3 >/dev/null
  cmp r3 "$REC/day30/docs/report.txt"
  # The directory as it was on day 20 (a directory then, a file now).
  R restore proj --at "$(day 20)" --to proj20 >"$TMP/rp.txt"
  grep -q "from $(day 20)_020000\|from daily\|from backup" "$TMP/rp.txt" || { cat "$TMP/rp.txt"; fail "source place"; }
  diff -r proj20 "$REC/day20/proj"
  [ "$(stat -c %Y proj20/a.c)" = "$(stat -c %Y "$REC/day20/proj/a.c")" ]
  R restore proj --to projnow >/dev/null
  cmp projnow "$REC/day30/proj"
  # Deleted months ago: the last version.
  R restore old/invoice-2026.pdf >/dev/null
  cmp invoice-2026.pdf "$REC/day14/old/invoice-2026.pdf"
  # An age: 20 days before day 30 = day 10.
  R --now "$(at 30 12:00)" restore docs/report.txt --at 20d --to r20d >/dev/null
  cmp r20d "$REC/day10/docs/report.txt"
  # After the deletion the path did not exist.
  expect_exit 1 R restore old/invoice-2026.pdf --at "$(day 20)" --to nope 2>"$TMP/err"
  expect_grep 'did not exist at' "$TMP/err"
  [ ! -e nope ]
  # Copies, never links: no restored inode is in the history.
  for f in report.txt r5 r3 proj20/a.c projnow invoice-2026.pdf; do
    ino=$(stat -c %i "$f")
    [ -z "$(find "$ROOT" -inum "$ino" | head -1)" ] || fail "$f shares an inode with the history"
  done
}

t_restore_never_overwrites() {
  mkdir -p "$TMP/ow"
  cd "$TMP/ow"
  echo mine >report.txt
  expect_exit 1 R restore docs/report.txt 2>"$TMP/err"
  expect_grep 'exists' "$TMP/err"
  [ "$(cat report.txt)" = mine ]
  R restore docs/report.txt --force >/dev/null
  [ "$(cat 'report.txt.~1~')" = mine ]
  cmp report.txt "$REC/day30/docs/report.txt"
  echo mine2 >report.txt
  R restore docs/report.txt --force >/dev/null
  [ "$(cat 'report.txt.~2~')" = mine2 ]
  # -n writes nothing.
  R restore -n proj --at "$(day 20)" --to dry >"$TMP/n.txt"
  expect_grep 'would copy' "$TMP/n.txt"
  expect_grep '2 files' "$TMP/n.txt"
  [ ! -e dry ]
  [ -z "$(ls -A | grep rotator-restore)" ]
}

t_diff() {
  R diff "@$(day 14)" "@$(day 21)" >"$TMP/diff.txt"
  # What the scenario did between day 14 and day 21.
  cat >"$TMP/want.txt" <<EOF
M daily.txt
+ notes-renamed.txt
- notes.txt
- old/invoice-2026.pdf
EOF
  grep -v ' -> ' "$TMP/diff.txt" >"$TMP/got.txt"
  diff "$TMP/want.txt" "$TMP/got.txt"
  grep -q '1 added (6 bytes), 2 deleted (14 bytes), 1 changed (7 bytes), 0 type changes' "$TMP/diff.txt" ||
    { cat "$TMP/diff.txt"; fail "summary"; }
  # A directory replaced by a file, and a PATH restriction.
  R diff "dated:$(day 24)_020000" "dated:$(day 25)_020000" >"$TMP/d2.txt"
  cat >"$TMP/want2.txt" <<EOF
M daily.txt
T proj
- proj/a.c
- proj/sub/
- proj/sub/b.c
EOF
  grep -v ' -> ' "$TMP/d2.txt" | diff "$TMP/want2.txt" -
  R diff "$(day 1)_020000" clone docs >"$TMP/d3.txt"
  grep -v ' -> ' "$TMP/d3.txt" | diff - /dev/stdin <<EOF
M docs/report.txt
EOF
  R diff --json backup clone | grep -q '"changes"'
  # rotate names and the backup as places.
  R diff daily.2 daily.0 | grep -q '^M daily.txt$'
}

# What deleting places really frees: delete them, oldest first, in a copy
# of the root (cp -a keeps the hard links) and measure with du.
t_du() {
  R du --json >"$TMP/du.json"
  R du >"$TMP/du.txt"
  want=$(du -s "$ROOT" | cut -f1)
  tail -1 "$TMP/du.txt" | grep -q " $want KiB as du -s counts\$" || { tail -1 "$TMP/du.txt"; fail "root total vs du -s $want"; }
  # Each place's apparent size is du -sb of it alone.
  R du | sed '1d;$d' | while read -r name _ _ _ _ _; do
    job=${name%%:*}; place=${name#*:}
    case $job in dated) dir=$ROOT/dated/$place ;; snaps) dir=$ROOT/snapshots/$place ;;
      backup) if [ "$place" = backup ]; then dir=$ROOT/backup; else dir=$ROOT/$place; fi ;; esac
    [ -d "$dir" ] || fail "no directory for $name"
    echo "$name $dir $(du -sb "$dir" | cut -f1)"
  done >"$TMP/places.txt"
  [ "$(wc -l <"$TMP/places.txt")" -ge 30 ] || fail "too few places"
  grep -o '"apparent_bytes": [0-9]*' "$TMP/du.json" | sed 's/.*: //' >"$TMP/app.txt"
  cut -d' ' -f3 "$TMP/places.txt" | diff - "$TMP/app.txt"
  grep -o '"freed_bytes_with_older": [0-9]*' "$TMP/du.json" | sed 's/.*: //' >"$TMP/freed.txt"
  grep -o '"exclusive_bytes": [0-9]*' "$TMP/du.json" | sed 's/.*: //' >"$TMP/excl.txt"
  rm -rf "$TMP/copy"; cp -a "$ROOT" "$TMP/copy"
  base=$(du -sB1 "$TMP/copy" | cut -f1)
  i=1
  while read -r name dir _; do
    rm -rf "$TMP/copy${dir#"$ROOT"}"
    now=$(du -sB1 "$TMP/copy" | cut -f1)
    want=$(sed -n "${i}p" "$TMP/freed.txt")
    [ $((base - now)) -eq "$want" ] || fail "$name: deleting it and everything older frees $((base - now)), rotator says $want"
    i=$((i + 1))
  done <"$TMP/places.txt"
  # Exclusive: the day-3 generation alone holds big.bin (1 MiB).
  i=$(grep -n "^dated:$(day 3)_020000 " "$TMP/places.txt" | cut -d: -f1)
  rm -rf "$TMP/copy"; cp -a "$ROOT" "$TMP/copy"
  rm -rf "$TMP/copy/dated/$(day 3)_020000"
  freed3=$((base - $(du -sB1 "$TMP/copy" | cut -f1)))
  [ "$freed3" -eq "$(sed -n "${i}p" "$TMP/excl.txt")" ] || fail "exclusive of day 3: du says $freed3"
  [ "$freed3" -ge 1048576 ] || fail "big.bin not exclusive to day 3"
  expect_exit 1 R du nosuchjob
}

t_bad_input() {
  cd "$TMP"
  expect_exit 1 R diff nosuchplace clone 2>"$TMP/err"; expect_grep "unknown place 'nosuchplace'" "$TMP/err"
  expect_exit 1 R restore docs/report.txt --at 2020-01-01 --to x 2>"$TMP/err"; expect_grep 'before any history' "$TMP/err"
  expect_exit 1 R versions never/seen.txt 2>"$TMP/err"; expect_grep 'not in any place' "$TMP/err"
  expect_exit 1 R restore never/seen.txt 2>/dev/null
  expect_exit 1 R versions /etc/passwd 2>"$TMP/err"; expect_grep 'outside every place' "$TMP/err"
  expect_exit 1 R restore docs/report.txt --to "$ROOT/clone/docs/restored.txt" 2>"$TMP/err"
  expect_grep 'inside rotator' "$TMP/err"
  [ ! -e "$ROOT/clone/docs/restored.txt" ]
  ln -s "$ROOT/backup" "$TMP/sneaky"
  expect_exit 1 R restore docs/report.txt --to "$TMP/sneaky/x.txt" 2>"$TMP/err"
  expect_grep 'inside rotator' "$TMP/err"
  expect_exit 1 R restore docs/report.txt --to "$TMP/no/such/dir/x" 2>"$TMP/err"
  expect_grep 'does not exist' "$TMP/err"
  expect_exit 1 R restore docs/report.txt --at yesterdayish 2>"$TMP/err"; expect_grep 'bad time' "$TMP/err"
  expect_exit 1 R restore docs/report.txt --version 9 2>"$TMP/err"; expect_grep 'no version 9' "$TMP/err"
  expect_exit 1 R versions 2>/dev/null
  expect_exit 1 R restore a --bogus 2>"$TMP/err"; expect_grep "unknown option '--bogus'" "$TMP/err"
}

t_readonly_dest() {
  [ "$(id -u)" -eq 0 ] || skip_inside "needs root to mount a read-only tmpfs"
  mkdir -p "$TMP/ro"
  mount -t tmpfs -o size=1m tmpfs "$TMP/ro" 2>/dev/null || skip_inside "cannot mount tmpfs here"
  mount -o remount,ro "$TMP/ro" 2>/dev/null || { umount "$TMP/ro"; skip_inside "cannot remount tmpfs read-only"; }
  set +e
  R restore proj --at "$(day 20)" --to "$TMP/ro/proj" 2>"$TMP/err"; rc=$?
  set -e
  listing=$(ls -A "$TMP/ro")
  umount "$TMP/ro"
  [ "$rc" -eq 1 ] || fail "exit $rc"
  expect_grep 'Read-only file system' "$TMP/err"
  [ -z "$listing" ] || fail "written: $listing"
}

t_no_lock_taken() {
  # The history commands work while a run holds the lock.
  exec 9>"$ROOT/.rotator/lock"
  flock -n 9 || fail "cannot take the lock for the test"
  R versions docs/report.txt >/dev/null
  R du >/dev/null
  exec 9>&-
}

setup_history
test_case "versions: a file edited every day has one version per day" t_versions_every_day
test_case "versions: edits, absolute and source paths" t_versions_report
test_case "find and versions --deleted: the file deleted weeks ago" t_find_deleted_invoice
test_case "restore --at / --version / an age, files and a directory" t_restore_at
test_case "restore never overwrites; --force keeps DEST.~N~; -n writes nothing" t_restore_never_overwrites
test_case "diff: the scenario's changes between two places" t_diff
test_case "du: root total = du -s, apparent = du -sb, freed = what deleting frees" t_du
test_case "bad input: unknown place, WHEN before history, unseen PATH, DEST inside root" t_bad_input
test_case "restore to a read-only filesystem: exit 1, nothing written" t_readonly_dest
if have flock; then test_case "history commands take no lock" t_no_lock_taken
else skip_case "history commands take no lock" "flock(1) not installed"; fi
[ "$nfail" -eq 0 ]
