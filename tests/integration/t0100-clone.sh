#!/bin/sh
# The daily clone job end to end: real rsync, real filesystem, real flock.
. "$(dirname "$0")/lib.sh"

setup() {
  mkdir -p "$TMP/src/docs/deep" "$TMP/root"
  echo one >"$TMP/src/docs/a.txt"
  echo two >"$TMP/src/docs/deep/b.txt"
  echo three >"$TMP/src/top.txt"
  ln -s top.txt "$TMP/src/link"
  write_conf "$CONF" "$TMP/root" "$TMP/src/" </dev/null
}

t_first_clone() {
  R daily
  cmp "$TMP/src/docs/deep/b.txt" "$TMP/root/clone/docs/deep/b.txt"
  [ "$(readlink "$TMP/root/clone/link")" = top.txt ]
  [ -f "$TMP/root/.rotator/state/clone.state" ]
  grep -q '^last_result=ok$' "$TMP/root/.rotator/state/clone.state"
}

t_second_run_after_changes() {
  echo changed >"$TMP/src/top.txt"
  rm "$TMP/src/docs/a.txt"
  echo new >"$TMP/src/new.txt"
  R -v daily 2>"$TMP/err"
  [ "$(cat "$TMP/root/clone/top.txt")" = changed ]
  [ ! -e "$TMP/root/clone/docs/a.txt" ]
  [ -f "$TMP/root/clone/new.txt" ]
  expect_grep '\[clone\] ok: refreshed from' "$TMP/err"
}

t_dry_run_changes_nothing() {
  echo again >"$TMP/src/top.txt"
  before=$(ls -liR "$TMP/root/clone")
  R -n daily >"$TMP/plan"
  expect_grep 'update top.txt' "$TMP/plan"
  [ "$before" = "$(ls -liR "$TMP/root/clone")" ]
  [ "$(cat "$TMP/root/clone/top.txt")" = changed ]
  R daily
}

t_inplace_refused() {
  sed 's/^path = clone$/path = clone\nrsync_args = --inplace/' "$CONF" >"$TMP/inplace.conf"
  expect_exit 1 "$ROTATOR" -c "$TMP/inplace.conf" daily 2>"$TMP/err"
  expect_grep "inplace.conf:10: rsync_args: '--inplace' updates files in place" "$TMP/err"
  expect_exit 1 "$ROTATOR" -c "$TMP/inplace.conf" check
}

t_write_devices_refused_and_no_inplace_last() {
  sed 's/^path = clone$/path = clone\nrsync_args = --write-devices/' "$CONF" >"$TMP/wd.conf"
  expect_exit 1 "$ROTATOR" -c "$TMP/wd.conf" daily 2>"$TMP/err"
  expect_grep "wd.conf:10: rsync_args: '--write-devices' updates files in place (it implies --inplace)" "$TMP/err"
  expect_exit 1 "$ROTATOR" -c "$TMP/wd.conf" check
  # Every rsync rotator runs gets --no-inplace after the user's arguments.
  cat >"$TMP/rsync-argv" <<SH
#!/bin/sh
printf '%s\n' "\$*" >>"$TMP/argv.log"
exec rsync "\$@"
SH
  chmod +x "$TMP/rsync-argv"
  : >"$TMP/argv.log"
  sed -e "s|^timezone = UTC$|timezone = UTC\nrsync = $TMP/rsync-argv|" \
      -e 's/^path = clone$/path = clone\nrsync_args = --one-file-system/' "$CONF" >"$TMP/argv.conf"
  echo shared >"$TMP/src/shared.txt"
  "$ROTATOR" -c "$TMP/argv.conf" daily
  [ "$(wc -l <"$TMP/argv.log")" -eq 2 ] || fail "expected 2 rsync runs: $(cat "$TMP/argv.log")"
  while read -r line; do
    case "$line" in *"--one-file-system --no-inplace "*) ;; *) fail "no --no-inplace after rsync_args: $line";; esac
  done <"$TMP/argv.log"
  # A file shared with a hard link elsewhere (as a backup shares it) keeps
  # its old content when the source changes: rsync wrote a new inode.
  ln "$TMP/root/clone/shared.txt" "$TMP/shared-link"
  echo changed-shared >"$TMP/src/shared.txt"
  touch -d '2001-01-01' "$TMP/src/shared.txt"
  "$ROTATOR" -c "$TMP/argv.conf" daily
  [ "$(cat "$TMP/shared-link")" = shared ]
  [ "$(cat "$TMP/root/clone/shared.txt")" = changed-shared ]
  rm "$TMP/src/shared.txt" "$TMP/shared-link"
  R daily
}

