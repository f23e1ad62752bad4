#!/bin/sh
# The weekly filtered backup end to end: one pass, hard links, dated holding.
. "$(dirname "$0")/lib.sh"

C="$TMP/root/clone" B="$TMP/root/backup" H="$TMP/root/holding"
setup() {
  mkdir -p "$C/Documents/taxes" "$C/Documents/old" "$C/.cache" "$C/Music" "$TMP/root"
  echo 2025 >"$C/Documents/taxes/2025.txt"
  echo v1 >"$C/Documents/novel.txt"
  echo keep >"$C/Documents/old/letter.txt"
  echo junk >"$C/.cache/blob"
  echo song >"$C/Music/song.mp3"
  echo todo >"$C/notes.txt"
  ln -s Documents/novel.txt "$C/novel-link"
  mkfifo "$C/Documents/fifo"
  chmod 750 "$C/Documents/taxes"
  touch -d '2020-01-02 03:04:05' "$C/Documents/taxes"
  cat >"$TMP/rules" <<'RULES'
# important parts only
- .cache/
+ /Documents/***
+ /notes.txt
+ /novel-link
+ /Music/
- *
RULES
  cat >"$TMP/rotator.conf" <<CONF
[rotator]
root = $TMP/root
timezone = UTC

[backup]
type = backup
run_on = weekly
from = clone
path = backup
filter = $TMP/rules
prune_empty_dirs = yes
holding = holding
holding_keep = 6y
CONF
}
tree() { (cd "$1" && find . -path ./.rotator -prune -o -printf '%p %i %y %m %n %T@\n' | sort); }

t_first_run_links_selected() {
  R --now 2026-11-22T03:00 weekly
  for p in Documents/taxes/2025.txt Documents/novel.txt Documents/old/letter.txt notes.txt novel-link Documents/fifo; do
    expect_same_inode "$C/$p" "$B/$p"
  done
  [ ! -e "$B/.cache" ]   # excluded
  [ ! -e "$B/Music" ]    # pruned by -m (no files)
  [ "$(stat -c '%a %Y' "$B/Documents/taxes")" = "750 $(date -d '2020-01-02 03:04:05' +%s)" ]
  [ ! -e "$H/2026-11-22" ]   # nothing displaced: no folder
}

t_changes_go_to_holding() {
  ino_novel=$(stat -c %i "$B/Documents/novel.txt")
  ino_notes=$(stat -c %i "$B/notes.txt")
  ino_old=$(stat -c %i "$B/Documents/old")
  ino_tax=$(stat -c %i "$B/Documents/taxes/2025.txt")
  echo v2 >"$C/Documents/novel.txt.tmp" && mv "$C/Documents/novel.txt.tmp" "$C/Documents/novel.txt"
  rm "$C/notes.txt"
  rm -r "$C/Documents/old"
  echo new >"$C/Documents/new.txt"
  R --now 2026-11-29T03:00 weekly 2>"$TMP/err"
  [ "$(stat -c %i "$H/2026-11-29/Documents/novel.txt")" = "$ino_novel" ]
  [ "$(cat "$H/2026-11-29/Documents/novel.txt")" = v1 ]
  [ "$(stat -c %i "$H/2026-11-29/notes.txt")" = "$ino_notes" ]
  [ "$(stat -c %i "$H/2026-11-29/Documents/old")" = "$ino_old" ]   # whole dir, one rename
  expect_same_inode "$C/Documents/novel.txt" "$B/Documents/novel.txt"
  expect_same_inode "$C/Documents/new.txt" "$B/Documents/new.txt"
  [ "$(stat -c %i "$B/Documents/taxes/2025.txt")" = "$ino_tax" ]  # untouched
  [ ! -e "$B/notes.txt" ]
  [ ! -e "$B/Documents/old" ]
}

t_newly_excluded_goes_to_holding() {
  ino=$(stat -c %i "$B/novel-link")
  sed -i '/novel-link/d' "$TMP/rules"
  R --now 2026-12-06T03:00 weekly
  [ "$(stat -c %i "$H/2026-12-06/novel-link")" = "$ino" ]
  [ ! -e "$B/novel-link" ]
  [ ! -L "$B/novel-link" ]
}

t_rerun_without_changes_changes_nothing() {
  before=$(tree "$TMP/root")
  R --now 2026-12-06T04:00 weekly
  [ "$before" = "$(tree "$TMP/root")" ]
  [ ! -e "$H/2026-12-06.1" ]
}

t_second_run_same_date_uses_new_folder() {
  echo v3 >"$C/Documents/novel.txt.tmp" && mv "$C/Documents/novel.txt.tmp" "$C/Documents/novel.txt"
  R -v --now 2026-12-06T05:00 weekly 2>"$TMP/err"
  [ "$(cat "$H/2026-12-06.1/Documents/novel.txt")" = v2 ]
  [ -L "$H/2026-12-06/novel-link" ]   # the first folder is untouched
  expect_grep 'archived to holding/2026-12-06.1' "$TMP/err"
}

t_dry_run_is_byte_for_byte_inert() {
  echo v4 >"$C/Documents/novel.txt.tmp" && mv "$C/Documents/novel.txt.tmp" "$C/Documents/novel.txt"
  rm "$C/Documents/taxes/2025.txt"
  before=$(cd "$TMP/root" && find . -path ./.rotator -prune -o -printf '%p %i %y %m %n %T@ %s\n' | sort)
  state_before=$(cat "$TMP/root/.rotator/state/backup.state")
  R -n --now 2026-12-13T03:00 weekly >"$TMP/plan"
  after=$(cd "$TMP/root" && find . -path ./.rotator -prune -o -printf '%p %i %y %m %n %T@ %s\n' | sort)
  [ "$before" = "$after" ]
  [ "$state_before" = "$(cat "$TMP/root/.rotator/state/backup.state")" ]
  expect_grep '^archive Documents/novel.txt -> holding/2026-12-13/Documents/novel.txt$' "$TMP/plan"
  expect_grep '^link Documents/novel.txt$' "$TMP/plan"
  expect_grep '^archive Documents/taxes/2025.txt -> holding/2026-12-13/Documents/taxes/2025.txt$' "$TMP/plan"
  # the real run then does what the plan said
  R --now 2026-12-13T03:00 weekly
  [ "$(cat "$H/2026-12-13/Documents/novel.txt")" = v3 ]
  [ -f "$H/2026-12-13/Documents/taxes/2025.txt" ]
}

t_holding_pruned_by_age_after_success() {
  mkdir -p "$H/2019-01-01/x" "$H/2020-12-12" "$H/not-a-date" "$H/2021-06-01.1"
  echo old >"$H/2019-01-01/x/f"
  R -n --now 2026-12-20T03:00 weekly >"$TMP/plan"
  expect_grep '^prune holding/2019-01-01$' "$TMP/plan"
  expect_grep '^prune holding/2020-12-12$' "$TMP/plan"
  [ -d "$H/2019-01-01" ]
  R --now 2026-12-20T03:00 weekly
  [ ! -e "$H/2019-01-01" ]
  [ ! -e "$H/2020-12-12" ]
  [ -d "$H/not-a-date" ]
  [ -d "$H/2021-06-01.1" ]
  [ -d "$H/2026-11-29" ]
}

t_failed_run_prunes_nothing() {
  mkdir -p "$H/2019-02-02"
  echo 'bad rule' >>"$TMP/rules"   # a filter syntax error
  expect_exit 1 R --now 2026-12-27T03:00 weekly 2>"$TMP/err"
  expect_grep "rules:.*bad rule" "$TMP/err"
  [ -d "$H/2019-02-02" ]
  expect_exit 1 R check 2>"$TMP/err"
  expect_grep "rules:" "$TMP/err"
  sed -i '/^bad rule$/d' "$TMP/rules"
  # from missing: error, nothing pruned
  mv "$C" "$TMP/clone.away"
  expect_exit 1 R --now 2026-12-27T03:00 weekly 2>"$TMP/err"
  [ -d "$H/2019-02-02" ]
  mv "$TMP/clone.away" "$C"
}

t_other_filesystem_is_a_config_error() {
  # A second filesystem: a temporary directory on /dev/shm (tmpfs), if any.
  if [ ! -d /dev/shm ] || [ "$(stat -c %d /dev/shm)" = "$(stat -c %d "$TMP")" ]; then
    skip_inside "no second filesystem (/dev/shm) available"
  fi
  other=$(mktemp -d /dev/shm/rotator-it.XXXXXX) || skip_inside "cannot write to /dev/shm"
  sed "s|^holding = holding$|holding = $other/holding|" "$TMP/rotator.conf" >"$TMP/xdev.conf"
  set +e; "$ROTATOR" -c "$TMP/xdev.conf" check 2>"$TMP/err"; rc1=$?
  "$ROTATOR" -c "$TMP/xdev.conf" weekly 2>"$TMP/err2"; rc2=$?; set -e
  rm -rf "$other"
  [ $rc1 -eq 1 ]
  [ $rc2 -eq 1 ]
  expect_grep "on different filesystems" "$TMP/err"
  expect_grep "on different filesystems" "$TMP/err2"
}

t_guards() {
  # holding_keep shorter than a folder's period never prunes this run's folder
  sed 's/^holding_keep = 6y$/holding_keep = 1h/' "$TMP/rotator.conf" >"$TMP/short.conf"
  echo v9 >"$C/Documents/novel.txt.tmp" && mv "$C/Documents/novel.txt.tmp" "$C/Documents/novel.txt"
  "$ROTATOR" -c "$TMP/short.conf" --now 2027-01-03T12:00 weekly
  [ "$(cat "$H/2027-01-03/Documents/novel.txt")" = v4 ]
  # a clock behind the newest folder prunes nothing (warning, exit 2)
  mkdir -p "$H/2030-01-01"
  expect_exit 2 R --now 2027-01-10T12:00 weekly 2>"$TMP/err"
  expect_grep 'the clock looks wrong, holding not pruned' "$TMP/err"
  [ -d "$H/2027-01-03" ] && rmdir "$H/2030-01-01"
  # an empty from (unmounted clone) is refused; the backup stays
  mv "$C" "$TMP/clone.full" && mkdir "$C"
  expect_exit 1 R --now 2027-01-17T12:00 weekly 2>"$TMP/err"
  expect_grep "is empty (unmounted?); refusing" "$TMP/err"
  [ -f "$B/Documents/novel.txt" ]
  rmdir "$C" && mv "$TMP/clone.full" "$C"
}

t_dry_run_before_the_first_backup() {
  sed 's|^path = backup$|path = backup-new|; s|^holding = holding$|holding = holding-new|' "$TMP/rotator.conf" >"$TMP/new.conf"
  "$ROTATOR" -c "$TMP/new.conf" -n weekly >"$TMP/plan"
  expect_grep '^mkdir \.$' "$TMP/plan"
  expect_grep '^link Documents/novel.txt$' "$TMP/plan"
  [ ! -e "$TMP/root/backup-new" ]
  [ ! -e "$TMP/root/holding-new" ]
}

t_old_versions_are_found() {
  ls "$H"/*/Documents/novel.txt >"$TMP/versions"
  [ "$(wc -l <"$TMP/versions")" -eq 3 ]
}

