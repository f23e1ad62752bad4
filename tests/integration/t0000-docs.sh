#!/bin/sh
# Documentation and code hygiene: man pages lint-clean, the Fs seam respected,
# every command and exit code documented.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

t_mandoc_clean() {
  out=$(mandoc -Tlint -W warning "$top/man/rotator.1" "$top/man/rotator.conf.5" 2>&1)
  [ -z "$out" ] || fail "mandoc -Tlint: $out"
}
t_seam() { make -s -C "$top" lint >/dev/null; }
t_commands_documented() {
  for cmd in check status $(grep -o '{"[a-z]*", cmd_[a-z]*' "$top/src/cli/commands.cpp" | sed 's/{"\([a-z]*\)".*/\1/'); do
    grep -q "^\.It Cm $cmd" "$top/man/rotator.1" || fail "command '$cmd' not in rotator.1"
    "$ROTATOR" --help | grep -q "^  $cmd" || fail "command '$cmd' not in --help"
  done
  for code in 0 1 2; do
    grep -q "^\.It $code\$" "$top/man/rotator.1" || fail "exit code $code not in rotator.1"
  done
}
# The rendered-text check catches what -Tlint does not: quoting macros that
# swallow each other, and a closing bracket moved outside a quote.
t_rendered_quotes() {
  "$top/tests/lint-man-render" "$top/man/rotator.1" "$top/man/rotator.conf.5"
  printf '.Dd x\n.Dt T 1\n.Os\n.Sh NAME\n.Nm t\n.Nd t\n.Sh DESCRIPTION\nkeys\n.Pq Ql now , Ql ok , Ql jobs ;\n' >"$TMP/nested.1"
  printf '.Dd x\n.Dt T 1\n.Os\n.Sh NAME\n.Nm t\n.Nd t\n.Sh DESCRIPTION\nuse\n.Ql rotator daily || [ $? -eq 2 ]\nhere.\n' >"$TMP/bracket.1"
  for page in nested bracket; do
    mandoc -Tlint "$TMP/$page.1" >/dev/null 2>&1 || true
    if "$top/tests/lint-man-render" "$TMP/$page.1" 2>"$TMP/$page.err"; then fail "$page.1 passed"; fi
    expect_grep 'rendered text' "$TMP/$page.err"
  done
}
# Every key of the configuration's key table is described in rotator.conf(5)
# and shown in the sample configuration.
t_keys_documented() {
  keys=$(grep -ho '{"[a-z_]*", Scope::' "$top"/src/config/*.cpp | sed 's/{"\([a-z_]*\)".*/\1/')
  [ -n "$keys" ] || fail "no keys found in src/config"
  for key in $keys; do
    grep -q "^\.It Cm $key\( \|\$\)" "$top/man/rotator.conf.5" || fail "key '$key' not described in rotator.conf.5"
    grep -q "^;\{0,1\}$key *=" "$top/etc/rotator.conf" || fail "key '$key' not in etc/rotator.conf"
  done
  for key in protect_metadata; do
    grep -q "\b$key\b" "$top/man/rotator.1" || fail "key '$key' not in rotator.1"
    grep -q "\b$key\b" "$top/README.md" || fail "key '$key' not in README.md"
  done
}
t_readme_quick_start() {
  grep -q '^make demo' "$top/README.md" && grep -q '^make check' "$top/README.md"
  grep -q 'make deps' "$top/.ci/run" && grep -q 'make DEVELOPER=1 check' "$top/.ci/run"
}

if have mandoc; then test_case "man pages are mandoc -Tlint clean" t_mandoc_clean
else skip_case "man pages are mandoc -Tlint clean" "mandoc not installed"; fi
if have mandoc; then test_case "no filesystem call bypasses the Fs seam" t_seam
else skip_case "no filesystem call bypasses the Fs seam" "make lint needs mandoc"; fi
test_case "every command and exit code is documented" t_commands_documented
if have mandoc; then test_case "rendered man pages: quotes and brackets balanced" t_rendered_quotes
else skip_case "rendered man pages: quotes and brackets balanced" "mandoc not installed"; fi
test_case "every config key is in rotator.conf(5) and etc/rotator.conf" t_keys_documented
test_case "README quick start and .ci/run use the same commands" t_readme_quick_start
[ "$nfail" -eq 0 ]