t_empty_source_refused() {
  mkdir -p "$TMP/empty"
  sed "s|^source = .*|source = $TMP/empty/|" "$CONF" >"$TMP/empty.conf"
  before=$(ls -liR "$TMP/root/clone")
  expect_exit 1 "$ROTATOR" -c "$TMP/empty.conf" daily 2>"$TMP/err"
  expect_grep "yields no files" "$TMP/err"
  [ "$before" = "$(ls -liR "$TMP/root/clone")" ]
  grep -q '^last_result=error$' "$TMP/root/.rotator/state/clone.state"
  R daily   # back to a good state
}

t_max_delete_refused() {
  mkdir -p "$TMP/few"
  echo only >"$TMP/few/top.txt"
  sed "s|^source = .*|source = $TMP/few/|" "$CONF" >"$TMP/few.conf"
  before=$(ls -liR "$TMP/root/clone")
  expect_exit 1 "$ROTATOR" -c "$TMP/few.conf" daily 2>"$TMP/err"
  expect_grep "rsync would delete 5 of the 6 entries" "$TMP/err"
  expect_grep "max_delete 50%" "$TMP/err"
  [ "$before" = "$(ls -liR "$TMP/root/clone")" ]
  printf 'max_delete = 90%%\n' >>"$TMP/few.conf"
  "$ROTATOR" -c "$TMP/few.conf" daily
  [ ! -e "$TMP/root/clone/docs" ]
  R daily
}

t_source_vanishing_after_the_check() {
  # The source is complete for rsync's dry run, then "unmounted" (empty)
  # for the real transfer: rsync's own --max-delete stops it.
  mkdir -p "$TMP/vanish-empty"
  cat >"$TMP/rsync-vanish" <<SH
#!/bin/sh
case " \$* " in *" -n "*) exec rsync "\$@";; esac
for a; do last2=\$last1; last1=\$a; done
n=0; for a; do n=\$((n+1)); done
i=0; set -- "\$@"; out=""
for a; do i=\$((i+1)); if [ \$i -eq \$((n-1)) ]; then a="$TMP/vanish-empty/"; fi; out="\$out '\$a'"; done
eval exec rsync \$out
SH
  chmod +x "$TMP/rsync-vanish"
  sed "s|^timezone = UTC$|timezone = UTC\nrsync = $TMP/rsync-vanish|" "$CONF" >"$TMP/vanish.conf"
  before=$(find "$TMP/root/clone" | wc -l)
  expect_exit 1 "$ROTATOR" -c "$TMP/vanish.conf" daily 2>"$TMP/err"
  expect_grep 'rsync stopped at the deletion limit' "$TMP/err"
  after=$(find "$TMP/root/clone" | wc -l)
  [ "$after" -ge $((before / 2)) ] || fail "clone went from $before to $after entries"
  R daily
}

t_concurrent_run_refused() {
  have flock || skip_inside "flock(1) is not installed"
  # Hold the lock as another rotator would (a real flock on the same file).
  # Handshake instead of a race: the holder creates `ready` once it has the
  # lock, and keeps it until `release` exists (at most 20 s).
  rm -f "$TMP/ready" "$TMP/release"
  flock "$TMP/root/.rotator/lock" sh -c '
    : >"$1"
    n=0
    while [ ! -e "$2" ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n + 1)); done
  ' holder "$TMP/ready" "$TMP/release" &
  holder=$!
  n=0
  while [ ! -e "$TMP/ready" ]; do
    [ $n -lt 400 ] || fail "the lock holder did not start"
    sleep 0.05; n=$((n + 1))
  done
  expect_exit 1 R daily 2>"$TMP/err"
  # The holder is flock(1), not the rotator run that last wrote the file.
  expect_grep "another process holds the lock '$TMP/root/.rotator/lock': pid $holder (flock " "$TMP/err"
  # --wait=10 waits for the holder (released in a second), then runs.
  ( sleep 1; : >"$TMP/release" ) &
  R --wait=10 daily
  wait $holder
}

