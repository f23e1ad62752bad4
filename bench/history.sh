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
# Environment: FILES, GENS, RUNS (best of, default 3), BENCH_DIR, ROTATOR, SEED, KEEP=1.
# Warm cache (one untimed find first); nothing outside the scratch directory.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ROTATOR=${ROTATOR:-$top/rotator}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
case "${1:-}" in
  "") FILES=${FILES:-200000}; GENS=${GENS:-30} ;;
  --smoke) FILES=${FILES:-3000}; GENS=${GENS:-5} ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: bench/history.sh [--smoke]" >&2; exit 2 ;;
esac
die() { echo "bench: $*" >&2; exit 1; }
[ -x "$ROTATOR" ] || die "no rotator binary at $ROTATOR (run make first)"
S=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/rotator-hbench.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "bench: kept $S"; else rm -rf -- "$S"; fi; }
trap cleanup EXIT
echo "rotator history bench: $(date -u '+%Y-%m-%d %H:%M UTC'), FILES=$FILES GENS=$GENS RUNS=$RUNS"
g++ -O2 -std=c++17 -o "$S/gentree" "$here/gentree.cpp" || die "cannot build gentree"

root=$S/root
mkdir -p "$root/dated"
"$S/gentree" gen "$root/clone" "$FILES" "$SEED" >/dev/null
cat >"$S/rotator.conf" <<CONF
[rotator]
root = $root
timezone = UTC
[dated]
type = snapshot
from = $root/clone
path = dated
naming = dated
keep = daily:1000
run_on = daily
CONF
R() { "$ROTATOR" -c "$S/rotator.conf" "$@"; }
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
find "$root" >/dev/null  # warm the cache
gens=("$root"/dated/2026-*)
g1=${gens[0]}; g2=${gens[$((${#gens[@]} - 1))]}

best() {  # best of RUNS wall seconds of "$@" (output discarded)
  local b="" t0 t1 s
  for _ in $(seq 1 "$RUNS"); do
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$b" ] || awk -v x="$s" -v y="$b" 'BEGIN { exit !(x < y) }'; then b=$s; fi
  done
  echo "$b"
}
stat_all() { for g in "$root"/dated/2026-* "$root/clone"; do stat -c %i "$g/$1" 2>/dev/null || true; done; }
printf '| operation | rotator s | baseline | baseline s | ratio | target |\n|---|---:|---|---:|---:|---:|\n'
line() { printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" \
  "$(awk -v a="$2" -v b="$4" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')" "$5"; }
line "versions FILE" "$(best R versions "$file")" "stat in every generation" "$(best stat_all "$file")" "< 0.2 s"
line "find '*7*'" "$(best R find '*7*')" "find ROOT -name '*7*'" "$(best find "$root" -name '*7*')" "≤ 1.5"
line "diff oldest newest" "$(best R diff "$(basename "$g1")" "$(basename "$g2")")" "find G1 G2" "$(best find "$g1" "$g2")" "≤ 1.2"
line "du" "$(best R du)" "du -s ROOT" "$(best du -s "$root")" "-"
# Sanity: rotator's root total is du's.
want=$(du -s "$root" | cut -f1)
R du | tail -1 | grep -q " $want KiB" || die "rotator du total differs from du -s ($want KiB)"
