// Rule parsing (reference/rsync-filter-rules.md §2-§6, §15): exact error
// texts, modifiers, pattern compilation, merge inlining and its limits.
#include <doctest/doctest.h>

#include <string>

#include "filter/filter.hpp"
#include "filter/rule.hpp"
#include "fs/posix_fs.hpp"
#include "testutil.hpp"

using namespace rotator;
using namespace rotator::filter;

namespace {

// Parses `content` as the file "t.rules" in a scratch dir (merge names
// resolve there). Returns the error message, or "" on success.
std::string parse_error(test::TestContext& ctx, const std::string& content,
                        RuleSet* out_set = nullptr) {
  fs::PosixFs fs;
  ParseEnv env;
  env.fs = &fs;
  env.base_dir = ctx.dir();
  RuleSet set;
  Status st = parse_rules(env, content, "t.rules", MergeOptions{}, set);
  if (out_set != nullptr) {
    *out_set = std::move(set);
  }
  return st ? std::string() : st.error().message();
}

RuleSet parse_ok(test::TestContext& ctx, const std::string& content) {
  RuleSet set;
  std::string err = parse_error(ctx, content, &set);
  REQUIRE(err == "");
  return set;
}

Rule compiled(const std::string& pattern, const std::string& per_dir_abs = {}) {
  Rule r;
  compile_pattern(pattern, per_dir_abs, r);
  return r;
}

}  // namespace

TEST_SUITE_BEGIN("filter::rule");

TEST_CASE("syntax errors are fatal and name file, line and rule") {
  test::TestContext ctx;
  struct Bad {
    const char* text;
    const char* message;
  };
  static const Bad bad[] = {
      {" - foo", "t.rules:1: unknown filter rule ' - foo'"},
      {"\t- foo", "t.rules:1: unknown filter rule '\t- foo'"},
      {"foo", "t.rules:1: unknown filter rule 'foo'"},
      {"exclude/ foo", "t.rules:1: unknown filter rule 'exclude/ foo'"},
      {"+", "t.rules:1: unexpected end of filter rule '+'"},
      {"- ", "t.rules:1: unexpected end of filter rule '- '"},
      {"merge", "t.rules:1: unexpected end of filter rule 'merge'"},
      {"dir-merge", "t.rules:1: unexpected end of filter rule 'dir-merge'"},
      {". ", "t.rules:1: unexpected end of filter rule '. '"},
      {"clear x", "t.rules:1: '!' rule has trailing characters in 'clear x'"},
      {"clear ", "t.rules:1: '!' rule has trailing characters in 'clear '"},
      {"-q foo", "t.rules:1: invalid modifier 'q' in filter rule '-q foo'"},
      {"-e foo", "t.rules:1: invalid modifier 'e' in filter rule '-e foo'"},
      {"-n foo", "t.rules:1: invalid modifier 'n' in filter rule '-n foo'"},
      {"-w foo", "t.rules:1: invalid modifier 'w' in filter rule '-w foo'"},
      {"-+ foo", "t.rules:1: invalid modifier '+' in filter rule '-+ foo'"},
      {"Hs foo", "t.rules:1: invalid modifier 's' in filter rule 'Hs foo'"},
      {"Pr foo", "t.rules:1: invalid modifier 'r' in filter rule 'Pr foo'"},
      {".! inc", "t.rules:1: invalid modifier '!' in filter rule '.! inc'"},
      {"-C", "t.rules:1: CVS-exclude rules are not supported by rotator: '-C'"},
      {":C", "t.rules:1: CVS-exclude rules are not supported by rotator: ':C'"},
      {"+C foo", "t.rules:1: CVS-exclude rules are not supported by rotator: '+C foo'"},
      {"-x foo",
       "t.rules:1: xattr filter rules (modifier 'x') are not supported by rotator: '-x foo'"},
      {"merge missing.rules",
       "t.rules:1: failed to open merge file 'missing.rules': No such file or directory"},
  };
  for (const auto& b : bad) {
    CAPTURE(b.text);
    CHECK(parse_error(ctx, b.text) == b.message);
  }
}