t_dry_run_holder_named_with_n() {
  # A real `rotator -n daily` holds the lock (its rsync waits for `release`):
  # a second run names it with its -n, and its pid.
  rm -f "$TMP/ready" "$TMP/release"
  cat >"$TMP/slow-rsync" <<SCRIPT
#!/bin/sh
: >"$TMP/ready"
n=0
while [ ! -e "$TMP/release" ] && [ \$n -lt 400 ]; do sleep 0.05; n=\$((n + 1)); done
exec rsync "\$@"
SCRIPT
  chmod +x "$TMP/slow-rsync"
  sed "s|^timezone = UTC\$|timezone = UTC\nrsync = $TMP/slow-rsync|" "$CONF" >"$TMP/slow.conf"
  "$ROTATOR" -c "$TMP/slow.conf" -n daily >/dev/null 2>&1 &
  dry=$!
  n=0
  while [ ! -e "$TMP/ready" ]; do
    [ $n -lt 400 ] || fail "the dry run did not start"
    sleep 0.05; n=$((n + 1))
  done
  expect_exit 1 R daily 2>"$TMP/err"
  : >"$TMP/release"
  wait $dry
  expect_grep "another rotator run holds the lock '$TMP/root/.rotator/lock': pid $dry (rotator -n daily) since " "$TMP/err"
  # The finished run took its holder text with it.
  [ ! -s "$TMP/root/.rotator/lock" ] || fail "lock file still names its last holder"
}

t_status_before_after_overdue() {
  write_conf "$TMP/fresh.conf" "$TMP/root2" "$TMP/src/" </dev/null
  mkdir -p "$TMP/root2"
  expect_exit 1 "$ROTATOR" -c "$TMP/fresh.conf" status >"$TMP/st"
  expect_grep 'never run' "$TMP/st"
  "$ROTATOR" -c "$TMP/fresh.conf" --now 2026-11-01T02:00 daily
  "$ROTATOR" -c "$TMP/fresh.conf" --now 2026-11-01T20:00 status >"$TMP/st"
  expect_grep 'clone .* ok$' "$TMP/st"
  "$ROTATOR" -c "$TMP/fresh.conf" --now 2026-11-01T20:00:30 status --json >"$TMP/st.json"
  expect_grep '"ok": true' "$TMP/st.json"
  expect_grep '"age_seconds": 64830' "$TMP/st.json"
  expect_exit 1 "$ROTATOR" -c "$TMP/fresh.conf" --now 2026-11-03T02:00 status >"$TMP/st"
  expect_grep 'overdue: last success 2d ago (max_age 1d 12h)' "$TMP/st"
  "$ROTATOR" -c "$TMP/fresh.conf" --now 2026-11-03T02:00 status --json >"$TMP/st.json" || true
  expect_grep '"overdue": true' "$TMP/st.json"
  python3 -c "import json,sys; d=json.load(open('$TMP/st.json')); assert d['ok'] is False and d['jobs'][0]['max_age_seconds']==129600" 2>/dev/null || ! have python3
}

t_rsync_exit_codes() {
  # A wrapper around the real rsync that runs it, then reports the code a
  # real run would give for vanished (24) or partial (23) transfers.
  for code in 24 23 12; do
    cat >"$TMP/rsync-$code" <<SH
#!/bin/sh
rsync "\$@"
rc=\$?
case " \$* " in *" -n "*) exit \$rc;; esac
echo "rsync: simulated exit $code" >&2
exit $code
SH
    chmod +x "$TMP/rsync-$code"
    sed "s|^timezone = UTC$|timezone = UTC\nrsync = $TMP/rsync-$code|" "$CONF" >"$TMP/rc$code.conf"
  done
  expect_exit 2 "$ROTATOR" -c "$TMP/rc24.conf" daily 2>"$TMP/err"
  expect_grep 'vanished' "$TMP/err"
  grep -q '^last_result=warning$' "$TMP/root/.rotator/state/clone.state"
  expect_exit 2 "$ROTATOR" -c "$TMP/rc23.conf" daily 2>"$TMP/err"
  expect_grep 'partial transfer' "$TMP/err"
  grep -q '^last_result=partial$' "$TMP/root/.rotator/state/clone.state"
  expect_exit 1 "$ROTATOR" -c "$TMP/rc12.conf" daily 2>"$TMP/err"
  expect_grep 'rsync failed (exit 12): rsync: simulated exit 12' "$TMP/err"
  grep -q '^last_result=error$' "$TMP/root/.rotator/state/clone.state"
  R daily
}

