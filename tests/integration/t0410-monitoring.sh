#!/bin/sh
# Monitoring hooks: the Prometheus textfile (metrics_file) and fail_exec.
. "$(dirname "$0")/lib.sh"

setup() {
  rm -rf "$TMP/root" "$TMP/src" "$TMP/prom"
  mkdir -p "$TMP/root" "$TMP/src/d" "$TMP/prom"
  echo a >"$TMP/src/a"; echo bb >"$TMP/src/d/b"
  cat >"$TMP/rotator.conf" <<CONF
[rotator]
root = $TMP/root
timezone = UTC
metrics_file = $TMP/prom/rotator.prom

[clone]
type = clone
run_on = daily
source = $TMP/src/
path = clone
fail_exec = sh -c 'env | grep ^ROTATOR_ | sort >"$TMP/fail.env"'

[backup]
type = backup
run_on = weekly
from = clone
path = backup
holding = holding
CONF
}

# A strict reader of the text exposition format (used when promtool is not
# installed): HELP and TYPE before the samples of a family, valid names,
# labels and numbers, no duplicate series. Prints "name{labels} value".
prom_parse() {
  awk '
    function bad(m) { print "prom_parse: line " NR ": " m ": " $0 > "/dev/stderr"; err = 1; exit 1 }
    /^# HELP / { if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) bad("bad HELP name"); help[$3] = 1; next }
    /^# TYPE / {
      if ($3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) bad("bad TYPE name")
      if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/ || NF != 4) bad("bad TYPE")
      if ($3 in type) bad("second TYPE"); if ($3 in seen) bad("TYPE after samples")
      type[$3] = $4; next }
    /^#/ { next }
    /^$/ { bad("empty line") }
    {
      if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) bad("bad metric name")
      name = substr($0, 1, RLENGTH); rest = substr($0, RLENGTH + 1)
      labels = ""
      if (substr(rest, 1, 1) == "{") {
        if (!match(rest, /^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\}/)) bad("bad labels")
        labels = substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1)
      }
      if (rest !~ /^ (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)( -?[0-9]+)?$/) bad("bad value")
      if (!(name in type) || !(name in help)) bad("sample without HELP/TYPE")
      if ((name labels) in series) bad("duplicate series")
      series[name labels] = 1; seen[name] = 1
      print name labels rest
    }' "$1"
}

check_prom() { # check_prom FILE: promtool when installed, plus the strict parser
  if have promtool; then promtool check metrics <"$1" || fail "promtool check metrics failed"; fi
  prom_parse "$1" >"$TMP/samples" || fail "not valid exposition format"
}

t_metrics_after_run_and_status() {
  setup
  R --now 2026-11-01T01:30 daily 2>/dev/null
  f="$TMP/prom/rotator.prom"
  [ -f "$f" ] || fail "no metrics file after a run"
  check_prom "$f"
  t=$(date -u -d 2026-11-01T01:30:00Z +%s)
  grep -qx "rotator_last_run_result{job=\"clone\"} 0" "$TMP/samples" || fail "result"
  grep -Eq "^rotator_last_success_timestamp_seconds\{job=\"clone\"\} ($t|$((t + 1))|$((t + 2)))$" "$TMP/samples" || fail "last success"
  grep -qx "rotator_last_success_timestamp_seconds{job=\"backup\"} 0" "$TMP/samples" || fail "never: 0"
  grep -qx "rotator_last_run_result{job=\"backup\"} -1" "$TMP/samples" || fail "never run: -1"
  grep -qx "rotator_job_overdue{job=\"clone\"} 0" "$TMP/samples" || fail "overdue 0"
  grep -qx "rotator_last_run_entries{job=\"clone\"} 3" "$TMP/samples" || fail "entries (a, d, d/b)"
  grep -qx "rotator_last_run_bytes{job=\"clone\"} 5" "$TMP/samples" || fail "bytes (2 + 3)"
  grep -Eq "^rotator_run_duration_seconds\{job=\"clone\"\} [0-9]+$" "$TMP/samples" || fail "duration"
  grep -qx "rotator_root_ok 1" "$TMP/samples" || fail "root ok"
  # The weekly backup records its entries too.
  R --now 2026-11-01T02:00 weekly 2>/dev/null
  check_prom "$f"
  grep -qx "rotator_last_run_entries{job=\"backup\"} 2" "$TMP/samples" || fail "backup entries"
  # status rewrites it with its own clock: now overdue.
  expect_exit 1 R --now 2026-11-04T08:00 status >/dev/null
  check_prom "$f"
  grep -qx "rotator_job_overdue{job=\"clone\"} 1" "$TMP/samples" || fail "overdue 1 after status"
  grep -qx "rotator_metrics_timestamp_seconds $(date -u -d 2026-11-04T08:00:00Z +%s)" "$TMP/samples" || fail "timestamp"
  # Replaced by rename: nothing else left in the directory.
  [ "$(ls -A "$TMP/prom")" = rotator.prom ] || fail "left over: $(ls -A "$TMP/prom")"
  # A dry run does not write it.
  before=$(cat "$f"); R -n --now 2026-11-05T01:30 daily >/dev/null 2>&1; [ "$before" = "$(cat "$f")" ]
}

