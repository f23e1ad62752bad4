#!/usr/bin/env bash
# History commands bench: versions, find, diff, du of rotator against the
# tools a user would reach for, side by side, on GENS dated snapshot
# generations of a FILES-file tree (bench/gentree.cpp; 1% of the files get
# a new inode between generations).
#
#   bench/history.sh           FILES=200000 GENS=30 (the figures of bench/README.md)
#   bench/history.sh --smoke   FILES=3000 GENS=5 (shows the script works; not a figure)
#
#   rotator versions FILE      vs  stat of FILE in every generation (a few hundred fstatat)
#   rotator find '*x*'         vs  find ROOT -name '*x*'                target <= 1.5
#   rotator diff G1 G2         vs  find G1 G2                           target <= 1.2
#   rotator du                 vs  du -s ROOT                           (rotator also gives
#                                  the exclusive and freed sizes per generation)
#   rotator versions FILE      absolute goal < 0.2 s
# Besides the GENS generations the root holds a backup (cp -al of the clone)
# and HOLDING weekly holding folders (default 300; 200 with --smoke: 20),
# each with HOLD_FILES displaced files (default 200) and its own version of
# the followed FILE, so `versions FILE` answers HOLDING + GENS + 2 places.
# Environment: FILES, GENS, HOLDING, HOLD_FILES, RUNS (default 5), BENCH_DIR,
# ROTATOR, SEED, KEEP=1. Warm cache (one untimed find first); each row runs
# rotator and its baseline alternately (interleaved: the machine is shared)
# and prints min / median / max of RUNS; the ratio is of the medians.
# Nothing outside the scratch directory.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ROTATOR=${ROTATOR:-$top/rotator}
RUNS=${RUNS:-5}
SEED=${SEED:-1}
case "${1:-}" in
  "") FILES=${FILES:-200000}; GENS=${GENS:-30}; HOLDING=${HOLDING:-300} ;;
  --smoke) FILES=${FILES:-3000}; GENS=${GENS:-5}; HOLDING=${HOLDING:-20} ;;
  -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bench/history.sh [--smoke]" >&2; exit 2 ;;
esac
die() { echo "bench: $*" >&2; exit 1; }
[ -x "$ROTATOR" ] || die "no rotator binary at $ROTATOR (run make first)"
S=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/rotator-hbench.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "bench: kept $S"; else rm -rf -- "$S"; fi; }
trap cleanup EXIT
HOLD_FILES=${HOLD_FILES:-200}
echo "rotator history bench: $(date -u '+%Y-%m-%d %H:%M UTC'), FILES=$FILES GENS=$GENS HOLDING=$HOLDING HOLD_FILES=$HOLD_FILES RUNS=$RUNS"
echo "load before: $(uptime)"
g++ -O2 -std=c++17 -o "$S/gentree" "$here/gentree.cpp" || die "cannot build gentree"

root=$S/root
mkdir -p "$root/dated"
"$S/gentree" gen "$root/clone" "$FILES" "$SEED" >/dev/null
cat >"$S/rotator.conf" <<CONF
[rotator]
root = $root
timezone = UTC
[clone]
type = clone
source = $S/no-source/
path = clone
run_on = never
[dated]
type = snapshot
from = clone
path = dated
naming = dated
keep = daily:1000
run_on = daily
[weekly]
type = backup
from = clone
path = backup
holding = holding
holding_format = %Y-%m-%d
run_on = weekly
CONF
R() { "$ROTATOR" -c "$S/rotator.conf" "$@"; }
R check >/dev/null || die "the bench's config does not pass rotator check"
# The clone job only makes the clone a place (current): it is never run.
# GENS generations, one a day, with churn between them (hard links: cp -al
# is what rotator's fresh build makes; the daily run itself is benched by run.sh).
for i in $(seq 1 "$GENS"); do
  name=$(date -u -d "2026-01-01 + $i days" +%Y-%m-%d_020000)
  cp -al "$root/clone" "$root/dated/$name"
  touch -d "$(date -u -d "2026-01-01 + $i days" '+%Y-%m-%d 02:00')" "$root/dated/$name"
  # 1% of the files get a new inode (as rsync's temp file + rename does).
  find "$root/clone" -type f | awk -v k="$i" 'NR % 100 == k % 100' >"$S/list.changed"
  tr '\n' '\0' <"$S/list.changed" | xargs -0 -r sh -c 'for f; do cp -p "$f" "$f.new" && mv "$f.new" "$f"; done' sh