t_pre_exec_failure_skips_job() {
  cp "$CONF" "$TMP/pre.conf"
  printf 'pre_exec = false\n' >>"$TMP/pre.conf"
  echo skipped >"$TMP/src/top.txt"
  expect_exit 1 "$ROTATOR" -c "$TMP/pre.conf" daily 2>"$TMP/err"
  expect_grep "pre_exec 'false' failed (exit 1); job skipped" "$TMP/err"
  [ "$(cat "$TMP/root/clone/top.txt")" != skipped ]
  cp "$CONF" "$TMP/post.conf"
  printf "post_exec = sh -c 'touch %s/post-ran'\n" "$TMP" >>"$TMP/post.conf"
  "$ROTATOR" -c "$TMP/post.conf" daily
  [ -e "$TMP/post-ran" ]
}

t_unknown_level_lists_known() {
  expect_exit 1 R hourly 2>"$TMP/err"
  expect_grep "unknown level or command 'hourly' (levels: daily; commands: check, status" "$TMP/err"
}

t_check_and_help() {
  R check >"$TMP/out"
  expect_grep '^config OK$' "$TMP/out"
  "$ROTATOR" --help >"$TMP/out"
  expect_grep '^usage: rotator' "$TMP/out"
  "$ROTATOR" --version >"$TMP/out"
  expect_grep '^rotator [0-9]' "$TMP/out"
  ROTATOR_CONF="$CONF" "$ROTATOR" check >"$TMP/out"
  expect_grep '^config OK$' "$TMP/out"
  sed "s|^root = .*|root = $TMP/missing-root|" "$CONF" >"$TMP/noroot.conf"
  expect_exit 1 "$ROTATOR" -c "$TMP/noroot.conf" check 2>"$TMP/err"
  expect_grep "never creates it" "$TMP/err"
  expect_exit 1 "$ROTATOR" -c "$TMP/noroot.conf" daily 2>"$TMP/err"
  [ ! -e "$TMP/missing-root" ]
}

t_options_after_command_and_symlinked_root() {
  "$ROTATOR" daily -c "$CONF" --now 2026-11-01T02:00 -q
  "$ROTATOR" status -c "$CONF" --now=2026-11-01T03:00 --json >"$TMP/st.json"
  expect_grep '"age_seconds": 3600' "$TMP/st.json"
  expect_exit 1 "$ROTATOR" -c "$CONF" --now 2026-10-01T00:00 status >"$TMP/st"
  expect_grep 'in the future: is the clock right?' "$TMP/st"
  ln -s "$TMP/root" "$TMP/root-link"
  sed "s|^root = .*|root = $TMP/root-link|" "$CONF" >"$TMP/link.conf"
  "$ROTATOR" -c "$TMP/link.conf" check >"$TMP/out"
  expect_grep '^config OK$' "$TMP/out"
  "$ROTATOR" -c "$TMP/link.conf" daily
}

t_logfile() {
  sed "s|^timezone = UTC$|timezone = UTC\nlogfile = $TMP/rotator.log|" "$CONF" >"$TMP/log.conf"
  "$ROTATOR" -c "$TMP/log.conf" --now 2026-11-01T02:00 daily
  expect_grep 'rotator\[[0-9]*\]: \[clone\] ok: refreshed' "$TMP/rotator.log"
  expect_grep '^\[20[0-9-]*T[0-9:]*+0000\] rotator' "$TMP/rotator.log"
}

# A separate source and root for the fidelity cases: -H -A -X by default,
# -S through rsync_args.
fid_setup() {
  rm -rf "$TMP/fidsrc" "$TMP/fidroot"
  mkdir -p "$TMP/fidsrc/dir" "$TMP/fidroot"
  echo group >"$TMP/fidsrc/dir/one"
  ln "$TMP/fidsrc/dir/one" "$TMP/fidsrc/dir/two"
  ln "$TMP/fidsrc/dir/one" "$TMP/fidsrc/three"
  echo plain >"$TMP/fidsrc/plain"
  cat >"$TMP/fid.conf" <<CONF
[rotator]
root = $TMP/fidroot
timezone = UTC
rsync = $TMP/rsync-fid

[clone]
type = clone
run_on = daily
source = $TMP/fidsrc/
path = clone
CONF
  cat >"$TMP/rsync-fid" <<SH
#!/bin/sh
printf '%s\n' "\$*" >>"$TMP/fid-argv.log"
exec rsync "\$@"
SH
  chmod +x "$TMP/rsync-fid"
}

