#!/bin/sh
# systemd units (systemd-analyze verify), the journal log format, and bash
# completion (through bash -i, complete -p and the completion function).
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

conf() {
  mkdir -p "$TMP/root" "$TMP/src"; echo a >"$TMP/src/a"
  cat >"$TMP/rotator.conf" <<CONF
[rotator]
root = $TMP/root
timezone = UTC
logfile = $TMP/rotator.log

[clone]
type = clone
run_on = daily
source = $TMP/src/
path = clone

[snaps]
type = snapshot
from = clone
path = snaps
naming = rotate
keep = daily:3 weekly:2 monthly:2

[archive]
type = backup
run_on = yearly
from = clone
path = archive
holding = holding
CONF
}

t_units_verify() {
  have systemd-analyze || skip_inside "systemd-analyze not installed (Debian package systemd)"
  make -s -C "$top" install PREFIX=/usr DESTDIR="$TMP/st" >/dev/null
  u="$TMP/st/lib/systemd/system"
  grep -qx 'ExecStart=/usr/bin/rotator %i' "$u/rotator@.service" || fail "ExecStart"
  grep -qx 'SuccessExitStatus=2' "$u/rotator@.service"
  grep -qx 'Type=oneshot' "$u/rotator@.service"
  grep -qx 'ProtectSystem=strict' "$u/rotator@.service"
  grep -q '^ReadWritePaths=' "$u/rotator@.service"
  grep -qx 'IOSchedulingClass=idle' "$u/rotator@.service"
  for l in daily weekly monthly; do
    grep -qx 'Persistent=true' "$u/rotator-$l.timer" || fail "$l: not Persistent"
    grep -qx "Unit=rotator@$l.service" "$u/rotator-$l.timer" || fail "$l: Unit"
  done
  # Higher levels first: on the 1st monthly (00:30) < weekly (01:00) < daily (01:30),
  # and when they fire together at boot the drop-ins order them.
  grep -qx 'OnCalendar=\*-\*-01 00:30:00' "$u/rotator-monthly.timer"
  grep -qx 'OnCalendar=Mon \*-\*-\* 01:00:00' "$u/rotator-weekly.timer"
  grep -qx 'OnCalendar=\*-\*-\* 01:30:00' "$u/rotator-daily.timer"
  grep -qx 'After=rotator@weekly.service rotator@monthly.service' "$u/rotator@daily.service.d/order.conf"
  grep -qx 'After=rotator@monthly.service' "$u/rotator@weekly.service.d/order.conf"
  # verify needs ExecStart to exist: point a copy at the built binary. The
  # man pages the units name are looked up in the staged tree.
  mkdir -p "$TMP/v"
  cp -r "$u"/. "$TMP/v"/
  sed -i "s|^ExecStart=/usr/bin/rotator|ExecStart=$ROTATOR|" "$TMP/v/rotator@.service"
  set +e
  out=$(cd "$TMP/v" && MANPATH="$TMP/st/usr/share/man" SYSTEMD_LOG_LEVEL=notice \
    systemd-analyze verify rotator@daily.service rotator@weekly.service rotator@monthly.service \
      rotator-daily.timer rotator-weekly.timer rotator-monthly.timer 2>&1)
  rc=$?
  set -e
  case $out in *"Failed to"*"bus"*|*"System has not been booted"*) skip_inside "systemd-analyze cannot run here: $out" ;; esac
  [ "$rc" -eq 0 ] || fail "systemd-analyze verify exit $rc: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  # And it does catch a broken unit (so the check above can fail).
  sed -i 's|^Type=oneshot|Type=oneshoot|' "$TMP/v/rotator@.service"
  out=$(cd "$TMP/v" && MANPATH="$TMP/st/usr/share/man" systemd-analyze verify rotator@daily.service 2>&1) || true
  case $out in *oneshoot*) ;; *) fail "verify did not notice a bad Type: $out" ;; esac
}