t_overlap_through_symlink_refused() {
  # holding names the clone's own .holding through a symlink to root: the
  # clone's rsync --delete would wipe every archived version.
  ln -s "$TMP/root" "$TMP/rootlink"
  sed "s|^holding = holding$|holding = $TMP/rootlink/clone/.holding|" "$TMP/rotator.conf" >"$TMP/overlap.conf"
  before=$(tree "$TMP/root")
  expect_exit 1 "$ROTATOR" -c "$TMP/overlap.conf" check 2>"$TMP/err"
  expect_grep "overlap.conf:12: \[backup\] holding '$TMP/rootlink/clone/.holding' is inside \[backup\] from '$TMP/root/clone' (really '.*/root/clone/.holding'" "$TMP/err"
  expect_exit 1 "$ROTATOR" -c "$TMP/overlap.conf" --now 2026-12-20T03:00 weekly 2>"$TMP/err"
  expect_grep "is inside \[backup\] from" "$TMP/err"
  [ "$before" = "$(tree "$TMP/root")" ] || fail "the refused run changed the tree"
  rm "$TMP/rootlink"
}

setup
test_case "first run hard-links every selected entry; nothing held" t_first_run_links_selected
test_case "changed, deleted and whole-dir entries move to holding/DATE (same inodes)" t_changes_go_to_holding
test_case "a newly excluded entry moves to holding" t_newly_excluded_goes_to_holding
test_case "a rerun without changes changes nothing, makes no folder" t_rerun_without_changes_changes_nothing
test_case "a second run on the same date uses DATE.1" t_second_run_same_date_uses_new_folder
test_case "-n prints the plan and changes nothing, byte for byte" t_dry_run_is_byte_for_byte_inert
test_case "holding folders older than holding_keep are pruned; others never" t_holding_pruned_by_age_after_success
test_case "a failed run (bad filter, missing from) prunes nothing" t_failed_run_prunes_nothing
test_case "from/path/holding on two filesystems is a config error" t_other_filesystem_is_a_config_error
test_case "every displaced version of a file is under holding/*/path" t_old_versions_are_found
test_case "guards: today's folder, a clock behind holding, an empty from" t_guards
test_case "-n before the first backup prints the plan, creates nothing" t_dry_run_before_the_first_backup
test_case "a holding inside the clone through a symlink is refused at check and at run" t_overlap_through_symlink_refused
[ "$nfail" -eq 0 ]
