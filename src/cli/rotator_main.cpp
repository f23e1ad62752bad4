#include "cli/rotator_main.hpp"

#include <getopt.h>
#include <memory>

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "fs/nosync_fs.hpp"
#include "fs/posix_fs.hpp"
#include "jobs/status.hpp"
#include "log/log.hpp"

namespace rotator::cli {

namespace {

constexpr const char* k_version = "0.1.0";

int usage_error(const std::string& msg) {
  fmt::print(stderr, "rotator: {}\nTry 'rotator --help'.\n", msg);
  return k_exit_error;
}

}  // namespace

int rotator_main(int argc, char** argv) {
  std::string config_file;
  DryRun dry_run = DryRun::no;
  int verbose = 0;
  bool quiet = false;
  std::string now_text;
  bool now_given = false;  // --now '' is an error, not "no --now"
  int wait_seconds = 0;

  static const option long_opts[] = {{"config", required_argument, nullptr, 'c'},
                                     {"dry-run", no_argument, nullptr, 'n'},
                                     {"verbose", no_argument, nullptr, 'v'},
                                     {"quiet", no_argument, nullptr, 'q'},
                                     {"now", required_argument, nullptr, 'N'},
                                     {"wait", optional_argument, nullptr, 'W'},
                                     {"help", no_argument, nullptr, 'h'},
                                     {"version", no_argument, nullptr, 'V'},
                                     {nullptr, 0, nullptr, 0}};
  opterr = 0;
  optind = 1;
  int c;
  // '+': stop at the command; its own arguments follow it.
  while ((c = getopt_long(argc, argv, "+:c:nvqhV", long_opts, nullptr)) != -1) {
    switch (c) {
      case 'c':
        config_file = optarg;
        break;
      case 'n':
        dry_run = DryRun::yes;
        break;
      case 'v':
        ++verbose;
        break;
      case 'q':
        quiet = true;
        break;
      case 'N':
        now_text = optarg;
        now_given = true;
        break;
      case 'W': {
        if (!optarg) {
          wait_seconds = -1;
          break;
        }
        char* end = nullptr;
        long v = std::strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || v < 0) {
          return usage_error(fmt::format("--wait: bad number of seconds '{}'", optarg));
        }
        wait_seconds = static_cast<int>(v);
        break;
      }
      case 'h':
        fmt::print("{}", k_usage_text);
        return k_exit_ok;
      case 'V':
        fmt::print("rotator {}\n", k_version);
        return k_exit_ok;
      case ':':
        return usage_error(fmt::format("option '{}' needs a value", argv[optind - 1]));
      default:
        return usage_error(fmt::format("unknown option '{}'", argv[optind - 1]));
    }
  }
  if (optind >= argc) {
    return usage_error("no command given");
  }
  std::string command = argv[optind];
  std::vector<std::string> args;
  // Global options are accepted after the command too (rotator weekly -n
  // --now 2026-11-01T02:00); anything else belongs to the command.
  for (int i = optind + 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& name, std::string* out) -> int {
      if (a == name) {
        if (i + 1 >= argc) {
          return -1;
        }
        *out = argv[++i];
        return 1;
      }
      if (a.rfind(name + "=", 0) == 0) {
        *out = a.substr(name.size() + 1);
        return 1;
      }
      return 0;
    };
    std::string v;
    int got = 0;
    if (a == "-n" || a == "--dry-run") {
      dry_run = DryRun::yes;
    } else if (a == "-v" || a == "--verbose") {
      ++verbose;
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if ((got = value("--now", &v)) != 0) {
      if (got < 0) return usage_error("option '--now' needs a value");
      now_text = v;
      now_given = true;
    } else if ((got = value("--config", &v)) != 0 || (got = value("-c", &v)) != 0) {
      if (got < 0) return usage_error("option '-c' needs a value");
      config_file = v;
    } else if (a == "--wait") {
      wait_seconds = -1;
    } else if (a.rfind("--wait=", 0) == 0) {
      char* end = nullptr;
      long w = std::strtol(a.c_str() + 7, &end, 10);
      if (a.size() == 7 || *end != '\0' || w < 0) {
        return usage_error(fmt::format("--wait: bad number of seconds '{}'", a.substr(7)));
      }
      wait_seconds = static_cast<int>(w);
    } else {
      args.push_back(a);
    }
  }
  if (now_given && now_text.empty()) {
    return usage_error("--now: empty time (give e.g. 2026-11-01T02:00)");
  }
  if (config_file.empty()) {
    const char* env = std::getenv("ROTATOR_CONF");
    config_file = env && *env ? env : "/etc/rotator.conf";
  }

