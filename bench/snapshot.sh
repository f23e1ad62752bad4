#!/bin/sh
# Snapshot benchmarks (issue 4): rotator vs the cp -al / rm -rf way, side by
# side on one tree in one run. Not a test: prints timings and ratios.
#
#   bench/snapshot.sh [FILES]      (default 200000 files; BENCH_DIR to place it)
#
# (1) a fresh generation            vs  cp -al
# (2) a daily run with the oldest expiring (recycled), 1% of the files changed
#                                   vs  rm -rf oldest + cp -al newest + rsync of the changes
# (3) expiry alone (rotator prune after keep shrank)
#                                   vs  rm -rf
set -eu
FILES=${1:-200000}
ROTATOR=${ROTATOR:-$(cd "$(dirname "$0")/.." && pwd)/rotator}
B=$(mktemp -d "${BENCH_DIR:-/tmp}/rotator-bench.XXXXXX")
trap 'rm -rf "$B"' EXIT

now() { date +%s.%N; }
t() { s=$(now); "$@" >/dev/null; e=$(now); echo "$e - $s" | bc; }
ratio() { echo "scale=3; $1 / $2" | bc; }

# A tree of FILES small files, 100 per directory, two levels.
make_tree() {
  python3 - "$1" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 10000), "e%03d" % ((i // 100) % 100))
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "w") as f:
        f.write("x")
PY
}
# Change 1% of the files (new inodes, as rsync does).
change() {
  python3 - "$1" "$FILES" "$2" <<'PY'
import os, sys
root, n, round_ = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(0, n, 100):
    p = os.path.join(root, "d%03d" % (i // 10000), "e%03d" % ((i // 100) % 100), "f%05d" % i)
    with open(p + ".new", "w") as f:
        f.write(round_)
    os.rename(p + ".new", p)
PY
}

mkdir -p "$B/root"
make_tree "$B/root/clone"
conf() {
  cat >"$B/rotator.conf" <<CONF
[rotator]
root = $B/root
timezone = UTC
[snaps]
type = snapshot
from = clone
path = snaps
naming = rotate
keep = $1
CONF
}
R() { "$ROTATOR" -q -c "$B/rotator.conf" "$@"; }
sync

# (1) fresh generation
conf "daily:3"
t_cp=$(t cp -al "$B/root/clone" "$B/cpal")
sync
t_fresh=$(t R --now 2026-11-01T02:00 daily)
sync
echo "fresh generation: rotator ${t_fresh}s, cp -al ${t_cp}s, ratio $(ratio "$t_fresh" "$t_cp") (target <= 0.7)"

# (2) recycled daily run vs rm -rf + cp -al + rsync
R --now 2026-11-02T02:00 daily
R --now 2026-11-03T02:00 daily   # daily.0..2: the next run recycles daily.2
change "$B/root/clone" 4
sync
t_recycle=$(t R --now 2026-11-04T02:00 daily)
sync
mkdir -p "$B/rs"
cp -al "$B/root/clone" "$B/rs/old"
cp -al "$B/cpal" "$B/rs/prev"
sync
s=$(now)
rm -rf "$B/rs/old"
cp -al "$B/rs/prev" "$B/rs/new"
rsync -a --delete "$B/root/clone/" "$B/rs/new/"
e=$(now)
t_rs=$(echo "$e - $s" | bc)
echo "recycled daily run: rotator ${t_recycle}s, rm -rf + cp -al + rsync ${t_rs}s, ratio $(ratio "$t_recycle" "$t_rs") (target <= 0.1)"

# (3) expiry alone
conf "daily:2"
sync
t_prune=$(t R prune)
sync
t_rm=$(t rm -rf "$B/rs/prev")
echo "expiry: rotator prune ${t_prune}s, rm -rf ${t_rm}s, ratio $(ratio "$t_prune" "$t_rm") (target <= 0.8)"
