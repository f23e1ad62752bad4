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
t_readme_quick_start() {
  grep -q '^make demo' "$top/README.md" && grep -q '^make check' "$top/README.md"
  grep -q 'make deps' "$top/.ci/run" && grep -q 'make DEVELOPER=1 check' "$top/.ci/run"
}

if have mandoc; then test_case "man pages are mandoc -Tlint clean" t_mandoc_clean
else skip_case "man pages are mandoc -Tlint clean" "mandoc not installed"; fi
if have mandoc; then test_case "no filesystem call bypasses the Fs seam" t_seam
else skip_case "no filesystem call bypasses the Fs seam" "make lint needs mandoc"; fi
test_case "every command and exit code is documented" t_commands_documented
test_case "README quick start and .ci/run use the same commands" t_readme_quick_start
[ "$nfail" -eq 0 ]
