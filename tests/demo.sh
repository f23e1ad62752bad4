#!/bin/sh
# `make demo`: build a small sample tree and configuration under ./demo,
# run the daily clone job and the weekly backup, and show the result.
# Safe to rerun: it only ever touches ./demo.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
demo="$top/demo"
R="$top/rotator"
rm -rf "$demo"
mkdir -p "$demo/laptop/home/me/Documents/taxes" "$demo/laptop/home/me/.cache" "$demo/root"
cd "$demo/laptop/home/me"
echo "2025 return" >Documents/taxes/2025.txt
echo "draft v1" >Documents/novel.txt
echo "cached junk" >.cache/blob
echo "todo: buy milk" >notes.txt
cat >"$demo/important.rules" <<'RULES'
# keep documents and notes, not caches
- .cache/
+ /Documents/***
+ /notes.txt
- *
RULES
cat >"$demo/rotator.conf" <<CONF
[rotator]
root     = $demo/root
timezone = UTC

[clone]
type   = clone
run_on = daily
source = $demo/laptop/home/me/
path   = clone

[backup]
type             = backup
run_on           = weekly
from             = clone
path             = backup
filter           = $demo/important.rules
prune_empty_dirs = yes
holding          = holding
holding_keep     = 6y
CONF
export ROTATOR_CONF="$demo/rotator.conf"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
say rotator check;  "$R" check
say rotator daily;  "$R" -v daily
say rotator weekly; "$R" -v weekly
echo "draft v2, with a new chapter" >Documents/novel.txt.new && mv Documents/novel.txt.new Documents/novel.txt
rm notes.txt
say "# edit novel.txt, delete notes.txt, then:"
say rotator daily;  "$R" -v daily
say rotator -n weekly; "$R" -n weekly
say rotator weekly; "$R" -v weekly
say "find root -path '*/.rotator' -prune -o -print | sort"
(cd "$demo" && find root -path '*/.rotator' -prune -o -print | sort)
say "ls -i root/clone/Documents/novel.txt root/backup/Documents/novel.txt"
(cd "$demo" && ls -i root/clone/Documents/novel.txt root/backup/Documents/novel.txt)
say "cat root/holding/*/Documents/novel.txt"
(cd "$demo" && cat root/holding/*/Documents/novel.txt)
say rotator status; "$R" status
echo
echo "The demo lives in $demo (config: $demo/rotator.conf)."
