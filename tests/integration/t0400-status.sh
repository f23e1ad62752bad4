#!/bin/sh
# `rotator status` as a monitor sees it: JSON that always parses (jq), quiet
# when all is well, loud and non-zero when not.
. "$(dirname "$0")/lib.sh"

conf() { # conf SOURCE: a one-clone config
  write_conf "$CONF" "$TMP/root" "$1" </dev/null
}

# A failed run whose message carries a file name that is not UTF-8 (Latin-1
# e-acute), a control character and a carriage return (newlines: test_util_json).
t_json_any_bytes() {
  have jq || skip_inside "jq not installed"
  mkdir -p "$TMP/root"
  bad=$(printf "$TMP/caf\351\001\rx/")
  conf "$bad"
  expect_exit 1 R daily 2>/dev/null
  expect_exit 1 R status --json >"$TMP/st.json"
  jq -e . "$TMP/st.json" >/dev/null || fail "status --json is not JSON"
  # Raw control bytes never reach the document.
  if LC_ALL=C grep -q "$(printf '[\001\r]')" "$TMP/st.json"; then fail "raw control byte in JSON"; fi
  [ "$(jq -r '.ok' "$TMP/st.json")" = false ]
  msg=$(jq -r '.jobs[0].last_failure_message' "$TMP/st.json")
  case $msg in *"caf$(printf '\357\277\275')"*) ;; *) fail "no U+FFFD in: $msg" ;; esac
  # The _b64 companion carries the exact bytes.
  jq -r '.jobs[0].last_failure_message_b64' "$TMP/st.json" | base64 -d >"$TMP/exact"
  grep -qF "$bad" "$TMP/exact" || fail "exact bytes not in last_failure_message_b64"
  [ "$(jq -r '.jobs[0].name_b64 // "absent"' "$TMP/st.json")" = absent ]
}


# fake_rsync CODE MESSAGE: the real rsync, then exit CODE with MESSAGE on
# stderr (as a real run does for vanished/partial transfers or ssh failures).
fake_rsync() {
  cat >"$TMP/rsync-$1" <<SH
#!/bin/sh
rsync "\$@"
rc=\$?
case " \$* " in *" -n "*) exit \$rc;; esac
printf '%b\n' "$2" >&2
exit $1
SH
  chmod +x "$TMP/rsync-$1"
  sed "s|^timezone = UTC$|timezone = UTC\nrsync = $TMP/rsync-$1|" "$CONF" >"$TMP/rc$1.conf"
}
good_clone() {
  rm -rf "$TMP/root" "$TMP/src"; mkdir -p "$TMP/root" "$TMP/src"; echo a >"$TMP/src/a"
  conf "$TMP/src/"
  R --now 2026-11-01T01:30 daily
}

t_quiet_status() {
  good_clone
  out=$(R -q --now 2026-11-01T08:00 status); rc=$?
  [ "$rc" -eq 0 ] || fail "status -q exit $rc"
  [ -z "$out" ] || fail "status -q printed: $out"
  R --now 2026-11-01T08:00 status | grep -q '^clone .* ok$'
  # Overdue (max_age 36h for daily): its line is printed, exit 1.
  set +e; out=$(R -q --now 2026-11-03T08:00 status); rc=$?; set -e
  [ "$rc" -eq 1 ] || fail "overdue status -q exit $rc"
  printf '%s\n' "$out" | grep -q '^clone .*overdue' || fail "no overdue line: $out"
}

t_root_missing() {
  have jq || skip_inside "jq not installed"
  good_clone
  mv "$TMP/root" "$TMP/unmounted"
  set +e; R --now 2026-11-01T08:00 status >"$TMP/out" 2>&1; rc=$?; set -e
  [ "$rc" -eq 1 ] || fail "exit $rc"
  expect_grep "root '$TMP/root' is missing.*is the backup disk mounted" "$TMP/out"
  if grep -q 'never run' "$TMP/out"; then fail "says never run"; fi
  expect_exit 1 R --now 2026-11-01T08:00 status --json >"$TMP/st.json"
  jq -e '.ok == false and .root_ok == false and (.problem | test("mounted")) and
         (.jobs[0].problem | test("missing"))' "$TMP/st.json" >/dev/null || { cat "$TMP/st.json"; fail "json"; }
  expect_exit 2 R --now 2026-11-01T08:00 status --nagios >"$TMP/nagios"
  expect_grep '^ROTATOR CRITICAL - root .* is missing' "$TMP/nagios"
  # An empty mount point: the jobs say where the state should be.
  mkdir "$TMP/root"
  expect_exit 1 R --now 2026-11-01T08:00 status >"$TMP/out"
  expect_grep "never run (no state directory '$TMP/root/.rotator': is the backup disk mounted?)" "$TMP/out"
  rmdir "$TMP/root"; mv "$TMP/unmounted" "$TMP/root"
}

