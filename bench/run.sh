#!/usr/bin/env bash
# rotator benchmark suite (`make bench` runs it after building ./rotator).
#
#   bench/run.sh            full run: FILES (default 200000) files, weekly + snapshot benches
#   bench/run.sh --quick    the same on 20000 files (a sanity run, ~1 min)
#   bench/run.sh --rss      only: peak RSS (and time) of `rotator weekly` on FILES_RSS
#                           (default 1000000) files
#   bench/run.sh --full     full run, then the --rss step
#   bench/run.sh --snapshots  only the snapshot benches (on FILES files)
#
# Environment: FILES, FILES_RSS, RUNS (timed runs per contender, default 3),
# BENCH_DIR (scratch parent; default ${TMPDIR:-/tmp}), ROTATOR (the binary;
# default ./rotator next to this directory), SEED (default 1), KEEP=1 (leave
# the scratch directory for inspection).
#
# Everything happens in one scratch directory,
# ${BENCH_DIR:-${TMPDIR:-/tmp}}/rotator-bench.XXXXXX, removed at the end; all
# trees are in it, hence on one filesystem. Nothing else is touched: no sudo,
# no cache dropping. Every contender runs on a warm cache (its trees were just
# made by `cp -al`, and one untimed `find` of them precedes the runs), each on
# an identical, freshly prepared starting state; the best of RUNS is reported.
# All RUNS starting states of a contender are prepared before its first timed
# run, and all are removed only at the end of the section: an `rm -rf` of a
# 200k-entry tree leaves ext4 busy for seconds afterwards (journal, discard)
# and made the next mutating run up to 3x slower. Where a contender's own
# work deletes trees, the next contender starts after quiesce (sync + QUIET
# seconds, default 15).
# The exit status is 0 even when a target is missed (this is a measurement);
# it is 1 only when the bench itself cannot run or a sanity check fails (a
# broken binary must not produce a fast "result").
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ROTATOR=${ROTATOR:-$top/rotator}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
mode=full
do_rss=no
case "${1:-}" in
  "") ;;
  --quick) mode=quick ;;
  --rss) mode=rss; do_rss=yes ;;
  --full) do_rss=yes ;;
  --snapshots) mode=snapshots ;;
  -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bench/run.sh [--quick | --rss | --full | --snapshots]" >&2; exit 2 ;;
esac
if [ "$mode" = quick ]; then
  FILES=${FILES:-20000}
else
  FILES=${FILES:-200000}
fi
FILES_RSS=${FILES_RSS:-1000000}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$ROTATOR" ] || die "no rotator binary at $ROTATOR (run make first)"
command -v rsync >/dev/null || die "rsync is required"
command -v g++ >/dev/null || die "g++ is required (to build bench/gentree.cpp)"

parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
S=$(mktemp -d "$parent/rotator-bench.XXXXXX")
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    echo "bench: scratch directory kept: $S"
  else
    rm -rf -- "$S"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "rotator bench: $(date -u '+%Y-%m-%d %H:%M UTC'), mode $mode, FILES=$FILES, RUNS=$RUNS"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)), \
kernel $(uname -r), $(df -PT "$S" | awk 'NR==2 {print $2}') at $(df -P "$S" | awk 'NR==2 {print $6}'), \
rsync $(rsync --version | awk 'NR==1 {print $3}'), rotator $("$ROTATOR" --version 2>/dev/null | head -n1)"
echo "scratch: $S"

g++ -O2 -std=c++17 -o "$S/gentree" "$here/gentree.cpp" || die "cannot build bench/gentree.cpp"

# ---------------------------------------------------------------- helpers ---

