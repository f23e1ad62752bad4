#!/usr/bin/env bash
# rotator benchmark suite (`make bench` runs it after building ./rotator).
#
#   bench/run.sh            FILES (default 200000) files: weekly + snapshot benches
#   bench/run.sh --quick    the same on 20000 files (a sanity run, a few minutes)
#   bench/run.sh --snapshots  only the snapshot benches (on FILES files)
#   bench/run.sh --weekly   only the weekly benches (on FILES files)
#   bench/run.sh --churn    recycled run at CHURN_PERMILLES x CHURN_SIZES, with a fit
#   bench/run.sh --strace   system calls per entry (strace -c -f), FILES files
#   bench/run.sh --rss      peak RSS of every command at FILES_RSS (default 1000000),
#                           history commands included (target 16 MB each: MISSED above)
#   bench/run.sh --sync     the cost of `sync = commit` (the default) against
#                           `sync = none`: weekly, fresh and recycled, FILES files
#   bench/run.sh --full     the default run, then --churn, --strace and --rss
#
# Every comparison is interleaved: round i runs rotator's i-th start state,
# then the baseline's i-th (A B A B ...), RUNS rounds (default 5), so that a
# busy neighbour slows both sides alike. Each row prints min/median/max of
# both sides, the ratio of the medians and the 1-minute load average range
# seen during the rounds. Nothing else runs in between but sanity checks
# (untimed).
#
# Environment: FILES, FILES_RSS, RUNS, RSYNC=no (leave out the two-pass
# rsync contender of the weekly row: it takes ~20x as long as the others), CHURN_SIZES (default "50000 200000"),
# CHURN_PERMILLES (default "0 10 100": 0 %, 1 %, 10 % of the files changed,
# deleted or added), BENCH_DIR (scratch parent; default ${TMPDIR:-/tmp}),
# ROTATOR (default ./rotator next to this directory), SEED (default 1),
# KEEP=1 (leave the scratch directory for inspection), ROTATOR_BEFORE (a
# second binary whose recycled run is interleaved with this one's).
#
# Everything happens in one scratch directory,
# ${BENCH_DIR:-${TMPDIR:-/tmp}}/rotator-bench.XXXXXX, removed at the end; all
# trees are in it, hence on one filesystem. Nothing else is touched: no sudo,
# no cache dropping. Warm cache: the trees of a round are read by an untimed
# `find` before it, and `sync -f` precedes every timed run. All start states
# of a section are prepared before its first round and removed after its last.
# The exit status is 0 even when a target is missed (this is a measurement);
# it is 1 only when the bench itself cannot run or a sanity check fails (a
# broken binary must not produce a fast "result").
# shellcheck disable=SC2317  # contenders' functions are called by name
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ROTATOR=${ROTATOR:-$top/rotator}
RUNS=${RUNS:-5}
SEED=${SEED:-1}
mode=default
case "${1:-}" in
  "") ;;
  --quick) mode=quick ;;
  --snapshots|--weekly|--churn|--strace|--rss|--sync|--full) mode=${1#--} ;;
  -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bench/run.sh [--quick | --snapshots | --weekly | --churn | --strace | --rss | --sync | --full]" >&2; exit 2 ;;
esac
if [ "$mode" = quick ]; then
  FILES=${FILES:-20000}
else
  FILES=${FILES:-200000}
fi
FILES_RSS=${FILES_RSS:-1000000}
CHURN_SIZES=${CHURN_SIZES:-50000 200000}
CHURN_PERMILLES=${CHURN_PERMILLES:-0 10 100}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$ROTATOR" ] || die "no rotator binary at $ROTATOR (run make first)"
command -v rsync >/dev/null || die "rsync is required"
command -v g++ >/dev/null || die "g++ is required (to build bench/gentree.cpp)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 is required (EPOCHREALTIME)"

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

echo "rotator bench: $(date -u '+%Y-%m-%d %H:%M UTC'), mode $mode, FILES=$FILES, RUNS=$RUNS (interleaved)"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)), \
kernel $(uname -r), $(df -PT "$S" | awk 'NR==2 {print $2}') at $(df -P "$S" | awk 'NR==2 {print $6}'), \
rsync $(rsync --version | awk 'NR==1 {print $3}'), rotator $("$ROTATOR" --version 2>/dev/null | head -n1)"
echo "load at start: $(uptime)"
echo "scratch: $S"

