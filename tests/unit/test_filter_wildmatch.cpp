// rsync wildmatch vectors (reference/rsync-filter-rules.md §8; many from
// rsync's own testsuite/wildtest.txt).
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "filter/wildmatch.hpp"

using rotator::filter::wildmatch;

namespace {

struct Vector {
  const char* pattern;
  const char* text;
  bool match;
};

void check_all(const Vector* begin, const Vector* end) {
  for (const Vector* v = begin; v != end; ++v) {
    INFO("pattern '" << v->pattern << "' text '" << v->text << "'");
    CHECK(wildmatch(v->pattern, v->text) == v->match);
  }
}

}  // namespace

TEST_SUITE_BEGIN("filter::wildmatch");

TEST_CASE("literals, ? and * match bytes but never '/'") {
  static const Vector v[] = {
      {"foo", "foo", true},
      {"foo", "bar", false},
      {"", "", true},
      {"???", "foo", true},
      {"??", "foo", false},
      {"?", "", false},
      {"*", "foo", true},
      {"*", "", true},
      {"f*", "foo", true},
      {"*f", "foo", false},
      {"*foo*", "foo", true},
      {"*ob*a*r*", "foobar", true},
      {"*ab", "aaaaaaabababab", true},
      {"foo*bar", "foo/baz/bar", false},
      {"foo?bar", "foo/bar", false},
      {"*", "foo/bar", false},
      {"*/foo", "bar/foo", true},
      {"*/foo", "a/bar/foo", false},
      {"foo", "Foo", false},
      {"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1",
       true},
      {"-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1",
       false},
  };
  check_all(std::begin(v), std::end(v));
}

TEST_CASE("** and *** match across '/' and need no zero-directory special case") {
  static const Vector v[] = {
      {"**", "foo/bar", true},
      {"foo**bar", "foo/baz/bar", true},
      {"foo***", "foo/bar", true},
      {"**/foo", "foo", false},  // raw wildmatch; §7.3 adds the leading '/'
      {"**/foo", "/foo", true},
      {"**/foo", "a/b/foo", true},
      {"**/bar*", "deep/foo/bar/baz", false},
      {"**/bar/*", "deep/foo/bar/baz", true},
      {"**/bar/*", "deep/foo/bar/baz/", false},
      {"**/bar/**", "deep/foo/bar/baz/", true},
      {"**/bar**", "deep/foo/bar/baz/x", true},
      {"*/bar/**", "deep/foo/bar/baz/x", false},
      {"foo/**", "foo", false},
      {"docs/**/*.md", "docs/readme.md", false},
      {"docs/**/*.md", "docs/deep/er/note.md", true},
      {"XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*",
       "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", true},
  };
  check_all(std::begin(v), std::end(v));
}

TEST_CASE("sets: negation, ranges, a leading ']' and literal '-'") {
  static const Vector v[] = {
      {"*[al]?", "ball", true},    {"[ten]", "ten", false},
      {"**[!te]", "ten", true},    {"**[!ten]", "ten", false},
      {"t[a-g]n", "ten", true},    {"t[!a-g]n", "ten", false},
      {"t[!a-g]n", "ton", true},   {"t[^a-g]n", "ton", true},
      {"a[]]b", "a]b", true},      {"a[]-]b", "a-b", true},
      {"a[]-]b", "a]b", true},     {"a[]-]b", "aab", false},
      {"a[]a-]b", "aab", true},    {"[!]]", "]", false},
      {"[!]]", "a", true},         {"[a-]", "-", true},
      {"[-a]", "-", true},         {"]", "]", true},
      {"[br].txt", "b.txt", true}, {"[br].txt", "[br].txt", false},
      {"[\xe4]", "\xe4", true},
  };
  check_all(std::begin(v), std::end(v));
}

TEST_CASE("a set never matches '/', even negated or written [/]") {
  static const Vector v[] = {
      {"foo[/]bar", "foo/bar", false},
      {"foo[^a-z]bar", "foo/bar", false},
      {"foo[!a]bar", "foo/bar", false},
      {"[[:punct:]]", "/", false},
      {"f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", true},
      {"f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo/bar", false},
  };
  check_all(std::begin(v), std::end(v));
}

