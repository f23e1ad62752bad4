#include "util/result.hpp"

#include <cstring>

#include <fmt/format.h>

namespace rotator {

std::string Error::message() const {
  if (op.empty()) {
    return detail;
  }
  std::string msg = fmt::format("failed to {} '{}'", op, path);
  if (!detail.empty()) {
    msg += fmt::format(" {}", detail);
  }
  if (sys_errno != 0) {
    msg += fmt::format(": {}", std::strerror(sys_errno));
  }
  return msg;
}

Error sys_error(int err, std::string op, std::string path, std::string detail) {
  return Error{err, std::move(op), std::move(path), std::move(detail)};
}

Error with_context(Error e, std::string_view op, std::string path, std::string detail) {
  if (e.op.empty()) {
    return e;
  }
  e.op = op;
  e.path = std::move(path);
  e.detail = std::move(detail);
  return e;
}

Error plain_error(std::string text) { return Error{0, {}, {}, std::move(text)}; }

}  // namespace rotator
