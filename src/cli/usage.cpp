#include "cli/commands.hpp"

namespace rotator::cli {

const char* const k_usage_text = R"(usage: rotator [OPTIONS] COMMAND [ARGS]

Backup rotation for hard-linked backup trees on one filesystem.

Commands:
  LEVEL            run every job whose run_on (or rotate keep) names LEVEL,
                   e.g. rotator daily, rotator weekly
  check            validate the configuration and the environment
  status [--json]  last success/failure of every job; exit 0 only if all are fine
  prune [-n] [--explain]
                   finish or roll back interrupted snapshot runs, expire the
                   generations `keep` no longer keeps (creates nothing);
                   --explain lists every generation and the rule keeping it
  versions PATH [--deleted] [--json]
                   every version of a file; for a directory every path below
                   it with its versions and when it was deleted
  find PATTERN [--json]
                   every path in any place whose name matches PATTERN
  restore PATH [--at WHEN | --version N] [--to DEST] [-n] [--force] [--json]
                   copy a version out (never over an existing DEST unless
                   --force, which keeps it as DEST.~N~)
  diff A B [PATH] [--json]
                   what changed between places A and B (clone, backup,
                   holding/DATE, a generation, JOB:NAME, @WHEN)
  du [JOB] [--json]
                   apparent, exclusive and freed-if-deleted size of each place

Options:
  -c, --config FILE  configuration file (default $ROTATOR_CONF or /etc/rotator.conf)
  -n, --dry-run      print what would be done (itemized), change nothing
  -v, --verbose      more messages (twice: debug)
  -q, --quiet        only errors
      --now TIME     pretend the time is TIME (2026-11-01T02:00[:30], config time zone)
      --wait[=SECS]  wait for a running rotator instead of failing (forever if no SECS)
  -h, --help         this text
  -V, --version      version

Exit status: 0 ok, 1 error (the failed job committed nothing), 2 completed with warnings.
See rotator(1) and rotator.conf(5).
)";

}  // namespace rotator::cli