t_hard_link_groups_and_xattrs_kept() {
  fid_setup
  have setfattr || skip_inside "setfattr is not installed (attr package; make deps installs it)"
  setfattr -n user.colour -v blue "$TMP/fidsrc/plain"
  setfattr -n user.shape -v round "$TMP/fidsrc/dir"
  : >"$TMP/fid-argv.log"
  "$ROTATOR" -c "$TMP/fid.conf" daily
  while read -r line; do
    case "$line" in "-a -H -A -X --delete --numeric-ids "*) ;; *) fail "no -a -H -A -X: $line";; esac
  done <"$TMP/fid-argv.log"
  C=$TMP/fidroot/clone
  expect_same_inode "$C/dir/one" "$C/dir/two"
  expect_same_inode "$C/dir/one" "$C/three"
  [ "$(stat -c %h "$C/dir/one")" -eq 3 ] || fail "the group has $(stat -c %h "$C/dir/one") links, not 3"
  [ "$(getfattr --only-values -n user.colour "$C/plain")" = blue ]
  [ "$(getfattr --only-values -n user.shape "$C/dir")" = round ]
  "$ROTATOR" -c "$TMP/fid.conf" check >"$TMP/out"
  expect_grep "config OK" "$TMP/out"
}

t_acls_kept() {
  fid_setup
  have setfacl || skip_inside "setfacl is not installed (acl package; make deps installs it)"
  setfacl -m u:nobody:r "$TMP/fidsrc/plain"
  setfacl -d -m g:nogroup:rx "$TMP/fidsrc/dir"
  "$ROTATOR" -c "$TMP/fid.conf" daily
  C=$TMP/fidroot/clone
  getfacl --omit-header "$C/plain" >"$TMP/acl"
  expect_grep "^user:nobody:r--" "$TMP/acl"
  getfacl --omit-header "$C/dir" >"$TMP/acl"
  expect_grep "^default:group:nogroup:r-x" "$TMP/acl"
}

t_sparse_with_S() {
  fid_setup
  truncate -s 8M "$TMP/fidsrc/sparse"
  printf end >>"$TMP/fidsrc/sparse"
  [ "$(stat -c %b "$TMP/fidsrc/sparse")" -lt 1024 ] || skip_inside "this filesystem does not make sparse files"
  sed 's/^path = clone$/path = clone\nrsync_args = -S/' "$TMP/fid.conf" >"$TMP/sparse.conf"
  "$ROTATOR" -c "$TMP/sparse.conf" daily
  cmp "$TMP/fidsrc/sparse" "$TMP/fidroot/clone/sparse"
  blocks=$(stat -c %b "$TMP/fidroot/clone/sparse")
  [ "$blocks" -lt 1024 ] || fail "the clone's copy is not sparse: $blocks blocks"
}

setup
test_case "first clone copies the source" t_first_clone
test_case "second run applies changes and logs a summary" t_second_run_after_changes
test_case "-n runs rsync -n and changes nothing" t_dry_run_changes_nothing
test_case "--inplace in rsync_args is a config error" t_inplace_refused
test_case "--write-devices is refused; --no-inplace follows rsync_args" t_write_devices_refused_and_no_inplace_last
test_case "an empty source is refused and the clone untouched" t_empty_source_refused
test_case "deleting more than max_delete is refused with the numbers" t_max_delete_refused
test_case "a source that empties between check and transfer is stopped" t_source_vanishing_after_the_check
test_case "a concurrent run is refused; --wait waits" t_concurrent_run_refused
test_case "a dry run holding the lock is named with its -n" t_dry_run_holder_named_with_n
test_case "status before, after and when overdue (--now)" t_status_before_after_overdue
test_case "rsync exit 24 and 23 warn (exit 2), others fail (exit 1)" t_rsync_exit_codes
test_case "a failing pre_exec skips the job; post_exec runs" t_pre_exec_failure_skips_job
test_case "an unknown level lists the known levels" t_unknown_level_lists_known
test_case "check, --help, --version, ROTATOR_CONF, missing root" t_check_and_help
test_case "global options after the command; a symlinked root; a future last success" t_options_after_command_and_symlinked_root
test_case "logfile lines carry time stamp and pid" t_logfile
test_case "-H -A -X by default: a hard-link group stays one group, xattrs survive" t_hard_link_groups_and_xattrs_kept
test_case "ACLs (access and default) survive the clone" t_acls_kept
test_case "a sparse file stays sparse with -S in rsync_args" t_sparse_with_S
[ "$nfail" -eq 0 ]