  fs::PosixFs posix;
  auto cfg = config::load_config(posix, config_file);
  if (!cfg) {
    fmt::print(stderr, "{}\n", cfg.error().message());
    // A monitor parsing `status --json` / `--nagios` must see the failure too.
    if (command == "status") {
      for (const auto& a : args) {
        if (a == "--json") {
          fmt::print("{}", jobs::format_config_error_json(config_file, cfg.error().message()));
          return k_exit_error;
        }
        if (a == "--nagios") {
          auto report = jobs::nagios_config_error(cfg.error().message());
          fmt::print("{}", report.line);
          return report.exit_code;
        }
      }
    }
    return k_exit_error;
  }
  auto zone = Zone::from_name(cfg->timezone);
  if (!zone) {
    fmt::print(stderr, "rotator: {}\n", zone.error().message());
    return k_exit_error;
  }
  Instant now = now_instant();
  if (!now_text.empty()) {
    auto parsed = zone->parse_iso(now_text);
    if (!parsed) {
      return usage_error(fmt::format("--now: {}", parsed.error().message()));
    }
    now = *parsed;
  }

  log::Logger logger;
  logger.set_zone(*zone);
  logger.set_verbosity(quiet          ? log::Verbosity::quiet
                       : verbose >= 2 ? log::Verbosity::debug
                       : verbose == 1 ? log::Verbosity::verbose
                                      : log::Verbosity::normal);
  if (!cfg->logfile.empty()) {
    std::string err;
    if (!logger.open_file(cfg->logfile, &err)) {
      fmt::print(stderr, "rotator: {}\n", err);
      return k_exit_error;
    }
  }
  logger.set_journal(log::stream_is_journal(std::getenv("JOURNAL_STREAM"), 2));
  if (cfg->syslog) {
    logger.enable_syslog();
  }

  // The lock holder text and the log's start line: a dry run says so even
  // when -n came before the command (rotator -n weekly).
  std::string command_line = "rotator";
  bool dry_named = false;
  for (int i = optind; i < argc; ++i) {
    dry_named = dry_named || std::string(argv[i]) == "-n" || std::string(argv[i]) == "--dry-run";
  }
  if (dry_run == DryRun::yes && !dry_named) {
    command_line += " -n";
  }
  for (int i = optind; i < argc; ++i) {
    command_line += std::string(" ") + argv[i];
  }
  // sync = none: the same calls minus the commit-point syncs.
  fs::NoSyncFs nosync(posix);
  fs::Fs& fsys = cfg->sync == config::Sync::none ? static_cast<fs::Fs&>(nosync) : posix;
  Invocation inv{fsys,    *cfg,         logger,  *zone, now,
                 dry_run, wait_seconds, command, args,  command_line};
  if (const Command* cmd = find_command(command)) {
    return cmd->run(inv);
  }
  auto levels = cfg->levels();
  if (std::find(levels.begin(), levels.end(), command) != levels.end()) {
    logger.info("start: {}", command_line);
    // The progress line: for a human at a terminal only (never cron, the
    // journal or -q; the log file and syslog never see it).
    std::unique_ptr<log::Progress> progress;
    if (logger.stderr_tty() && !logger.journal() && logger.verbosity() != log::Verbosity::quiet) {
      progress = std::make_unique<log::Progress>([](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stderr);
        std::fflush(stderr);
      });
      logger.set_progress(progress.get());
    }
    int rc = cmd_level(inv);
    logger.set_progress(nullptr);
    logger.info("end: {} (exit {})", command_line, rc);
    return rc;
  }
  std::string known;
  for (const auto& l : levels) {
    known += (known.empty() ? "" : ", ") + l;
  }
  std::string cmds;
  for (const auto& k : k_commands) {
    cmds += (cmds.empty() ? "" : ", ") + std::string(k.name);
  }
  // A usual level name (`rotator monthly` when no job keeps monthly
  // generations) is most likely a crontab line left from another config.
  static const char* const k_usual_levels[] = {"hourly", "daily", "weekly", "monthly", "yearly"};
  std::string why;
  for (const char* usual : k_usual_levels) {
    if (command == usual) {
      why = fmt::format("; no job in '{}' uses level '{}'", config_file, command);
    }
  }
  return usage_error(fmt::format("unknown level or command '{}' (levels: {}; commands: {}){}",
                                 command, known.empty() ? "none" : known, cmds, why));
}

}  // namespace rotator::cli