TEST_CASE("line numbers count comments, blank lines and CRLF line ends") {
  test::TestContext ctx;
  CHECK(parse_error(ctx, "# c\r\n\r\n; x\r\n- a\r\n foo\r\n") ==
        "t.rules:5: unknown filter rule ' foo'");
  CHECK(parse_error(ctx, "- a\n\n\n-q b\n") ==
        "t.rules:4: invalid modifier 'q' in filter rule '-q b'");
  CHECK(parse_error(ctx, "- a\rfoo\r") == "t.rules:2: unknown filter rule 'foo'");
}

TEST_CASE("over-long lines and patterns are rejected") {
  test::TestContext ctx;
  CHECK(parse_error(ctx, "- " + std::string(5118, 'a')) ==
        "t.rules:1: filter rule longer than 5119 bytes");
  std::string long_pat(4096, 'b');
  CHECK(parse_error(ctx, "- " + long_pat) ==
        "t.rules:1: filter pattern longer than 4095 bytes in '- " + std::string(38, 'b') + "'");
  CHECK(parse_error(ctx, "- " + std::string(4095, 'b')) == "");
}

TEST_CASE("comments, CRLF and verbatim patterns") {
  test::TestContext ctx;
  RuleSet set = parse_ok(ctx, "# comment\r\n; also\r\n\r\n- a\r\n+ b\r\n- foo \n-  foo\n- x#y\n");
  REQUIRE(set.rules.size() == 5);
  CHECK(set.rules[0].pattern == "a");
  CHECK(set.rules[0].flags == 0);
  CHECK(set.rules[1].pattern == "b");
  CHECK(set.rules[1].flags == k_rule_include);
  CHECK(set.rules[2].pattern == "foo ");
  CHECK(set.rules[3].pattern == " foo");
  CHECK(set.rules[4].pattern == "x#y");
}

TEST_CASE("long and short rule names, separators and modifiers") {
  test::TestContext ctx;
  RuleSet set = parse_ok(ctx,
                         "-_foo\n"
                         "exclude foo\n"
                         "exclude,/ foo\n"
                         "include_foo\n"
                         "-,s foo\n"
                         "+r foo\n"
                         "-!p foo\n"
                         "H foo\n"
                         "S foo\n"
                         "P foo\n"
                         "R foo\n"
                         "hide foo\n"
                         "show foo\n"
                         "protect foo\n"
                         "risk foo\n"
                         "H,! foo\n"
                         "-/ /abs\n");
  REQUIRE(set.rules.size() == 17);
  for (const auto& r : set.rules) {
    if (&r != &set.rules.back()) {
      CHECK(r.pattern == "foo");
    }
  }
  CHECK(set.rules[0].flags == 0);
  CHECK(set.rules[1].flags == 0);
  CHECK(set.rules[2].flags == k_rule_abs_path);
  CHECK(set.rules[3].flags == k_rule_include);
  CHECK(set.rules[4].flags == k_rule_sender);
  CHECK(set.rules[5].flags == (k_rule_include | k_rule_receiver));
  CHECK(set.rules[6].flags == (k_rule_negate | k_rule_perishable));
  CHECK(set.rules[7].flags == k_rule_sender);
  CHECK(set.rules[8].flags == (k_rule_sender | k_rule_include));
  CHECK(set.rules[9].flags == k_rule_receiver);
  CHECK(set.rules[10].flags == (k_rule_receiver | k_rule_include));
  CHECK(set.rules[11].flags == set.rules[7].flags);
  CHECK(set.rules[12].flags == set.rules[8].flags);
  CHECK(set.rules[13].flags == set.rules[9].flags);
  CHECK(set.rules[14].flags == set.rules[10].flags);
  CHECK(set.rules[15].flags == (k_rule_sender | k_rule_negate));
  CHECK(set.rules[16].flags == (k_rule_abs_path | k_rule_anchored));
  CHECK(set.rules[16].pattern == "abs");
}

