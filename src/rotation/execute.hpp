// Applies rotation plans (plan.hpp) in order. The ops are names only; a
// `OpTarget` does each one in the directory the plan was made for (the
// snapshot job's SnapDir moves an expired generation into its .trash), so
// this layer needs no Fs and no job.
//
// Error handling: apply_ops stops at the first failed op and returns its
// Error; `applied` then counts the ops that were done. Because every plan is
// resumable (plan.hpp, "Crash safety"), the caller recovers by planning again
// on the new listing, never by undoing.
#pragma once

#include <string>
#include <vector>

#include "rotation/plan.hpp"
#include "util/result.hpp"

namespace rotator::rotation {

class OpTarget {
 public:
  virtual ~OpTarget() = default;
  // Renames generation `from` to `to` (which does not exist): one rename.
  virtual Status rename_generation(const std::string& from, const std::string& to) = 0;
  // Takes generation `name` out of the listing (one rename, e.g. into a trash).
  virtual Status expire_generation(const std::string& name) = 0;
};

// What apply_ops did (counts accumulate over several calls).
struct Applied {
  long renamed = 0;
  long expired = 0;
  std::vector<std::string> expired_names;  // in the order expired
};

// Applies `ops` in order through `target`. Returns ok when all were done,
// else the first op's Error (see above).
Status apply_ops(OpTarget& target, const std::vector<Op>& ops, Applied& applied);

}  // namespace rotator::rotation