now() { echo "${EPOCHREALTIME/,/.}"; }   # bash >= 5
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 is required (EPOCHREALTIME)"
# Before every timed run: write back dirty data (of the scratch filesystem
# only, where sync -f is supported) so no contender pays for the writeback
# of the previous preparation. This drops no cache.
# The machine may be shared: say how busy it was (1-minute load average).
load() { echo "  (load average: $(cut -d' ' -f1-3 /proc/loadavg))"; }
settle() { sync -f "$S" 2>/dev/null || sync; }
quiesce() { settle; sleep "${QUIET:-15}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

# Peak RSS in KB of a command: /usr/bin/time -f %M, or VmHWM from /proc.
have_gnu_time=no
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
  have_gnu_time=yes
fi
# run_rss OUTFILE CMD...: runs CMD, writes its peak RSS (KB) to OUTFILE.
run_rss() {
  local out=$1; shift
  if [ "$have_gnu_time" = yes ]; then
    /usr/bin/time -f %M -o "$out" "$@"
  else
    "$@" & local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$v" ] && hwm=$v
      sleep 0.02
    done
    wait "$pid"; local rc=$?
    echo "$hwm" >"$out"
    return $rc
  fi
}

# Result table rows: "operation|seconds|baseline|seconds|ratio|target|met?"
rows=()
missed=0
# row OP T BASE TB TARGET: ratio = T / TB, met when ratio <= TARGET.
row() {
  local ratio met
  ratio=$(awk -v a="$2" -v b="$4" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
  if awk -v r="$ratio" -v t="$5" 'BEGIN { exit !(r != "n/a" && r + 0 <= t + 0) }'; then
    met=yes
  else
    met=MISSED; missed=$((missed + 1))
  fi
  rows+=("$1|$2|$3|$4|$ratio|≤ $5|$met")
  printf '  -> %s: %ss vs %s: %ss, ratio %s (target ≤ %s) %s\n' "$1" "$2" "$3" "$4" "$ratio" "$5" "$met"
}
print_table() {
  echo
  echo "| operation | seconds | baseline | seconds | ratio | target | met? |"
  echo "|---|---:|---|---:|---:|---:|---|"
  local r
  for r in "${rows[@]}"; do
    echo "| ${r//|/ | } |"
  done
}

# Sorted "path inode" list of a tree's non-directories, and its directories.
nondirs() { (cd "$1" && find . ! -type d -printf '%P %i\n' | LC_ALL=C sort); }
dirs_of() { (cd "$1" && find . -mindepth 1 -type d -printf '%P\n' | LC_ALL=C sort); }
# Directories that hold at least one non-directory below them (what rsync -m keeps).
needed_dirs() {
  (cd "$1" && find . ! -type d -printf '%P\n') |
    awk -F/ '{ p = $1; for (i = 2; i <= NF; i++) { print p; p = p "/" $i } }' | LC_ALL=C sort -u
}
check() { if ! "$@"; then die "SANITY CHECK FAILED: $*"; fi; }
# shellcheck disable=SC2317  # invoked through check
same_file() { cmp -s "$1" "$2"; }

# ------------------------------------------------------- the trees ---------

# prepare_trees DIR N: DIR/clone0 (pre-churn, kept pristine), DIR/base (a
# hard-link mirror of it: last week's backup), DIR/clone (churned), DIR/list.*
prepare_trees() {
  local d=$1 n=$2 t0 t1
  mkdir -p "$d"
  t0=$(now)
  "$S/gentree" gen "$d/clone" "$n" "$SEED"
  t1=$(now); echo "  generated in $(elapsed "$t0" "$t1") s"
  cp -al "$d/clone" "$d/base"
  t0=$(now)
  "$S/gentree" churn "$d/clone" "$n" "$SEED" "$d/list"
  t1=$(now); echo "  churned in $(elapsed "$t0" "$t1") s"
  LC_ALL=C sort -o "$d/list.displaced" "$d/list.changed" "$d/list.deleted"
}

# weekly_conf ROOT FROM: a config whose backup job (no filter, prune_empty_dirs,
# holding) maps FROM -> ROOT/backup, holding ROOT/holding.
weekly_conf() {
  cat >"$1.conf" <<EOF
[rotator]
root     = $1
timezone = UTC

[backup]
type             = backup
run_on           = weekly
from             = $2
path             = backup
prune_empty_dirs = yes
holding          = holding
EOF
}

# ------------------------------------------------------------ weekly --------

bench_weekly() {
  local d=$S/w t0 t1 best_rot="" best_rs="" best_find="" i rss peak=0
  echo
  echo "== weekly backup (issue 3): $FILES files"
  prepare_trees "$d" "$FILES"
  echo "  clone: $(find "$d/clone" -type d | wc -l) dirs, $(find "$d/clone" ! -type d | wc -l) files; \
$(wc -l <"$d/list.changed") changed, $(wc -l <"$d/list.deleted") deleted, $(wc -l <"$d/list.added") added"
  nondirs "$d/clone" >"$d/clone.nondirs"
  needed_dirs "$d/clone" >"$d/clone.dirs"

  # a. rotator weekly
  local r
  for i in $(seq 1 "$RUNS"); do
    r=$d/rot$i; mkdir "$r"; cp -al "$d/base" "$r/backup"; weekly_conf "$r" "$d/clone"
  done
  load
  for i in $(seq 1 "$RUNS"); do
    r=$d/rot$i
    find "$d/clone" "$r/backup" >/dev/null
    settle
    t0=$(now)
    run_rss "$r.rss" "$ROTATOR" -q -c "$r.conf" weekly
    t1=$(now)
    rss=$(cat "$r.rss"); [ "$rss" -gt "$peak" ] && peak=$rss
    echo "  rotator weekly run $i: $(elapsed "$t0" "$t1") s, peak RSS $rss KB"
    best_rot=$(min "$best_rot" "$(elapsed "$t0" "$t1")")
    # Sanity: backup = clone (same paths, same inodes; directories as rsync -m),
    # holding/<date> = exactly the changed + deleted files.
    nondirs "$r/backup" >"$r.nondirs"
    check same_file "$d/clone.nondirs" "$r.nondirs"
    dirs_of "$r/backup" >"$r.dirs"
    check same_file "$d/clone.dirs" "$r.dirs"
    check test "$(find "$r/holding" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1
    (cd "$r/holding"/* && find . ! -type d -printf '%P\n' | LC_ALL=C sort) >"$r.held"
    check same_file "$d/list.displaced" "$r.held"
  done
  ROT_RSS_KB=$peak

  # b. the seed's two rsync passes
  for i in $(seq 1 "$RUNS"); do
    r=$d/rs$i; mkdir "$r"; cp -al "$d/base" "$r/backup"
  done
  load
  for i in $(seq 1 "$RUNS"); do
    r=$d/rs$i
    find "$d/clone" "$r/backup" >/dev/null
    settle
    t0=$(now)
    rsync -aum --delete --backup --backup-dir="$r/holding" "$d/clone/" "$r/backup/"
    rsync -aum --delete --link-dest="$d/clone" "$d/clone/" "$r/backup/"
    t1=$(now)
    echo "  two-pass rsync run $i: $(elapsed "$t0" "$t1") s"
    best_rs=$(min "$best_rs" "$(elapsed "$t0" "$t1")")
    # Sanity (paths only: whether pass 2 relinks is rsync's business).
    (cd "$r/backup" && find . ! -type d -printf '%P\n' | LC_ALL=C sort) >"$r.paths"
    check same_file <(cut -d' ' -f1 "$d/clone.nondirs") "$r.paths"
    (cd "$r/holding" && find . ! -type d -printf '%P\n' | LC_ALL=C sort) >"$r.held"
    check same_file "$d/list.displaced" "$r.held"
    RSYNC_RELINKED=$(join -j1 -o 1.2,2.2 <(LC_ALL=C sort "$d/clone.nondirs") \
      <(cd "$r/backup" && find . ! -type d -printf '%P %i\n' | LC_ALL=C sort) | awk '$1 == $2' | wc -l)
  done
  echo "  (after two-pass rsync, $RSYNC_RELINKED of $(wc -l <"$d/clone.nondirs") backup files share the clone's inode)"

  # c. the floor: find clone backup (a backup = last week's mirror)
  load
  find "$d/clone" "$d/base" >/dev/null
  for i in $(seq 1 "$RUNS"); do
    settle
    t0=$(now)
    find "$d/clone" "$d/base" >/dev/null
    t1=$(now)
    echo "  find clone backup run $i: $(elapsed "$t0" "$t1") s"
    best_find=$(min "$best_find" "$(elapsed "$t0" "$t1")")
  done

  row "rotator weekly ($FILES files)" "$best_rot" "two-pass rsync" "$best_rs" 0.1
  row "rotator weekly ($FILES files)" "$best_rot" "find clone backup" "$best_find" 2.0
  rss_row "rotator weekly peak RSS ($FILES files)" "$ROT_RSS_KB"
  rm -rf "$d"
}

rss_rows=()
rss_row() {  # rss_row LABEL KB: target 16 MB = 16384 KB
  local met=yes
  [ "$2" -le 16384 ] || { met=MISSED; missed=$((missed + 1)); }
  rss_rows+=("$1|$(awk -v k="$2" 'BEGIN { printf "%.1f MB (%d KB)", k / 1024, k }')|≤ 16 MB|$met")
  echo "  -> $1: $2 KB (target ≤ 16384 KB) $met"
}
print_rss_table() {
  [ ${#rss_rows[@]} -gt 0 ] || return 0
  echo
  echo "| peak RSS | measured | target | met? |"
  echo "|---|---:|---:|---|"
  local r
  for r in "${rss_rows[@]}"; do
    echo "| ${r//|/ | } |"
  done
}

# ------------------------------------------------------------ RSS (1M) ------

bench_rss() {
  local d=$S/m r t0 t1
  echo
  echo "== peak RSS of rotator weekly: $FILES_RSS files"
  prepare_trees "$d" "$FILES_RSS"
  r=$d/rot; mkdir "$r"; cp -al "$d/base" "$r/backup"; weekly_conf "$r" "$d/clone"
  find "$d/clone" "$r/backup" >/dev/null
  settle
  t0=$(now)
  run_rss "$r.rss" "$ROTATOR" -q -c "$r.conf" weekly
  t1=$(now)
  echo "  rotator weekly: $(elapsed "$t0" "$t1") s, peak RSS $(cat "$r.rss") KB"
  (cd "$r/holding"/* && find . ! -type d -printf '%P\n' | LC_ALL=C sort) >"$r.held"
  check same_file "$d/list.displaced" "$r.held"
  settle
  t0=$(now); find "$d/clone" "$d/base" >/dev/null; t1=$(now)
  echo "  (find clone backup: $(elapsed "$t0" "$t1") s)"
  rss_row "rotator weekly peak RSS ($FILES_RSS files)" "$(cat "$r.rss")"
  rm -rf "$d"
}

# --------------------------------------------------------- snapshots -------

# The snapshot job is probed, not assumed: a tiny config through `rotator check`.
snapshot_supported() {
  local p=$S/probe
  mkdir -p "$p/root" "$p/from"
  cat >"$p/conf" <<EOF
[rotator]
root     = $p/root
timezone = UTC

[snap]
type   = snapshot
from   = $p/from
path   = snaps
naming = rotate
keep   = daily:2
EOF
  "$ROTATOR" -c "$p/conf" check >"$p/out" 2>&1
}

snap_conf() {  # snap_conf ROOT FROM KEEP
  cat >"$1.conf" <<EOF
[rotator]
root     = $1
timezone = UTC

[snap]
type   = snapshot
from   = $2
path   = snaps
naming = rotate
keep   = $3
EOF
}

# copy_tpl TPL ROOT: the generations as hard links (same inodes: rotator only
# renames, links and unlinks in them), rotator's own files (lock, state) copied.
copy_tpl() { mkdir "$2"; cp -al "$1/snaps" "$2/"; cp -a "$1/.rotator" "$2/"; }

# Generations of a rotate snapshot job: snaps/daily.N.
gens() { (cd "$1/snaps" && find . -mindepth 1 -maxdepth 1 -name 'daily.*' -printf '%P\n' | LC_ALL=C sort); }

bench_snapshots() {
  local d=$S/s t0 t1 i r best_fresh="" best_cp="" best_rec="" best_rsn="" best_exp="" best_rm=""
  echo
  echo "== snapshots (issue 4): $FILES files"
  if ! snapshot_supported; then
    echo "snapshot benches skipped: type = snapshot not available in this build"
    echo "  (rotator check said: $(head -n1 "$S/probe/out"))"
    SNAP_SKIPPED=yes
    return 0
  fi
  prepare_trees "$d" "$FILES"
  nondirs "$d/clone" >"$d/clone.nondirs"

  # d. a fresh generation (first run) vs cp -al clone snap
  for i in $(seq 1 "$RUNS"); do
    r=$d/fresh$i; mkdir "$r"; snap_conf "$r" "$d/clone" daily:2
  done
  quiesce; load
  for i in $(seq 1 "$RUNS"); do
    r=$d/fresh$i
    find "$d/clone" >/dev/null
    settle
    t0=$(now)
    "$ROTATOR" -q -c "$r.conf" --now 2026-11-20T02:00 daily
    t1=$(now)
    echo "  rotator daily, first generation, run $i: $(elapsed "$t0" "$t1") s"
    best_fresh=$(min "$best_fresh" "$(elapsed "$t0" "$t1")")
    check test "$(gens "$r")" = daily.0
    nondirs "$r/snaps/daily.0" >"$r.nondirs"
    check same_file "$d/clone.nondirs" "$r.nondirs"
  done
  for i in $(seq 1 "$RUNS"); do
    find "$d/clone" >/dev/null
    settle
    t0=$(now); cp -al "$d/clone" "$d/cp$i"; t1=$(now)
    echo "  cp -al clone snap run $i: $(elapsed "$t0" "$t1") s"
    best_cp=$(min "$best_cp" "$(elapsed "$t0" "$t1")")
  done
  row "snapshot: fresh generation" "$best_fresh" "cp -al clone snap" "$best_cp" 0.7

  # e. a daily run whose oldest generation expires (keep = daily:2, two
  # generations made from last week's state) vs rm -rf oldest && cp -al.
  # The template is made once; each run starts from copy_tpl of it.
  local tpl=$d/tpl
  mkdir "$tpl"; snap_conf "$tpl" "$d/base" daily:2
  "$ROTATOR" -q -c "$tpl.conf" --now 2026-11-20T02:00 daily
  "$ROTATOR" -q -c "$tpl.conf" --now 2026-11-21T02:00 daily
  check test "$(gens "$tpl" | tr '\n' ' ')" = "daily.0 daily.1 "
  for i in $(seq 1 "$RUNS"); do
    r=$d/rec$i; copy_tpl "$tpl" "$r"; snap_conf "$r" "$d/clone" daily:2
  done
  quiesce; load
  for i in $(seq 1 "$RUNS"); do
    r=$d/rec$i
    find "$d/clone" "$r" >/dev/null
    settle
    t0=$(now)
    "$ROTATOR" -q -c "$r.conf" --now 2026-11-22T02:00 daily
    t1=$(now)
    echo "  rotator daily, oldest recycled, run $i: $(elapsed "$t0" "$t1") s"
    best_rec=$(min "$best_rec" "$(elapsed "$t0" "$t1")")
    check test "$(gens "$r" | tr '\n' ' ')" = "daily.0 daily.1 "
    nondirs "$r/snaps/daily.0" >"$r.nondirs"
    check same_file "$d/clone.nondirs" "$r.nondirs"
  done
  for i in $(seq 1 "$RUNS"); do
    r=$d/rsn$i; mkdir "$r"; cp -al "$d/base" "$r/daily.1"
  done
  quiesce; load
  for i in $(seq 1 "$RUNS"); do
    r=$d/rsn$i
    find "$d/clone" "$r" >/dev/null
    settle
    t0=$(now); rm -rf "$r/daily.1" && cp -al "$d/clone" "$r/daily.0"; t1=$(now)
    echo "  rm -rf oldest && cp -al clone new, run $i: $(elapsed "$t0" "$t1") s"
    best_rsn=$(min "$best_rsn" "$(elapsed "$t0" "$t1")")
  done
  row "snapshot: daily, oldest recycled" "$best_rec" "rm -rf oldest && cp -al" "$best_rsn" 0.1

  # f. expiry alone: lower keep to daily:1 and run `rotator prune` (daily.1
  # expires) vs rm -rf of an equivalent hard-linked tree.
  for i in $(seq 1 "$RUNS"); do
    r=$d/exp$i; copy_tpl "$tpl" "$r"; snap_conf "$r" "$d/base" daily:1
  done
  quiesce; load
  for i in $(seq 1 "$RUNS"); do
    r=$d/exp$i
    find "$r" >/dev/null
    settle
    t0=$(now)
    if ! "$ROTATOR" -q -c "$r.conf" --now 2026-11-21T03:00 prune; then
      echo "  rotator prune failed or is not available; expiry bench skipped"
      best_exp=""; break
    fi
    t1=$(now)
    echo "  rotator prune (one generation expires), run $i: $(elapsed "$t0" "$t1") s"
    best_exp=$(min "$best_exp" "$(elapsed "$t0" "$t1")")
    check test "$(gens "$r" | tr '\n' ' ')" = "daily.0 "
    if [ -d "$r/snaps/.trash" ] && [ -n "$(ls -A "$r/snaps/.trash" | grep -vx .rotator-trash)" ]; then
      echo "  note: snaps/.trash still holds $(find "$r/snaps/.trash" | wc -l) entries after prune (deletion deferred)"
    fi
  done
  if [ -n "$best_exp" ]; then
    for i in $(seq 1 "$RUNS"); do cp -al "$d/base" "$d/old$i"; done
    quiesce; load
    for i in $(seq 1 "$RUNS"); do
      find "$d/old$i" >/dev/null
      settle
      t0=$(now); rm -rf "$d/old$i"; t1=$(now)
      echo "  rm -rf generation run $i: $(elapsed "$t0" "$t1") s"
      best_rm=$(min "$best_rm" "$(elapsed "$t0" "$t1")")
    done
    row "snapshot: expiry (prune)" "$best_exp" "rm -rf generation" "$best_rm" 0.8
  fi
  rm -rf "$d"
}

# -------------------------------------------------------------- main --------

SNAP_SKIPPED=no
case $mode in
  full|quick) bench_weekly; bench_snapshots ;;
  snapshots) bench_snapshots ;;
esac
if [ "$do_rss" = yes ]; then
  bench_rss
fi

echo
echo "== results ($(date -u '+%Y-%m-%d %H:%M UTC'), FILES=$FILES, best of $RUNS)"
[ ${#rows[@]} -gt 0 ] && print_table
print_rss_table
[ "$SNAP_SKIPPED" = yes ] && { echo; echo "snapshot benches skipped: type = snapshot not available in this build"; }
echo
if [ "$missed" -gt 0 ]; then
  echo "MISSED: $missed target(s) not met (see the rows marked MISSED)"
else
  echo "all targets met"
fi
exit 0