TEST_CASE("compiling: trailing slash, slash count, wild flags, anchoring") {
  Rule r = compiled("foo/");
  CHECK(r.pattern == "foo");
  CHECK(r.flags == k_rule_dir_only);
  CHECK(r.slash_cnt == 0);

  r = compiled("/");
  CHECK(r.pattern == "");
  CHECK(r.flags == k_rule_anchored);
  CHECK(r.slash_cnt == 1);

  r = compiled("foo//");
  CHECK(r.pattern == "foo/");
  CHECK(r.flags == k_rule_dir_only);
  CHECK(r.slash_cnt == 1);

  r = compiled("/a/b/**");
  CHECK(r.pattern == "a/b/**");
  CHECK(r.flags == (k_rule_anchored | k_rule_wild | k_rule_wild2));
  CHECK(r.slash_cnt == 3);

  r = compiled("**/x");
  CHECK(r.flags == (k_rule_wild | k_rule_wild2 | k_rule_wild2_prefix));

  r = compiled("d/***/");
  CHECK(r.pattern == "d/***");
  CHECK(r.flags == (k_rule_dir_only | k_rule_wild | k_rule_wild2 | k_rule_wild3_suffix));

  CHECK(compiled("sp\\ ace.txt").flags == 0);
  CHECK(compiled("\\[br].txt").flags == k_rule_wild);
  CHECK(compiled("a?").flags == k_rule_wild);

  // Anchored per-dir rule: the directory's absolute path is prepended.
  r = compiled("/c/three.o", "/src/a/b");
  CHECK(r.pattern == "src/a/b/c/three.o");
  CHECK(r.flags == (k_rule_abs_path | k_rule_anchored));
  CHECK(r.slash_cnt == 5);
  Rule abs;
  abs.flags = k_rule_abs_path;  // "-/ /x" in a per-dir file: no directory prefix
  compile_pattern("/x", "/src/a/b", abs);
  CHECK(abs.pattern == "x");
  CHECK(abs.slash_cnt == 1);
  r = compiled("c/three.o", "/src/a/b");
  CHECK(r.pattern == "c/three.o");
  CHECK(r.flags == 0);
}

TEST_CASE("merge inlines a file with the merge rule's modifiers as defaults") {
  test::TestContext ctx;
  test::write_file(ctx.path("inc.rules"), "- x\n+ y\n");
  test::write_file(ctx.path("plain.rules"), "foo\n!\n#bar\n");
  test::write_file(ctx.path("words.rules"), "-_a +_b\n\t-_c");
  test::write_file(ctx.path("bad-words.rules"), "-_a\n- foo\n");
  test::write_file(ctx.path("side.rules"), "H foo\n");

  RuleSet set = parse_ok(ctx, "- 0\n.p inc.rules\n- 9\n");
  REQUIRE(set.rules.size() == 4);
  CHECK(set.rules[1].pattern == "x");
  CHECK(set.rules[1].flags == k_rule_perishable);
  CHECK(set.rules[2].flags == (k_rule_perishable | k_rule_include));
  CHECK(set.rules[3].pattern == "9");

  set = parse_ok(ctx, "merge,s/ inc.rules\n");
  REQUIRE(set.rules.size() == 2);
  CHECK(set.rules[0].flags == (k_rule_sender | k_rule_abs_path));

  // '-' merge: every line is an exclude pattern, '!' included; comments still skipped.
  set = parse_ok(ctx, ".- plain.rules\n");
  REQUIRE(set.rules.size() == 2);
  CHECK(set.rules[0].pattern == "foo");
  CHECK(set.rules[1].pattern == "!");
  CHECK(set.rules[1].flags == 0);
  set = parse_ok(ctx, ".+ plain.rules\n");
  CHECK(set.rules[0].flags == k_rule_include);

  // 'w': whitespace-separated words.
  set = parse_ok(ctx, ".w words.rules\n");
  REQUIRE(set.rules.size() == 3);
  CHECK(set.rules[1].pattern == "b");
  CHECK(set.rules[2].pattern == "c");
  CHECK(parse_error(ctx, ".w bad-words.rules\n") ==
        "bad-words.rules:2: unexpected end of filter rule '-'");

  // 'e': the merge file's own name is excluded first.
  set = parse_ok(ctx, ".e inc.rules\n");
  REQUIRE(set.rules.size() == 3);
  CHECK(set.rules[0].pattern == "inc.rules");
  CHECK(set.rules[0].flags == 0);

  CHECK(parse_error(ctx, ".s side.rules\n") ==
        "side.rules:1: specified-side merge file contains specified-side filter 'H foo'");
  CHECK(parse_error(ctx, "merge,r inc.rules\n") == "");
}