g++ -O2 -std=c++17 -o "$S/gentree" "$here/gentree.cpp" || die "cannot build bench/gentree.cpp"

# ---------------------------------------------------------------- helpers ---

now() { echo "${EPOCHREALTIME/,/.}"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# Before every timed run: write back dirty data of the scratch filesystem (so
# no contender pays for the writeback of the previous one). Drops no cache.
settle() { sync -f "$S" 2>/dev/null || sync; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# stats V...: "min median max" of the numbers.
stats() {
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
    END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f", a[1], m, a[NR] }'
}
median() { stats "$@" | cut -d' ' -f2; }

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

# Contenders. A contender NAME is three functions: prep_NAME I (make start
# state I, untimed), run_NAME I (the timed work), check_NAME I (sanity,
# untimed). Times go to T_NAME (an array), loads to L_NAME.
timed() {
  local name=$1 i=$2 t0 t1 t l
  warm_"$name" "$i"
  settle
  l=$(load1)
  t0=$(now)
  "run_$name" "$i"
  t1=$(now)
  t=$(elapsed "$t0" "$t1")
  local -n times="T_$name" loads="L_$name"
  times+=("$t"); loads+=("$l")
  printf '  %-10s round %d: %8s s  (load %s)\n' "$name" "$i" "$t" "$l"
  "check_$name" "$i"
}
# interleave NAME...: prepares RUNS start states of every NAME, then RUNS
# rounds, each running every NAME once in the order given.
interleave() {
  local i n
  for n in "$@"; do
    declare -g -a "T_$n=()" "L_$n=()"
    for i in $(seq 1 "$RUNS"); do "prep_$n" "$i"; done
  done
  settle
  for i in $(seq 1 "$RUNS"); do
    for n in "$@"; do timed "$n" "$i"; done
  done
}

# Result rows: "operation|A min/med/max|baseline|B min/med/max|ratio|target|met?|load"
rows=()
missed=0
# row OP A B TARGET BASELINE-LABEL: ratio of the medians of T_A and T_B.
# TARGET "-": a measurement without a target (never MISSED).
row() {
  local op=$1 a=$2 b=$3 target=$4 label=$5 sa sb ratio met loads
  local -n ta="T_$a" tb="T_$b" la="L_$a" lb="L_$b"
  sa=$(stats "${ta[@]}"); sb=$(stats "${tb[@]}")
  loads=$(stats "${la[@]}" "${lb[@]}")
  ratio=$(awk -v a="${sa#* }" -v b="${sb#* }" 'BEGIN { split(a, x, " "); split(b, y, " ");
    if (y[1] > 0) printf "%.3f", x[1] / y[1]; else print "n/a" }')
  if [ "$target" = - ]; then
    met=-
  elif awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r != "n/a" && r + 0 <= t + 0) }'; then
    met=yes
  else
    met=MISSED; missed=$((missed + 1))
  fi
  local load_range
  load_range=$(echo "$loads" | awk '{ printf "%s–%s", $1, $3 }')
  rows+=("$op|${sa// //}|$label|${sb// //}|$ratio|≤ $target|$met|$load_range")
  printf '  -> %s: %s s vs %s: %s s (min/median/max), ratio of medians %s (target ≤ %s) %s; load %s\n' \
    "$op" "${sa// //}" "$label" "${sb// //}" "$ratio" "$target" "$met" "$load_range"
}
print_table() {
  [ ${#rows[@]} -gt 0 ] || return 0
  echo
  echo "| operation | s (min/med/max) | baseline | s (min/med/max) | ratio | target | met? | load |"
  echo "|---|---:|---|---:|---:|---:|---|---|"
  local r
  for r in "${rows[@]}"; do
    echo "| ${r//|/ | } |"
  done
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

# prepare_trees DIR N [PERMILLE]: DIR/base (a hard-link mirror of the
# pre-churn clone: last week's backup), DIR/clone (churned), DIR/list.*
prepare_trees() {
  local d=$1 n=$2 pm=${3:-20} t0 t1
  mkdir -p "$d"
  t0=$(now)
  "$S/gentree" gen "$d/clone" "$n" "$SEED" >/dev/null
  t1=$(now); echo "  generated $n files in $(elapsed "$t0" "$t1") s"
  cp -al "$d/clone" "$d/base"
  "$S/gentree" churn "$d/clone" "$n" "$SEED" "$d/list" "$pm"
  LC_ALL=C sort -o "$d/list.displaced" "$d/list.changed" "$d/list.deleted"
}

weekly_conf() {  # weekly_conf ROOT FROM
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
gens() { (cd "$1/snaps" && find . -mindepth 1 -maxdepth 1 -name 'daily.*' -printf '%P\n' | LC_ALL=C sort); }

# make_tpl D FROM: D/tpl with daily.0 and daily.1 made from FROM (keep = daily:2).
make_tpl() {
  local tpl=$1/tpl
  mkdir "$tpl"; snap_conf "$tpl" "$2" daily:2
  "$ROTATOR" -q -c "$tpl.conf" --now 2026-11-20T02:00 daily
  "$ROTATOR" -q -c "$tpl.conf" --now 2026-11-21T02:00 daily
  check test "$(gens "$tpl" | tr '\n' ' ')" = "daily.0 daily.1 "
}

# ------------------------------------------------------------ weekly --------

D=  # the section's directory
prep_weekly() { local r=$D/rot$1; mkdir "$r"; cp -al "$D/base" "$r/backup"; weekly_conf "$r" "$D/clone"; }
warm_weekly() { find "$D/clone" "$D/rot$1/backup" >/dev/null; }
run_weekly() { run_rss "$D/rot$1.rss" "$ROTATOR" -q -c "$D/rot$1.conf" weekly; }
check_weekly() {
  local r=$D/rot$1 rss
  rss=$(cat "$r.rss"); [ "$rss" -gt "${WEEKLY_RSS:-0}" ] && WEEKLY_RSS=$rss
  nondirs "$r/backup" >"$r.nondirs"; check same_file "$D/clone.nondirs" "$r.nondirs"
  dirs_of "$r/backup" >"$r.dirs"; check same_file "$D/clone.dirs" "$r.dirs"
  check test "$(find "$r/holding" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1
  (cd "$r/holding"/* && find . ! -type d -printf '%P\n' | LC_ALL=C sort) >"$r.held"
  check same_file "$D/list.displaced" "$r.held"
}
prep_rsync() { local r=$D/rs$1; mkdir "$r"; cp -al "$D/base" "$r/backup"; }
warm_rsync() { find "$D/clone" "$D/rs$1/backup" >/dev/null; }
run_rsync() {
  local r=$D/rs$1
  rsync -aum --delete --backup --backup-dir="$r/holding" "$D/clone/" "$r/backup/"
  rsync -aum --delete --link-dest="$D/clone" "$D/clone/" "$r/backup/"
}
check_rsync() {
  local r=$D/rs$1
  (cd "$r/backup" && find . ! -type d -printf '%P\n' | LC_ALL=C sort) >"$r.paths"
  check same_file <(cut -d' ' -f1 "$D/clone.nondirs") "$r.paths"
  (cd "$r/holding" && find . ! -type d -printf '%P\n' | LC_ALL=C sort) >"$r.held"
  check same_file "$D/list.displaced" "$r.held"
}
prep_find() { :; }
warm_find() { find "$D/clone" "$D/base" >/dev/null; }
run_find() { find "$D/clone" "$D/base" >/dev/null; }
check_find() { :; }

bench_weekly() {
  D=$S/w
  echo
  echo "== weekly backup: $FILES files"
  prepare_trees "$D" "$FILES"
  nondirs "$D/clone" >"$D/clone.nondirs"
  needed_dirs "$D/clone" >"$D/clone.dirs"
  WEEKLY_RSS=0
  if [ "${RSYNC:-yes}" = yes ]; then
    interleave weekly find rsync
  else
    interleave weekly find
  fi
  row "rotator weekly ($FILES files)" weekly find 1.3 "find clone backup (names-only floor)"
  [ "${RSYNC:-yes}" != yes ] || row "rotator weekly ($FILES files)" weekly rsync 0.1 "two-pass rsync"
  rss_row "rotator weekly peak RSS ($FILES files)" "$WEEKLY_RSS"
  rm -rf "$D"
}

# --------------------------------------------------------- snapshots -------

prep_fresh() { local r=$D/fresh$1; mkdir "$r"; snap_conf "$r" "$D/clone" daily:2; }
warm_fresh() { find "$D/clone" >/dev/null; }
run_fresh() { "$ROTATOR" -q -c "$D/fresh$1.conf" --now 2026-11-20T02:00 daily; }
check_fresh() {
  local r=$D/fresh$1
  check test "$(gens "$r")" = daily.0
  nondirs "$r/snaps/daily.0" >"$r.nondirs"; check same_file "$D/clone.nondirs" "$r.nondirs"
}
prep_cpal() { :; }
warm_cpal() { find "$D/clone" >/dev/null; }
run_cpal() { cp -al "$D/clone" "$D/cp$1"; }
check_cpal() { :; }

# The recycled run: daily.0 and daily.1 made from last week's state, keep =
# daily:2, so daily.1 is recycled into the new daily.0.
# The run's time is until the process exits (trash deleted); it also
# reports when its summary line appeared on stderr (-v): the generation is
# committed, and right after it the run's lock is released and the trash
# deletion begins (rotator deletes the trash after the unlock, so the next
# run need not wait for it). Row "until commit" uses those times.
prep_recycled() { local r=$D/rec$1; copy_tpl "$D/tpl" "$r"; snap_conf "$r" "$D/clone" daily:2; rm -f "$r.commit"; }
warm_recycled() { find "$D/clone" "$D/rec$1" >/dev/null; }
# stamp_line TEXT OUT: writes the time the first stdin line holding TEXT arrived to OUT.
stamp_line() {
  local line
  while IFS= read -r line; do
    case $line in *"$1"*) echo "${EPOCHREALTIME/,/.}" >"$2.tmp"; mv "$2.tmp" "$2"; cat >/dev/null; return 0 ;; esac
  done
}
run_recycled() {
  echo "${EPOCHREALTIME/,/.}" >"$D/rec$1.start"
  "$ROTATOR" -v -c "$D/rec$1.conf" --now 2026-11-22T02:00 daily 2> >(stamp_line "ok: created" "$D/rec$1.commit")
}
declare -a T_recycledcommit=() L_recycledcommit=()
# ROTATOR_BEFORE=BINARY: the same recycled run by another build (e.g. the
# base of a branch), interleaved with this one (A B A B ...), for a before /
# after figure that a busy machine cannot skew.
prep_recycledbefore() { prep_recycled "before$1"; }
warm_recycledbefore() { warm_recycled "before$1"; }
run_recycledbefore() { "$ROTATOR_BEFORE" -q -c "$D/recbefore$1.conf" --now 2026-11-22T02:00 daily; }
check_recycledbefore() {
  local r=$D/recbefore$1
  check test "$(gens "$r" | tr '\n' ' ')" = "daily.0 daily.1 "
  nondirs "$r/snaps/daily.0" >"$r.nondirs"; check same_file "$D/clone.nondirs" "$r.nondirs"
}
check_recycled() {
  local r=$D/rec$1 w=0
  while [ ! -e "$r.commit" ]; do
    w=$((w + 1)); [ "$w" -lt 200 ] || die "SANITY CHECK FAILED: no summary line from the recycled run"; sleep 0.01
  done
  T_recycledcommit+=("$(elapsed "$(cat "$r.start")" "$(cat "$r.commit")")")
  L_recycledcommit+=("${L_recycled[-1]}")
  check test "$(gens "$r" | tr '\n' ' ')" = "daily.0 daily.1 "
  nondirs "$r/snaps/daily.0" >"$r.nondirs"; check same_file "$D/clone.nondirs" "$r.nondirs"
}
prep_rsnap() { local r=$D/rsn$1; mkdir "$r"; cp -al "$D/base" "$r/daily.1"; }
warm_rsnap() { find "$D/clone" "$D/rsn$1" >/dev/null; }
run_rsnap() { rm -rf "$D/rsn$1/daily.1" && cp -al "$D/clone" "$D/rsn$1/daily.0"; }
check_rsnap() { :; }

# Expiry alone: keep lowered to daily:1, `rotator prune` expires daily.1.
prep_expiry() { local r=$D/exp$1; copy_tpl "$D/tpl" "$r"; snap_conf "$r" "$D/base" daily:1; }
warm_expiry() { find "$D/exp$1" >/dev/null; }
run_expiry() { "$ROTATOR" -q -c "$D/exp$1.conf" --now 2026-11-21T03:00 prune; }
check_expiry() { check test "$(gens "$D/exp$1" | tr '\n' ' ')" = "daily.0 "; }
prep_rmrf() { cp -al "$D/base" "$D/old$1"; }
warm_rmrf() { find "$D/old$1" >/dev/null; }
run_rmrf() { rm -rf "$D/old$1"; }
check_rmrf() { :; }

bench_snapshots() {
  D=$S/s
  echo
  echo "== snapshots: $FILES files"
  prepare_trees "$D" "$FILES"
  nondirs "$D/clone" >"$D/clone.nondirs"
  interleave fresh cpal
  row "snapshot: fresh generation" fresh cpal 0.6 "cp -al clone snap"
  make_tpl "$D" "$D/base"
  T_recycledcommit=(); L_recycledcommit=()
  if [ -n "${ROTATOR_BEFORE:-}" ]; then
    interleave recycled rsnap recycledbefore
  else
    interleave recycled rsnap
  fi
  row "snapshot: daily, oldest recycled" recycled rsnap 0.1 "rm -rf oldest && cp -al"
  row "snapshot: daily, oldest recycled, until its summary line (committed; state file, unlock, trash deletion follow)" recycledcommit rsnap - "rm -rf oldest && cp -al"
  [ -z "${ROTATOR_BEFORE:-}" ] || row "snapshot: daily, oldest recycled, this build" recycled recycledbefore - "ROTATOR_BEFORE"
  interleave expiry rmrf
  row "snapshot: expiry (prune)" expiry rmrf 0.8 "rm -rf generation"
  rm -rf "$D"
}

# ------------------------------------------------------------ churn ---------

# The recycled run's cost against the size of the tree and of the change:
# median of RUNS runs at each (FILES, PERMILLE), then a least-squares fit
#   seconds = a + b * entries + c * changed_entries
# (changed = changed + deleted + added files of the churn).
# shellcheck disable=SC2154  # T_recycled, L_recycled: set by interleave
bench_churn() {
  echo
  echo "== churn: recycled daily run at ${CHURN_PERMILLES// /, } permille x ${CHURN_SIZES// /, } files"
  local n pm pts=() med changed
  for n in $CHURN_SIZES; do
    for pm in $CHURN_PERMILLES; do
      D=$S/c$n-$pm
      prepare_trees "$D" "$n" "$pm"
      nondirs "$D/clone" >"$D/clone.nondirs"
      make_tpl "$D" "$D/base"
      interleave recycled
      med=$(median "${T_recycled[@]}")
      changed=$(cat "$D/list.changed" "$D/list.deleted" "$D/list.added" | wc -l)
      echo "  -> recycled run, $n files, churn $pm permille ($changed changed): $(stats "${T_recycled[@]}" | tr ' ' /) s, load $(stats "${L_recycled[@]}" | awk '{print $1 "–" $3}')"
      pts+=("$n $changed $med")
      rm -rf "$D"
    done
  done
  echo
  echo "| files | changed | median s |"
  echo "|---:|---:|---:|"
  printf '%s\n' "${pts[@]}" | awk '{ printf "| %d | %d | %.3f |\n", $1, $2, $3 }'
  printf '%s\n' "${pts[@]}" | awk '
    { x1[NR] = $1; x2[NR] = $2; y[NR] = $3 }
    END {
      # normal equations for y = a + b x1 + c x2
      for (i = 1; i <= NR; i++) {
        v[1] = 1; v[2] = x1[i]; v[3] = x2[i]
        for (r = 1; r <= 3; r++) { for (c = 1; c <= 3; c++) M[r, c] += v[r] * v[c]; R[r] += v[r] * y[i] }
      }
      for (p = 1; p <= 3; p++) {   # Gauss-Jordan
        if (M[p, p] == 0) { print "fit: singular (need at least 2 sizes and 2 churn levels)"; exit }
        for (r = 1; r <= 3; r++) if (r != p) {
          f = M[r, p] / M[p, p]
          for (c = 1; c <= 3; c++) M[r, c] -= f * M[p, c]
          R[r] -= f * R[p]
        }
      }
      a = R[1] / M[1, 1]; b = R[2] / M[2, 2]; c = R[3] / M[3, 3]
      printf "fit: seconds = %.4f + %.3f us x entries + %.2f us x changed entries\n", a, b * 1e6, c * 1e6
    }'
}

# ----------------------------------------------------------- strace ---------

# System calls per entry (files + directories of the clone) of each
# operation, from strace -c -f (counts; strace slows the run, so no times).
strace_one() {  # strace_one LABEL ENTRIES CMD...
  local label=$1 entries=$2 out=$S/strace.out total; shift 2
  strace -c -f -o "$out" "$@" >/dev/null
  total=$(awk '$NF == "total" { print $4 }' "$out")  # % time, seconds, usecs/call, calls, [errors,] total
  awk -v l="$label" -v t="$total" -v e="$entries" -v load="$(load1)" \
    'BEGIN { printf "  -> %s: %d calls, %.2f per entry (load %s)\n", l, t, t / e, load }'
  # every call made at least once per 200 entries or taking 0.5 % of the time
  awk 'NR > 2 && !/^-/ && $NF != "total" && ($4 / e >= 0.005 || $1 >= 0.5) {
         printf "       %-16s %9d %6.2f/entry %6.2f%% of syscall time\n", $NF, $4, $4 / e, $1 }' \
    e="$entries" "$out" | sort -k2 -n -r
}

# strace_split LABEL ENTRIES MARK CMD...: one full trace (strace -f), the
# calls counted before and after the first line holding MARK (rotator opens
# .trash/.rotator-deleting.lock right after it released the run's lock).
strace_split() {
  local label=$1 entries=$2 mark=$3 out=$S/strace.full; shift 3
  strace -f -qq -o "$out" "$@" >/dev/null
  awk -v mark="$mark" -v e="$entries" -v l="$label" '
    !split_at && index($0, mark) { split_at = 1 }
    { name = $2; if (name ~ /^</) next; sub(/\(.*/, "", name); if (name !~ /^[a-z_0-9]+$/) next
      if (split_at) { after[name]++; na++ } else { before[name]++; nb++ } }
    END {
      printf "  -> %s: %d calls until the unlock (%.2f per entry), %d after it (%.2f per entry)\n", l, nb, nb / e, na, na / e
      fflush()
      for (n in after) if (after[n] / e >= 0.005) printf "       after the unlock: %-16s %9d %6.2f/entry\n", n, after[n], after[n] / e | "sort -k5 -n -r"
      close("sort -k5 -n -r")
    }' "$out"
}

bench_strace() {
  command -v strace >/dev/null || die "--strace needs strace (apt-get install strace)"
  D=$S/t
  echo
  echo "== system calls per entry: $FILES files"
  prepare_trees "$D" "$FILES"
  local entries
  entries=$(find "$D/clone" -mindepth 1 | wc -l)
  echo "  clone: $entries entries"
  prep_fresh 1; strace_one "rotator daily, fresh" "$entries" "$ROTATOR" -q -c "$D/fresh1.conf" --now 2026-11-20T02:00 daily
  strace_one "cp -al clone snap" "$entries" cp -al "$D/clone" "$D/cp1"
  make_tpl "$D" "$D/base"
  prep_recycled 1; strace_one "rotator daily, recycled" "$entries" "$ROTATOR" -q -c "$D/rec1.conf" --now 2026-11-22T02:00 daily
  prep_recycled 2; strace_split "rotator daily, recycled (split)" "$entries" ".rotator-deleting.lock" "$ROTATOR" -q -c "$D/rec2.conf" --now 2026-11-22T02:00 daily
  prep_rsnap 1; strace_one "rm -rf oldest && cp -al" "$entries" sh -c "rm -rf '$D/rsn1/daily.1' && cp -al '$D/clone' '$D/rsn1/daily.0'"
  prep_expiry 1; strace_one "rotator prune (expiry)" "$entries" "$ROTATOR" -q -c "$D/exp1.conf" --now 2026-11-21T03:00 prune
  prep_expiry 2; strace_split "rotator prune (split)" "$entries" ".rotator-deleting.lock" "$ROTATOR" -q -c "$D/exp2.conf" --now 2026-11-21T03:00 prune
  prep_rmrf 1; strace_one "rm -rf generation" "$entries" rm -rf "$D/old1"
  prep_weekly 1; strace_one "rotator weekly" "$entries" "$ROTATOR" -q -c "$D/rot1.conf" weekly
  strace_one "find clone backup" "$entries" find "$D/clone" "$D/base"
  rm -rf "$D"
}

# ------------------------------------------------------------ RSS (1M) ------

bench_rss() {
  D=$S/m
  echo
  echo "== peak RSS of every command: $FILES_RSS files"
  prepare_trees "$D" "$FILES_RSS"
  local r=$D/rot t0 t1 file
  mkdir "$r"; cp -al "$D/base" "$r/backup"; weekly_conf "$r" "$D/clone"
  rss_cmd() {  # rss_cmd LABEL CMD...
    local label=$1; shift
    t0=$(now); run_rss "$D/rss" "$@" >/dev/null; t1=$(now)
    echo "  $label: $(elapsed "$t0" "$t1") s (load $(load1))"
    rss_row "$label ($FILES_RSS files)" "$(cat "$D/rss")"
  }
  rss_cmd "rotator weekly" "$ROTATOR" -q -c "$r.conf" weekly
  prep_fresh 1
  rss_cmd "rotator daily, fresh" "$ROTATOR" -q -c "$D/fresh1.conf" --now 2026-11-20T02:00 daily
  rss_cmd "rotator daily, second" "$ROTATOR" -q -c "$D/fresh1.conf" --now 2026-11-21T02:00 daily
  rss_cmd "rotator daily, recycled" "$ROTATOR" -q -c "$D/fresh1.conf" --now 2026-11-22T02:00 daily
  file=$(head -n1 "$D/list.changed")
  rss_cmd "rotator versions FILE" "$ROTATOR" -q -c "$D/fresh1.conf" versions "$file"
  rss_cmd "rotator versions DIR (the whole tree)" "$ROTATOR" -q -c "$D/fresh1.conf" versions .
  rss_cmd "rotator find '*7*'" "$ROTATOR" -q -c "$D/fresh1.conf" find '*7*'
  rss_cmd "rotator find --json '*7*'" "$ROTATOR" -q -c "$D/fresh1.conf" find --json '*7*'
  rss_cmd "rotator diff daily.1 daily.0" "$ROTATOR" -q -c "$D/fresh1.conf" diff daily.1 daily.0
  rss_cmd "rotator du" "$ROTATOR" -q -c "$D/fresh1.conf" du
  rss_cmd "rotator restore FILE" "$ROTATOR" -q -c "$D/fresh1.conf" restore "$file" --to "$D/restored"
  rss_cmd "rotator status" "$ROTATOR" -q -c "$D/fresh1.conf" --now 2026-11-22T03:00 status
  snap_conf "$D/fresh1" "$D/clone" daily:1
  rss_cmd "rotator prune" "$ROTATOR" -q -c "$D/fresh1.conf" --now 2026-11-22T03:00 prune
  rm -rf "$D"
}

# ------------------------------------------------------------- sync ---------

# sync = commit (every run above) against sync = none, interleaved: what the
# commit-point syncfs/fsync cost. Contender NAMEns is NAME with `sync = none`
# in its configuration (same start states, same checks).
nosync_conf() { sed -i 's/^timezone = UTC$/&\nsync     = none/' "$1"; }
prep_weeklyns() { prep_weekly "ns$1"; nosync_conf "$D/rotns$1.conf"; }
warm_weeklyns() { warm_weekly "ns$1"; }
run_weeklyns() { run_weekly "ns$1"; }
check_weeklyns() { check_weekly "ns$1"; }
prep_freshns() { prep_fresh "ns$1"; nosync_conf "$D/freshns$1.conf"; }
warm_freshns() { warm_fresh "ns$1"; }
run_freshns() { run_fresh "ns$1"; }
check_freshns() { check_fresh "ns$1"; }
prep_recycledns() { prep_recycled "ns$1"; nosync_conf "$D/recns$1.conf"; }
warm_recycledns() { warm_recycled "ns$1"; }
run_recycledns() { run_recycled "ns$1"; }
check_recycledns() { check_recycled "ns$1"; }
bench_sync() {
  D=$S/y
  echo
  echo "== sync = commit vs sync = none: $FILES files"
  prepare_trees "$D" "$FILES"
  nondirs "$D/clone" >"$D/clone.nondirs"
  needed_dirs "$D/clone" >"$D/clone.dirs"
  WEEKLY_RSS=0
  interleave weekly weeklyns
  row "weekly, sync = commit" weekly weeklyns - "sync = none"
  interleave fresh freshns
  row "fresh generation, sync = commit" fresh freshns - "sync = none"
  make_tpl "$D" "$D/base"
  interleave recycled recycledns
  row "daily recycled, sync = commit" recycled recycledns - "sync = none"
  rm -rf "$D"
}

# -------------------------------------------------------------- main --------

case $mode in
  default|quick) bench_weekly; bench_snapshots ;;
  snapshots) bench_snapshots ;;
  weekly) bench_weekly ;;
  churn) bench_churn ;;
  strace) bench_strace ;;
  rss) bench_rss ;;
  sync) bench_sync ;;
  full) bench_weekly; bench_snapshots; bench_churn; bench_strace; bench_rss ;;
esac

echo
echo "== results ($(date -u '+%Y-%m-%d %H:%M UTC'), FILES=$FILES, $RUNS interleaved rounds; load now: $(cut -d' ' -f1-3 /proc/loadavg))"
print_table
print_rss_table
echo
if [ "$missed" -gt 0 ]; then
  echo "MISSED: $missed target(s) not met (see the rows marked MISSED)"
else
  echo "all targets met"
fi
exit 0