done
file=$(head -1 "$S/list.changed")
file=${file#"$root/clone/"}
[ -n "$file" ] || die "no changed file to follow"
cp -al "$root/clone" "$root/backup"
# HOLDING weekly holding folders (2020-01-05 onwards, older than every
# generation): HOLD_FILES displaced files each (hard links of clone files at
# their paths, as a weekly run's renames leave them) and a copy of FILE, so
# FILE has a distinct version in every folder.
find "$root/clone" -type f | sed "s|^$root/clone/||" >"$S/list.all"
for h in $(seq 1 "$HOLDING"); do
  hd=$root/holding/$(date -u -d "2020-01-05 + $((7 * h)) days" +%Y-%m-%d)
  mkdir -p "$hd"
  awk -v n="$HOLD_FILES" -v k="$h" -v m="$(wc -l <"$S/list.all")" \
    'BEGIN { srand(k) } { if (rand() * m < n) print }' "$S/list.all" |
    (cd "$root/clone" && tr '\n' '\0' | xargs -0 -r cp -l --parents -t "$hd")
  mkdir -p "$(dirname "$hd/$file")" && rm -f "$hd/$file" && cp -p "$root/clone/$file" "$hd/$file"
done
find "$root" >/dev/null  # warm the cache
gens=("$root"/dated/2026-*)
g1=${gens[0]}; g2=${gens[$((${#gens[@]} - 1))]}

secs() {  # wall seconds of "$@" (output discarded)
  local t0=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || true
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}
stats() {  # "min median max" of the numbers given
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f", v[1], m, v[NR] }'
}
stat_all() {
  for g in "$root"/dated/2026-* "$root"/holding/* "$root/backup" "$root/clone"; do
    stat -c %i "$g/$1" 2>/dev/null || true
  done
}
printf '| operation | rotator s (min / median / max) | baseline | baseline s (min / median / max) | ratio of medians | target |\n|---|---:|---|---:|---:|---:|\n'
row() {  # row LABEL BASELINE-LABEL TARGET ROTATOR-ARGS... -- BASELINE-CMD...
  local label=$1 blabel=$2 target=$3 a=() b=() ra=() rb=()
  shift 3
  while [ "$1" != -- ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  for _ in $(seq 1 "$RUNS"); do  # interleaved
    ra+=("$(secs R "${a[@]}")")
    rb+=("$(secs "${b[@]}")")
  done
  read -r amin amed amax <<<"$(stats "${ra[@]}")"
  read -r bmin bmed bmax <<<"$(stats "${rb[@]}")"
  printf '| %s | %s / %s / %s | %s | %s / %s / %s | %s | %s |\n' "$label" "$amin" "$amed" "$amax" \
    "$blabel" "$bmin" "$bmed" "$bmax" \
    "$(awk -v a="$amed" -v b="$bmed" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')" "$target"
}
echo "versions FILE: $file ($(R versions "$file" | wc -l) lines of output)"
row "versions FILE" "stat in every place" "< 0.2 s" versions "$file" -- stat_all "$file"
row "find '*7*'" "find ROOT -name '*7*'" "≤ 1.5" find '*7*' -- find "$root" -name '*7*'
row "diff oldest newest" "find G1 G2" "≤ 1.2" diff "$(basename "$g1")" "$(basename "$g2")" -- find "$g1" "$g2"
row "du" "du -s ROOT" "-" du -- du -s "$root"
echo "load after: $(uptime)"
# Sanity: rotator's root total is du's.
want=$(du -s "$root" | cut -f1)
R du | tail -1 | grep -q " $want KiB" || die "rotator du total differs from du -s ($want KiB)"