t_metrics_root_missing_and_unwritable() {
  setup
  R --now 2026-11-01T01:30 daily 2>/dev/null
  mv "$TMP/root" "$TMP/away"
  expect_exit 1 R --now 2026-11-01T08:00 status >/dev/null
  check_prom "$TMP/prom/rotator.prom"
  grep -qx "rotator_root_ok 0" "$TMP/samples" || fail "root_ok 0"
  mv "$TMP/away" "$TMP/root"
  # An unwritable metrics directory is a warning of the run, exit 2.
  sed -i "s|^metrics_file = .*|metrics_file = $TMP/nodir/rotator.prom|" "$TMP/rotator.conf"
  expect_exit 2 R --now 2026-11-02T01:30 daily 2>"$TMP/err"
  expect_grep "warning: cannot write metrics_file" "$TMP/err"
}

t_fail_exec() {
  setup
  R --now 2026-11-01T01:30 daily 2>/dev/null
  [ ! -e "$TMP/fail.env" ] || fail "fail_exec ran after a success"
  mv "$TMP/src" "$TMP/src.gone"; mkdir "$TMP/src"
  R -n --now 2026-11-02T01:30 daily >/dev/null 2>&1 || true
  [ ! -e "$TMP/fail.env" ] || fail "fail_exec ran in a dry run"
  expect_exit 1 R --now 2026-11-02T01:30 daily 2>"$TMP/err"
  [ -f "$TMP/fail.env" ] || { cat "$TMP/err"; fail "fail_exec did not run"; }
  expect_grep '^ROTATOR_JOB=clone$' "$TMP/fail.env"
  expect_grep '^ROTATOR_RESULT=error$' "$TMP/fail.env"
  expect_grep '^ROTATOR_MESSAGE=.*yields no files' "$TMP/fail.env"
  # A job skipped because its source failed also calls its fail_exec: the
  # backup has none, so only the clone's ran (one file, one job).
  rm "$TMP/fail.env"
  sed -i "s|^fail_exec = .*|fail_exec = false|" "$TMP/rotator.conf"
  expect_exit 1 R --now 2026-11-02T02:30 daily 2>"$TMP/err"
  expect_grep "fail_exec 'false' failed (exit 1)" "$TMP/err"
  rm -rf "$TMP/src"; mv "$TMP/src.gone" "$TMP/src"
}

test_case "metrics_file: valid textfile after every run and status, atomic" t_metrics_after_run_and_status
test_case "metrics_file: root missing, unwritable directory warns" t_metrics_root_missing_and_unwritable
test_case "fail_exec: runs on failure with ROTATOR_JOB/RESULT/MESSAGE" t_fail_exec
[ "$nfail" -eq 0 ]