TEST_CASE("clear empties the list built so far, merged rules included") {
  test::TestContext ctx;
  test::write_file(ctx.path("inc.rules"), "- x\n!\n- y\n");
  RuleSet set = parse_ok(ctx, "- a\nmerge inc.rules\n- b\n");
  REQUIRE(set.rules.size() == 2);
  CHECK(set.rules[0].pattern == "y");
  CHECK(set.rules[1].pattern == "b");
  set = parse_ok(ctx, "- a\n!,\n");
  CHECK(set.rules.empty());
}

TEST_CASE("dir-merge leaves one placeholder per name") {
  test::TestContext ctx;
  RuleSet set = parse_ok(ctx, ":e .rules\n- x\ndir-merge,n .rules\n:- .other\n");
  REQUIRE(set.rules.size() == 4);
  CHECK(set.rules[0].pattern == ".rules");
  CHECK(set.rules[1].kind == Rule::Kind::dir_merge);
  CHECK(set.rules[1].merge_index == 0);
  CHECK(set.rules[3].kind == Rule::Kind::dir_merge);
  CHECK(set.rules[3].merge_index == 1);
  REQUIRE(set.dir_merges.size() == 2);
  CHECK(set.dir_merges[0].name == ".rules");
  CHECK_FALSE(set.dir_merges[0].options.no_inherit);  // the second ".rules" was dropped
  CHECK(set.dir_merges[1].options.no_prefixes);
}

TEST_CASE("merge depth is capped at 32") {
  test::TestContext ctx;
  test::write_file(ctx.path("self.rules"), "- a\nmerge self.rules\n");
  CHECK(parse_error(ctx, "merge self.rules\n") ==
        "self.rules:2: merge-file include depth limit (32) exceeded in 'merge self.rules'");
  // As rsync 3.5.0 (checked with the binary: a rules file merging a chain of
  // 31 files works, of 32 exits 11): at most 32 files open at once, the
  // rules file included.
  for (int i = 1; i <= 32; ++i) {
    std::string next = i < 32 ? "merge n" + std::to_string(i + 1) + ".rules\n" : "- end\n";
    test::write_file(ctx.path("n" + std::to_string(i) + ".rules"), next);
  }
  CHECK(parse_error(ctx, "merge n1.rules\n") ==
        "n31.rules:1: merge-file include depth limit (32) exceeded in 'merge n32.rules'");
  RuleSet set = parse_ok(ctx, "merge n2.rules\n");
  REQUIRE(set.rules.size() == 1);
  CHECK(set.rules[0].pattern == "end");
}

TEST_CASE("merge depth in a per-directory file: the same 32 files, as rsync") {
  test::TestContext ctx;
  test::write_file(ctx.path("main.rules"), ": .rules\n");
  for (int i = 1; i <= 32; ++i) {
    std::string next = i < 32 ? ". m" + std::to_string(i + 1) + "\n" : "- end\n";
    test::write_file(ctx.path("src/m" + std::to_string(i)), next);  // plain names: the root
  }
  fs::PosixFs fs;
  auto filter = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(filter);
  auto enter = [&](const std::string& rules) {
    test::write_file(ctx.path("src/a/.rules"), rules);
    auto a = fs::open_dir(fs, fs::k_cwd, ctx.path("src/a"));
    REQUIRE(a);
    Status st = (*filter)->enter_dir(fs, a->fd(), "a");
    if (st) {
      (*filter)->leave_dir();
      return std::string();
    }
    return st.error().message();
  };
  CHECK(enter(". m2\n") == "");
  CHECK(enter(". m1\n") == "m31:1: merge-file include depth limit (32) exceeded in '. m32'");
}

TEST_CASE("RuleFilter::load resolves merge names against the rules file's directory") {
  test::TestContext ctx;
  test::write_file(ctx.path("conf/main.rules"), "merge inc.rules\n");
  test::write_file(ctx.path("conf/inc.rules"), "merge sub/more.rules\n");
  test::write_file(ctx.path("conf/sub/more.rules"), "- deep\n");
  fs::PosixFs fs;
  auto filter = RuleFilter::load(fs, ctx.path("conf/main.rules"), ctx.dir());
  REQUIRE(filter);
  REQUIRE((*filter)->rules().rules.size() == 1);
  CHECK((*filter)->rules().rules[0].pattern == "deep");
}