t_broken_config_json() {
  have jq || skip_inside "jq not installed"
  printf '[rotator]\nroot = %s\nholdng = x\n' "$TMP/root" >"$TMP/broken.conf"
  set +e; "$ROTATOR" -c "$TMP/broken.conf" status --json >"$TMP/st.json" 2>"$TMP/err"; rc=$?; set -e
  [ "$rc" -eq 1 ] || fail "exit $rc"
  jq -e '.ok == false and (.config_error | test("broken.conf:3: unknown key .holdng.")) and .jobs == []' \
    "$TMP/st.json" >/dev/null || { cat "$TMP/st.json"; fail "json"; }
  expect_grep 'broken.conf:3: unknown key' "$TMP/err"
  expect_exit 3 "$ROTATOR" -c "$TMP/broken.conf" status --nagios >"$TMP/nagios" 2>/dev/null
  expect_grep '^ROTATOR UNKNOWN - config error: .*broken.conf:3: unknown key' "$TMP/nagios"
}

t_partial_semantics() {
  have jq || skip_inside "jq not installed"
  good_clone
  fake_rsync 24 "file has vanished: \\\"$TMP/src/gone\\\" (in src)"
  fake_rsync 23 "rsync: send_files failed to open \\\"$TMP/src/locked\\\": Permission denied (13)"
  # 24 counts as a success for the overdue clock.
  expect_exit 2 "$ROTATOR" -c "$TMP/rc24.conf" --now 2026-11-02T01:30 daily 2>/dev/null
  expect_exit 0 R --now 2026-11-03T08:00 status >/dev/null
  # 23: a warning while the last success is recent (exit 2, line under -q) ...
  expect_exit 2 "$ROTATOR" -c "$TMP/rc23.conf" --now 2026-11-03T01:30 daily 2>/dev/null
  set +e; out=$(R -q --now 2026-11-03T08:00 status); rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "partial: status exit $rc"
  printf '%s\n' "$out" | grep -q '^clone .*warning: last run partial' || fail "no warning line: $out"
  expect_exit 2 R --now 2026-11-03T08:00 status --json >"$TMP/st.json"
  jq -e '.jobs[0].severity == "warning" and .jobs[0].overdue == false' "$TMP/st.json" >/dev/null
  expect_exit 1 R --now 2026-11-03T08:00 status --nagios >"$TMP/nagios"
  expect_grep '^ROTATOR WARNING - clone: last run partial' "$TMP/nagios"
  # ... and every night partial again: overdue once the last success is older than max_age.
  expect_exit 2 "$ROTATOR" -c "$TMP/rc23.conf" --now 2026-11-04T01:30 daily 2>/dev/null
  set +e; out=$(R -q --now 2026-11-04T08:00 status); rc=$?; set -e
  [ "$rc" -eq 1 ] || fail "partial past max_age: status exit $rc"
  printf '%s\n' "$out" | grep -q '^clone .*overdue: last success 2d 6h ago.*last run partial' || fail "not overdue: $out"
}