TEST_CASE("POSIX classes; an unknown class or unterminated set matches nothing") {
  static const Vector v[] = {
      {"[[:alpha:]][[:digit:]][[:upper:]]", "a1B", true},
      {"[[:digit:][:upper:][:space:]]", "a", false},
      {"[[:digit:][:upper:][:space:]]", "A", true},
      {"[[:digit:][:upper:][:space:]]", "1", true},
      {"[[:digit:][:upper:][:spaci:]]", "1", false},
      {"[[:space:]]", " ", true},
      {"[[:xdigit:]]", "5", true},
      {"[[:xdigit:]]", "f", true},
      {"[[:xdigit:]]", "g", false},
      {"[a-c[:digit:]x-z]", "5", true},
      {"[a-c[:digit:]x-z]", "y", true},
      {"[a-c[:digit:]x-z]", "q", false},
      {"[[:lower:]]", "/", false},
      {"[:alpha:]", "a", true},  // a plain set of ':', 'a', 'l', 'p', 'h'
      {"[ab", "[ab", false},
      {"a[", "a[", false},
      {"[!", "[!", false},
      {"*[ab", "x[ab", false},
  };
  check_all(std::begin(v), std::end(v));
}

TEST_CASE("backslash escapes outside and inside sets") {
  static const Vector v[] = {
      {"foo\\*", "foo*", true},
      {"foo\\*", "foox", false},
      {"foo\\*bar", "foobar", false},
      {"f\\\\oo", "f\\oo", true},
      {"\\[br].txt", "[br].txt", true},
      {"sp\\ ace*", "sp ace.txt", true},
      {"[\\-_]", "-", true},
      {"[\\]]", "]", true},
      {"[\\\\]", "\\", true},
      {"[!\\\\]", "\\", false},
      {"[A-\\\\]", "G", true},
      {"foo\\", "foo\\", false},  // a trailing backslash matches nothing
      {"a\\", "a", false},
  };
  check_all(std::begin(v), std::end(v));
}

// Regression (found by the wildmatch fuzz target, tests/fuzz/corpus/wildmatch/
// regression-timeout-1): plain backtracking is exponential in the number of
// '*'; rsync's aborts keep it polynomial. Each of these took minutes before.
TEST_CASE("many stars against a long text are answered at once") {
  auto start = std::chrono::steady_clock::now();
  std::string stars;
  for (int i = 0; i < 12; ++i) {
    stars += "*a";
  }
  const std::string as(60, 'a');
  CHECK_FALSE(wildmatch(stars + "*b", as));
  CHECK(wildmatch(stars + "*", as));
  CHECK(wildmatch(stars, as));
  CHECK_FALSE(wildmatch("**a**a**a**a**a**a**a**a**a**a**b", std::string(80, 'a')));
  CHECK_FALSE(wildmatch("*/*/*/*/*/*/*/*/*/*/x", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y"));
  CHECK(wildmatch("*/*/*/*/*/*/*/*/*/*/x", "a/a/a/a/a/a/a/a/a/a/x"));
  CHECK(wildmatch("**/x/**/y", "a/x/b/c/x/d/y"));
  CHECK_FALSE(wildmatch("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?z", std::string(50, 'q')));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(secs < 2.0);
}

// What the abort shortcuts must not change: later starts of a '*' are still
// tried when the rest failed for another reason than running out of text.
TEST_CASE("star backtracking still finds late matches") {
  static const Vector v[] = {
      {"*b*c", "abxxbc", true},        {"a*b*c*d", "aXbYcZd", true},
      {"a*b*c*d", "aXbYcZ", false},    {"*/b", "a/b", true},
      {"*/b", "a/c/b", false},         {"**/b", "a/c/b", true},
      {"a*/b*/c", "ax/by/c", true},    {"a*/b*/c", "ax/y/by/c", false},
      {"a**/b*/c", "ax/y/by/c", true}, {"*.txt", "a.b.txt", true},
      {"*[xy]z", "axxyz", true},
  };
  check_all(std::begin(v), std::end(v));
}
