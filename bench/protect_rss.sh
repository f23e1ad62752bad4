#!/usr/bin/env bash
# Peak RSS of a daily run with protect_metadata = yes after `chmod -R` of the
# whole source (issue 11: every command <= 16 MB at 1M files).
#
#   bench/protect_rss.sh [FILES]     default FILES=100000
#
# For each binary (ROTATOR_BEFORE first when set, then ROTATOR, default
# ./rotator next to this directory), in a fresh scratch directory: a source
# made by `gentree gen SRC FILES SEED`, a clone job (protect_metadata = yes)
# and a snapshot job (naming = rotate) fed by it; the first `rotator daily`
# copies it and takes the snapshot (so every clone file shares its inode with
# history), then `chmod -R g+w SRC` (every file's mode changes, none's
# content), then the second `rotator -v daily` is measured:
#   time_max_kb   /usr/bin/time -v "Maximum resident set size": the largest
#                 of rotator and its children (rsync's processes included)
#   rotator_kb    rotator's own VmHWM (/proc/PID/status, sampled every 10 ms)
#   seconds       wall time of the whole second run (both rsync runs included)
#   protected     the run's "N files given a new inode" count
# and checked (exit 0, or 2 for the churn warning a chmod -R rightly gets):
# the snapshot of the first run kept every file's old mode, the
# clone has the new one. One line per binary, with the load average before
# and after. Environment: BENCH_DIR (scratch parent; default
# ${TMPDIR:-/tmp}), SEED (default 1), KEEP=1 (leave the scratch directory).
# Nothing outside the scratch directory is touched. Exit status 1 when a run
# fails or a check does not hold.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ROTATOR=${ROTATOR:-$top/rotator}
SEED=${SEED:-1}
FILES=${1:-100000}

die() { echo "protect_rss: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is required"
command -v rsync >/dev/null || die "rsync is required"
parent=${BENCH_DIR:-${TMPDIR:-/tmp}}
S=$(mktemp -d "$parent/rotator-protect-rss.XXXXXX")
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept: $S"; else rm -rf -- "$S"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
g++ -O2 -std=c++17 -o "$S/gentree" "$here/gentree.cpp" || die "cannot build bench/gentree.cpp"

echo "protect_rss: $(date -u '+%Y-%m-%d %H:%M UTC'), FILES=$FILES, $(nproc) CPUs, $(df -PT "$S" | awk 'NR==2 {print $2}'), rsync $(rsync --version | awk 'NR==1 {print $3}')"

measure() { # measure LABEL BINARY
  local label=$1 bin=$2 d t0 t1 pid rpid hwm v l0 l1 maxkb n
  [ -x "$bin" ] || die "no binary at $bin"
  d=$S/$label
  mkdir -p "$d/root"
  "$S/gentree" gen "$d/src" "$FILES" "$SEED" >/dev/null
  cat >"$d/conf" <<CONF
[rotator]
root = $d/root
timezone = UTC

[clone]
type = clone
run_on = daily
source = $d/src/
path = clone
protect_metadata = yes

[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:3
CONF
  "$bin" -c "$d/conf" --now 2026-11-01T02:00 daily >"$d/out1" 2>&1 || die "$label: first run failed (see $d/out1)"
  chmod -R g+w "$d/src"
  sync -f "$d" 2>/dev/null || sync
  l0=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=${EPOCHREALTIME/,/.}
  /usr/bin/time -v -o "$d/time" "$bin" -c "$d/conf" -v --now 2026-11-02T02:00 daily >"$d/out2" 2>&1 &
  pid=$! hwm=0 rpid=
  while kill -0 "$pid" 2>/dev/null; do
    [ -n "$rpid" ] || rpid=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null || true)
    if [ -n "$rpid" ]; then
      v=$(awk '/^VmHWM:/ {print $2}' "/proc/$rpid/status" 2>/dev/null || true)
      [ -n "$v" ] && hwm=$v
    fi
    sleep 0.01
  done
  # Exit 2: the churn warning a chmod -R rightly gets.
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 2 ] || die "$label: second run failed, exit $rc (see $d/out2)"
  t1=${EPOCHREALTIME/,/.}
  l1=$(cut -d' ' -f1-3 /proc/loadavg)
  maxkb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$d/time")
  n=$(grep -o '[0-9]* files given a new inode' "$d/root/.rotator/state/clone.state" | head -n1 | cut -d' ' -f1 || true)
  # The snapshot of the first run (now daily.1) kept the old modes.
  [ -z "$(find "$d/root/snapshots/daily.1" -type f -perm -g+w -print -quit)" ] ||
    die "$label: the earlier snapshot lost a file's old mode"
  [ -z "$(find "$d/root/clone" -type f ! -perm -g+w -print -quit)" ] ||
    die "$label: a clone file lacks the new mode"
  printf '%-8s files=%s time_max_kb=%s rotator_kb=%s seconds=%.1f protected=%s load=%s..%s\n' \
    "$label" "$FILES" "$maxkb" "$hwm" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    "${n:-?}" "$l0" "$l1"
  rm -rf -- "$d"
}

if [ -n "${ROTATOR_BEFORE:-}" ]; then
  measure before "$ROTATOR_BEFORE"
fi
measure after "$ROTATOR"