t_controls_escaped() {
  have jq || skip_inside "jq not installed"
  good_clone
  sed "s|^timezone = UTC$|timezone = UTC\nlogfile = $TMP/rotator.log|" "$CONF" >"$TMP/l.conf"
  mv "$TMP/l.conf" "$CONF"
  fake_rsync 12 "ssh: connect to host nas port 22: Connection refused\\r\\033[2K\\rrsync: connection unexpectedly closed"
  expect_exit 1 "$ROTATOR" -c "$TMP/rc12.conf" --now 2026-11-02T01:30 daily 2>"$TMP/err"
  R --now 2026-11-02T08:00 status >"$TMP/table" || true
  R --now 2026-11-02T08:00 status --json >"$TMP/st.json" || true
  cr=$(printf '\r'); esc=$(printf '\033')
  for f in "$TMP/root/.rotator/state/clone.state" "$TMP/rotator.log" "$TMP/err" "$TMP/table" "$TMP/st.json"; do
    if grep -q "[$cr$esc]" "$f"; then cat -v "$f"; fail "raw control character in $f"; fi
  done
  expect_grep 'Connection refused\\r\\x1b\[2K\\rrsync: connection unexpectedly closed' "$TMP/root/.rotator/state/clone.state"
  expect_grep 'Connection refused\\r\\x1b\[2K\\rrsync' "$TMP/rotator.log"
  expect_grep 'Connection refused\\r\\x1b\[2K\\rrsync' "$TMP/table"
  # The JSON carries the exact text (escaped by JSON), read back by jq.
  jq -r '.jobs[0].last_failure_message' "$TMP/st.json" | grep -q "Connection refused$cr$esc\[2K${cr}rsync"
}

# A strict monitoring-plugin parser: one line, STATUS - TEXT | label=value[UOM];warn;crit ...
nagios_parse() { # nagios_parse FILE EXPECTED_STATUS
  [ "$(wc -l <"$1")" -eq 1 ] || fail "not one line: $(cat "$1")"
  line=$(cat "$1")
  printf '%s\n' "$line" | grep -Eq "^ROTATOR $2 - [^|]+( \| ([A-Za-z0-9_.-]+=(U|-?[0-9]+(\.[0-9]+)?(s|us|ms|%|B|KB|MB|TB|c)?);[0-9]*;[0-9]*( |\$))+)?\$" \
    || fail "not a valid plugin line for $2: $line"
}

t_nagios() {
  good_clone
  expect_exit 0 R --now 2026-11-01T08:00 status --nagios >"$TMP/n"
  nagios_parse "$TMP/n" OK
  expect_grep '^ROTATOR OK - 1 job ok | age_clone=23400s;129600;259200$' "$TMP/n"
  expect_exit 1 R --now 2026-11-03T08:00 status --nagios >"$TMP/n"   # 54h > 36h
  nagios_parse "$TMP/n" WARNING
  expect_grep 'clone: overdue' "$TMP/n"
  expect_exit 2 R --now 2026-11-05T08:00 status --nagios >"$TMP/n"   # 102h > 72h
  nagios_parse "$TMP/n" CRITICAL
  fake_rsync 12 "rsync: failed | with a pipe"
  expect_exit 1 "$ROTATOR" -c "$TMP/rc12.conf" --now 2026-11-01T09:00 daily 2>/dev/null
  expect_exit 2 R --now 2026-11-01T10:00 status --nagios >"$TMP/n"
  nagios_parse "$TMP/n" CRITICAL
  expect_grep 'clone: last run error: .*failed / with a pipe' "$TMP/n"
}

t_unused_level() {
  good_clone
  expect_exit 1 R monthly 2>"$TMP/err"
  expect_grep "unknown level or command 'monthly' (levels: daily; commands: check, .*); no job in '$TMP/rotator.conf' uses level 'monthly'" "$TMP/err"
}

test_case "status --json: invalid UTF-8 and control characters stay valid JSON with _b64" t_json_any_bytes
test_case "status -q: silent and exit 0 when all is well, overdue job printed" t_quiet_status
test_case "status: root missing or unmounted says so, exit 1, in --json too" t_root_missing
test_case "status --json / --nagios with a broken config: ok false + the config error" t_broken_config_json
test_case "partial runs: 24 counts as success, 23 warns then becomes overdue" t_partial_semantics
test_case "control characters escaped in state file, log, stderr, table and JSON" t_controls_escaped
test_case "status --nagios: plugin line, perfdata, exit 0/1/2" t_nagios
test_case "a level no job uses: error names the config's levels" t_unused_level
[ "$nfail" -eq 0 ]
