#!/bin/sh
# restore round trip for every file type the engine mirrors: the restored
# tree equals the original by content and metadata, and shares no inode
# with the history.
. "$(dirname "$0")/lib.sh"

SRC="$TMP/src"
ROOT="$TMP/root"

# One line per entry (perl-base is in every Debian): escaped path, type and
# mode, owner, mtime, size, symlink target or content checksum.
describe() {
  perl -e '
    use strict;
    my @out;
    sub esc { my $s = shift; $s =~ s/([^\x21-\x7e])/sprintf("\\x%02x", ord $1)/ge; $s }
    sub walk {
      my ($dir, $rel) = @_;
      opendir(my $d, $dir) or die "$dir: $!";
      for my $n (sort grep { $_ ne "." && $_ ne ".." } readdir $d) {
        my $p = "$dir/$n"; my $r = $rel eq "" ? $n : "$rel/$n";
        my @st = lstat $p or die "$p: $!";
        my $extra = "";
        if (-l _) { $extra = "L:" . esc(readlink $p) }
        elsif (-f _) { open(my $f, "<", $p) or die; local $/; my $c = <$f>; $extra = "C:" . unpack("%32C*", $c) . ":" . length $c }
        push @out, join("|", esc($r), sprintf("%o", $st[2]), "$st[4]:$st[5]", (-l _ ? "-" : $st[9]), $st[7], $extra);
        walk($p, $r) if -d _ && ! -l _;
      }
    }
    walk($ARGV[0], "");
    print "$_\n" for @out;' "$1"
}
# Hard-link groups as sets of paths (inode numbers differ between trees).
groups() {
  ( cd "$1" && find . -type f -links +1 -printf '%i %P\n' | sort | awk '
      { if ($1 != last && NR > 1) print line; if ($1 != last) line = $2; else line = line " " $2; last = $1 }
      END { if (NR) print line }' | sort )
}

setup() {
  mkdir -p "$SRC/tree/sub" "$SRC/tree/empty" "$ROOT"
  printf 'hello\n' >"$SRC/tree/plain.txt"
  chmod 0640 "$SRC/tree/plain.txt"
  head -c 300000 /dev/urandom >"$SRC/tree/sub/random.bin"
  printf 'shared\n' >"$SRC/tree/sub/link1"
  ln "$SRC/tree/sub/link1" "$SRC/tree/link2"
  ln "$SRC/tree/sub/link1" "$SRC/tree/link3"
  ln -s ../plain.txt "$SRC/tree/sub/sym"
  ln -s 'dangling target' "$SRC/tree/dangling"
  printf 'nl\n' >"$SRC/tree/$(printf 'new\nline')"
  printf 'bad\n' >"$SRC/tree/$(printf 'bad\377\376name')"
  chmod 0750 "$SRC/tree/sub"
  chmod 0555 "$SRC/tree/empty"
  if have setfattr; then
    setfattr -n user.colour -v blue "$SRC/tree/plain.txt" 2>/dev/null || true
    setfattr -n user.dir -v yes "$SRC/tree/sub" 2>/dev/null || true
  fi
  touch -h -d '2026-01-02 03:04:05' "$SRC/tree/sub/sym"
  touch -d '2026-01-02 03:04:05' "$SRC/tree/plain.txt" "$SRC/tree/sub" "$SRC/tree/empty" "$SRC/tree"
  write_conf "$CONF" "$ROOT" "$SRC/" <<CONF
rsync_args = -H -X

[snaps]
type = snapshot
from = clone
path = snapshots
naming = rotate
keep = daily:3
CONF
  cp -a "$SRC/tree" "$TMP/orig"
  R --now 2026-11-01T02:00 daily >/dev/null
  # Change the clone afterwards: restore --at must take the snapshot.
  echo changed >"$SRC/tree/plain.txt"
  R --now 2026-11-02T02:00 daily >/dev/null
}

t_roundtrip() {
  mkdir -p "$TMP/out"
  R restore tree --at 2026-11-01 --to "$TMP/out/tree" >"$TMP/msg"
  expect_grep 'from daily.1' "$TMP/msg"
  # The tree as it was before the first run (the scenario's own copy).
  describe "$TMP/orig" >"$TMP/want"
  describe "$TMP/out/tree" >"$TMP/got"
  diff "$TMP/want" "$TMP/got"
  [ "$(wc -l <"$TMP/want")" -ge 10 ] || fail "fixture too small"
  groups "$TMP/orig" >"$TMP/gw"
  groups "$TMP/out/tree" >"$TMP/gg"
  diff "$TMP/gw" "$TMP/gg"
  [ "$(cat "$TMP/gg")" = "link2 link3 sub/link1" ] || fail "link group: $(cat "$TMP/gg")"
  [ "$(stat -c %Y "$TMP/out/tree/sub")" = "$(date -d '2026-01-02 03:04:05' +%s)" ]
  [ "$(cat "$TMP/out/tree/plain.txt")" = hello ]
  # No inode shared with anything under root.
  find "$TMP/out/tree" -printf '%i\n' | sort -u >"$TMP/ri"
  find "$ROOT" -printf '%i\n' | sort -u >"$TMP/hi"
  [ -z "$(comm -12 "$TMP/ri" "$TMP/hi")" ] || fail "shares inodes with the history: $(comm -12 "$TMP/ri" "$TMP/hi" | head -3)"
  # Hard links inside the restored tree stay hard links of the copies.
  expect_same_inode "$TMP/out/tree/link2" "$TMP/out/tree/sub/link1"
}

t_version_of_directory() {
  expect_exit 1 R restore tree --version 1 --to "$TMP/out/v1" 2>"$TMP/err"
  expect_grep 'is a directory' "$TMP/err"
  [ ! -e "$TMP/out/v1" ]
}

t_xattrs() {
  have getfattr || skip_inside "getfattr not installed (Debian package attr)"
  [ -n "$(getfattr -n user.colour "$SRC/tree/plain.txt" 2>/dev/null)" ] || skip_inside "this filesystem has no user xattrs"
  getfattr -n user.colour --only-values "$TMP/out/tree/plain.txt" | grep -qx blue
  getfattr -n user.dir --only-values "$TMP/out/tree/sub" | grep -qx yes
}

t_odd_names_single() {
  cd "$TMP/out"
  R restore "tree/$(printf 'new\nline')" --at 2026-11-01 >/dev/null
  [ "$(cat "$(printf 'new\nline')")" = nl ]
  R restore "tree/$(printf 'bad\377\376name')" --at 2026-11-01 --json >"$TMP/j"
  [ "$(cat "$(printf 'bad\377\376name')")" = bad ]
  grep -q '"path_b64"' "$TMP/j"
  R restore tree/sub/sym --at 2026-11-01 >/dev/null
  [ "$(readlink sym)" = ../plain.txt ]
}

setup
test_case "restore round trip: content, metadata, hard links, no shared inode" t_roundtrip
test_case "restore keeps xattrs" t_xattrs
test_case "restore --version of a directory is refused" t_version_of_directory
test_case "restore names with a newline and invalid UTF-8, a symlink" t_odd_names_single
[ "$nfail" -eq 0 ]
