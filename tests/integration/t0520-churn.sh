#!/bin/sh
# The link-efficiency guard: a clone run that gives most of the clone's
# files new inodes warns (exit 2); status (exit 2, -q, --nagios WARNING,
# --json) shows it until the next normal run.
. "$(dirname "$0")/lib.sh"
SRC="$TMP/src"
setup() {
  mkdir -p "$SRC" "$TMP/root"
  i=0; while [ $i -lt 150 ]; do echo "file $i" >"$SRC/f$i"; i=$((i + 1)); done
  touch -d '2026-01-01 00:00' "$SRC"/f*
  write_conf "$CONF" "$TMP/root" "$SRC/" </dev/null
  R --now 2026-11-01T02:00 daily 2>/dev/null
}
t_churn_warns() {
  touch -d '2026-02-01 00:00' "$SRC"/f*   # every file "changed": rsync rewrites them all
  expect_exit 2 R --now 2026-11-02T02:00 daily 2>"$TMP/err"
  expect_grep '100% of the clone.s files (150 of 150) got a new inode (churn_warn 30%)' "$TMP/err"
  expect_grep 'likely causes' "$TMP/err"
  # Loud in every monitoring output: status exits 2, -q prints the line,
  # the Nagios plugin says WARNING (exit 1), the JSON is not ok.
  expect_exit 2 R --now 2026-11-02T03:00 status >"$TMP/st"
  expect_grep '^clone .*warning: 100% of the clone' "$TMP/st"
  expect_exit 2 R -q --now 2026-11-02T03:00 status >"$TMP/st-q"
  expect_grep '^clone .*warning: 100% of the clone' "$TMP/st-q"
  expect_exit 1 R --now 2026-11-02T03:00 status --nagios >"$TMP/st.nagios"
  expect_grep '^ROTATOR WARNING - clone: 100% of the clone.s files (150 of 150) got a new inode' "$TMP/st.nagios"
  expect_exit 2 R --now 2026-11-02T03:00 status --json >"$TMP/st.json"
  expect_grep '"churn_warning": "100% of the clone' "$TMP/st.json"
  expect_grep '"severity": "warning"' "$TMP/st.json"
  # A failed clone run keeps it (the failure is the louder problem meanwhile).
  mv "$SRC" "$SRC.away" && mkdir "$SRC"
  expect_exit 1 R --now 2026-11-02T04:00 daily 2>/dev/null
  rmdir "$SRC" && mv "$SRC.away" "$SRC"
  R --now 2026-11-02T05:00 status --json >"$TMP/st-failed.json" || true
  expect_grep '"churn_warning": "100% of the clone' "$TMP/st-failed.json"
  # The next normal run clears it.
  R --now 2026-11-03T02:00 daily 2>/dev/null
  expect_exit 0 R --now 2026-11-03T03:00 status >"$TMP/st2"
  ! grep -q 'warning:' "$TMP/st2" || fail "warning not cleared"
  expect_exit 0 R --now 2026-11-03T03:00 status --nagios >"$TMP/st2.nagios"
  expect_grep '^ROTATOR OK - 1 job ok' "$TMP/st2.nagios"
  R --now 2026-11-03T03:00 status --json | grep -q '"churn_warning": null'
}
t_below_threshold_and_none() {
  touch -d '2026-03-01 00:00' "$SRC"/f1 "$SRC"/f2*   # 12 of 150
  R --now 2026-11-04T02:00 daily 2>/dev/null
  sed -i 's/^path = clone$/path = clone\nchurn_warn = none/' "$CONF"
  touch -d '2026-04-01 00:00' "$SRC"/f*
  R --now 2026-11-05T02:00 daily 2>/dev/null
  sed -i 's/^churn_warn = none$/churn_warn = 5x/' "$CONF"
  expect_exit 1 R check 2>"$TMP/err"
  expect_grep "churn_warn: bad value '5x' (expected a percentage such as 30%, or none)" "$TMP/err"
}
setup
test_case "clone run above churn_warn: exit 2, share and causes, shown by status until the next run" t_churn_warns
test_case "below churn_warn, churn_warn = none, a bad value" t_below_threshold_and_none
[ "$nfail" -eq 0 ]
