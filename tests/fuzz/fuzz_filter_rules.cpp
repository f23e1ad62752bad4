// libFuzzer target: the rsync filter rule parser (filter::parse_rules) and
// rule matching. The first input byte picks the merge options and the
// context (global rules file or per-directory file); the rest is the file.
// `merge`/`dir-merge` rules are followed through ParseEnv::read, never the
// filesystem: the name "self" reads the input again (self-inclusion, up to
// the depth limit), "other" a fixed small file, anything else is missing.
// Every compiled rule is then matched against a few paths.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "filter/rule.hpp"

using namespace rotator;
using namespace rotator::filter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t opts = data[0];
  const std::string content(reinterpret_cast<const char*>(data) + 1, size - 1);
  MergeOptions tmpl;
  tmpl.word_split = (opts & 1) != 0;
  tmpl.no_prefixes = (opts & 2) != 0;
  tmpl.include_lines = (opts & 4) != 0;
  if ((opts & 8) != 0) {
    tmpl.defaults |= k_rule_perishable;
  }
  if ((opts & 16) != 0) {
    tmpl.defaults |= (opts & 32) != 0 ? k_rule_sender : k_rule_receiver;
  }
  ParseEnv env;
  env.fs = nullptr;  // must not be used: env.read is set
  env.base_dir = "/fuzz";
  const bool per_dir = (opts & 64) != 0;
  if (per_dir) {
    env.context = ParseContext::per_dir;
    env.per_dir_abs = "/fuzz/src/d";
    env.plain_dir = "/fuzz/src";
  }
  std::vector<DirMerge> active(1);
  active[0].name = ".rules";
  active[0].applies_to = (opts & 128) != 0 ? k_on_sender : k_on_sender | k_on_receiver;
  env.active = &active;
  env.read = [&content](const std::string& path) -> Result<std::string> {
    std::string_view p = path;
    if (p.size() >= 4 && p.substr(p.size() - 4) == "self") {
      return content;
    }
    if (p.size() >= 5 && p.substr(p.size() - 5) == "other") {
      return std::string("- *.o\n+ /a/***\n:n .g\nclear\n-p b/\n");
    }
    return sys_error(ENOENT, "read", path);
  };
  RuleSet set;
  Status st = parse_rules(env, content, "fuzz.rules", tmpl, set);
  if (!st) {
    std::string msg = st.error().message();
    (void)msg;
    return 0;
  }
  static const char* const k_paths[] = {"a", "a/b", "x/y/z.txt", ".rules", "d/[x]/*"};
  std::string scratch;
  for (const Rule& rule : set.rules) {
    if (rule.kind != Rule::Kind::pattern) {
      continue;
    }
    for (const char* path : k_paths) {
      std::string_view name = path;
      auto slash = name.rfind('/');
      for (bool is_dir : {false, true}) {
        Subject subject;
        subject.name = name;
        subject.last = slash == std::string_view::npos ? name : name.substr(slash + 1);
        subject.root_rel = "fuzz/src";
        subject.is_dir = is_dir;
        (void)rule_matches(rule, subject, scratch);
      }
    }
  }
  return 0;
}