t_journal_prefixes() {
  conf
  : >"$TMP/journal"
  stream=$(stat -c '%d:%i' "$TMP/journal")
  JOURNAL_STREAM=$stream R --now 2026-11-01T01:30 daily 2>>"$TMP/journal"
  expect_grep '^<6>\[clone\] ok: refreshed from' "$TMP/journal"
  if grep -v '^<[0-7]>' "$TMP/journal" | grep -q .; then cat "$TMP/journal"; fail "line without priority"; fi
  if grep -Eq '^<[0-7]>(rotator: |\[?20[0-9][0-9]-)' "$TMP/journal"; then fail "time stamp or program name duplicated"; fi
  # The log file keeps its own time stamps.
  expect_grep '^\[20[0-9-]*T[0-9:]*[-+][0-9]*\] rotator\[[0-9]*\]: \[clone\] ok' "$TMP/rotator.log"
  # A JOURNAL_STREAM that is not our stderr (inherited by a child) is ignored.
  JOURNAL_STREAM=1:1 R --now 2026-11-02T01:30 daily 2>"$TMP/plain" || true
  if grep -q '^<[0-7]>' "$TMP/plain"; then fail "priority prefix on a non-journal stderr"; fi
}

# complete_words LINE: what bash completion offers for LINE (cursor at the end).
complete_words() {
  HOME="$TMP" ROTATOR_CONF="$TMP/rotator.conf" PATH="$(dirname "$ROTATOR"):$PATH" \
    bash --norc --noprofile -i -c '
      . "$1"
      complete -p rotator >/dev/null || exit 3
      line=$2
      read -r -a COMP_WORDS <<<"$line"
      case $line in *" ") COMP_WORDS+=("") ;; esac
      COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
      COMP_LINE=$line; COMP_POINT=${#line}
      fn=$(complete -p rotator | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
      "$fn" rotator "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
      printf "%s\n" "${COMPREPLY[@]}" | sort
    ' bash "$top/etc/bash-completion/rotator" "$1" 2>/dev/null
}

t_completion() {
  have bash || skip_inside "bash not installed"
  conf
  mkdir -p "$TMP/root/snaps/daily.0" "$TMP/root/snaps/daily.1" "$TMP/root/snaps/weekly.0" "$TMP/root/snaps/.trash"
  out=$(complete_words "rotator ")
  for w in check status prune daily weekly monthly yearly; do
    printf '%s\n' "$out" | grep -qx "$w" || fail "'$w' not offered: $out"
  done
  out=$(complete_words "rotator st")
  [ "$out" = status ] || fail "st -> $out"
  out=$(complete_words "rotator status --")
  [ "$out" = "$(printf -- '--json\n--nagios')" ] || fail "status options: $out"
  out=$(complete_words "rotator -c $TMP/rotator.conf we")
  [ "$out" = weekly ] || fail "-c: $out"
  out=$(complete_words "rotator diff ")
  for w in daily.0 daily.1 weekly.0 clone snaps archive; do
    printf '%s\n' "$out" | grep -qx "$w" || fail "diff: '$w' not offered: $out"
  done
  if printf '%s\n' "$out" | grep -qx '.trash'; then fail "diff offers .trash"; fi
  out=$(complete_words "rotator restore daily.")
  [ "$out" = "$(printf 'daily.0\ndaily.1')" ] || fail "restore daily.: $out"
  # The installed file is the same completion, where bash-completion looks.
  make -s -C "$top" install PREFIX=/usr DESTDIR="$TMP/st2" >/dev/null
  cmp "$top/etc/bash-completion/rotator" "$TMP/st2/usr/share/bash-completion/completions/rotator"
}

test_case "systemd units and timers pass systemd-analyze verify" t_units_verify
test_case "stderr to the journal: <N> priorities, no duplicate time stamp" t_journal_prefixes
test_case "bash completion: commands, levels, options, generations" t_completion
[ "$nfail" -eq 0 ]
