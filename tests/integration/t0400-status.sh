#!/bin/sh
# `rotator status` as a monitor sees it: JSON that always parses (jq), quiet
# when all is well, loud and non-zero when not.
. "$(dirname "$0")/lib.sh"

conf() { # conf SOURCE: a one-clone config
  cat >"$TMP/rotator.conf" <<CONF
[rotator]
root = $TMP/root
timezone = UTC

[clone]
type = clone
run_on = daily
source = $1
path = clone
CONF
}
R() { "$ROTATOR" -c "$TMP/rotator.conf" "$@"; }

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

test_case "status --json: invalid UTF-8 and control characters stay valid JSON with _b64" t_json_any_bytes
[ "$nfail" -eq 0 ]
