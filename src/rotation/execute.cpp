#include "rotation/execute.hpp"

namespace rotator::rotation {

Status apply_ops(OpTarget& target, const std::vector<Op>& ops, Applied& applied) {
  for (const auto& op : ops) {
    if (op.kind == OpKind::rename) {
      TRY(target.rename_generation(op.from, op.to));
      ++applied.renamed;
    } else {
      TRY(target.expire_generation(op.from));
      ++applied.expired;
      applied.expired_names.push_back(op.from);
    }
  }
  return ok();
}

}  // namespace rotator::rotation
