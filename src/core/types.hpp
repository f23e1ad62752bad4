// The small vocabulary every layer shares, defined once (ccache's
// core/types.hpp is the model). Header only, no logic; it includes nothing
// of rotator, so any layer may include it.
#pragma once

namespace rotator {

// Whether a run only prints what it would do (--dry-run / -n): nothing on
// disk changes, the state included.
enum class DryRun { no, yes };

// Whether directories left empty by the filter are dropped from a backup
// (`prune_empty_dirs`, like rsync -m).
enum class PruneEmpty { no, yes };

// The process exit status; a contract (rotator(1) EXIT STATUS): 0 every job
// succeeded, 1 an error (or a job failed), 2 warnings only.
enum ExitStatus : int { k_exit_ok = 0, k_exit_error = 1, k_exit_warning = 2 };

}  // namespace rotator