TEST_CASE("RuleFilter::load errors: missing rules file, relative root, bad rule") {
  test::TestContext ctx;
  fs::PosixFs fs;
  auto missing = RuleFilter::load(fs, ctx.path("none.rules"), ctx.dir());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message() ==
        "failed to read rules file '" + ctx.path("none.rules") + "': No such file or directory");
  test::write_file(ctx.path("ok.rules"), "- a\n");
  auto relative = RuleFilter::load(fs, ctx.path("ok.rules"), "src");
  REQUIRE_FALSE(relative);
  CHECK(relative.error().message() == "source root 'src' is not an absolute path");
  test::write_file(ctx.path("important.rules"), "- a\n+ b\n - foo\n");
  auto bad = RuleFilter::load(fs, ctx.path("important.rules"), ctx.dir());
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == ctx.path("important.rules") + ":3: unknown filter rule ' - foo'");
}

TEST_CASE("per-directory files: syntax errors abort; nested merges resolve as in rsync") {
  test::TestContext ctx;
  test::write_file(ctx.path("main.rules"), ": .rules\n");
  test::write_file(ctx.path("src/a/.rules"), "- ok\n-q bad\n");
  test::write_file(ctx.path("src/b/.rules"), "merge x\n");
  test::write_file(ctx.path("src/c/.rules"), "dir-merge sub/.g\n");
  test::write_file(ctx.path("src/d/.rules"), "merge sub/inc\n");
  test::write_file(ctx.path("src/d/sub/inc"), "+ y\nmerge /nonexistent.rules\n");
  test::write_file(ctx.path("x"), "- z\n");  // beside main.rules: not where rsync looks
  fs::PosixFs fs;
  auto filter = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(filter);
  auto enter = [&](const std::string& rel) {
    auto d = fs::open_dir(fs, fs::k_cwd, ctx.path("src/" + rel));
    REQUIRE(d);
    Status st = (*filter)->enter_dir(fs, d->fd(), rel);
    REQUIRE_FALSE(st);
    return st.error().message();
  };
  CHECK(enter("a") == "a/.rules:2: invalid modifier 'q' in filter rule '-q bad'");
  // A merge name without '/' resolves against the transfer root (rsync's
  // sender works there), not against the directory of the rules file.
  CHECK(enter("b") == "b/.rules:1: failed to open merge file 'x': No such file or directory");
  CHECK(enter("c") ==
        "c/.rules:1: a dir-merge name with '/' inside a per-directory file is "
        "not supported by rotator: 'dir-merge sub/.g'");
  // With '/', against the directory being scanned; errors name the inner file.
  CHECK(enter("d") ==
        "sub/inc:2: failed to open merge file '/nonexistent.rules': No such file "
        "or directory");
  test::write_file(ctx.path("src/x"), "- z\n");
  auto b = fs::open_dir(fs, fs::k_cwd, ctx.path("src/b"));
  REQUIRE(b);
  CHECK((*filter)->enter_dir(fs, b->fd(), "b"));
  CHECK_FALSE((*filter)->included("b/z", false));
  (*filter)->leave_dir();
}

TEST_CASE("a failed enter_dir leaves no frame and no activated merge behind") {
  test::TestContext ctx;
  test::write_file(ctx.path("main.rules"), ": .rules\n");
  test::write_file(ctx.path("src/.rules"), "- top\n");
  test::write_file(ctx.path("src/a/.rules"), ": .g\n- ok\n");
  test::write_file(ctx.path("src/a/.g"), "- fine\n-q bad\n");
  fs::PosixFs fs;
  auto filter = RuleFilter::load(fs, ctx.path("main.rules"), ctx.path("src"));
  REQUIRE(filter);
  RuleFilter& f = **filter;
  auto root = fs::open_dir(fs, fs::k_cwd, ctx.path("src"));
  REQUIRE(root);
  REQUIRE(f.enter_dir(fs, root->fd(), ""));
  auto a = fs::open_dir(fs, root->fd(), "a");
  REQUIRE(a);
  Status st = f.enter_dir(fs, a->fd(), "a");
  REQUIRE_FALSE(st);
  CHECK(st.error().message() == "a/.g:2: invalid modifier 'q' in filter rule '-q bad'");
  // Still the root's frame: its rules apply, a's do not.
  CHECK_FALSE(f.included("top", false));
  CHECK(f.included("ok", false));
  CHECK(f.included("fine", false));
  f.leave_dir();
}
