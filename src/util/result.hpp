// Error values that keep errno, and Result<T> = T or Error.
//
// The engine never throws: every fallible call returns Result<T>. Callers
// branch on error().sys_errno (EMLINK -> copy instead of link, EXDEV -> config
// error, ENOSPC -> abort before pruning) and propagate with TRY / TRY_ASSIGN.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rotator {

struct Error {
  int sys_errno = 0;   // errno of the failed system call, 0 if not a system error
  std::string op;      // what was attempted: "rename", "link", "parse"
  std::string path;    // the subject, as the user would name it
  std::string detail;  // free text (second path, rsync's message, ...)

  // Human-readable, git style: "failed to rename 'a' to 'b': No space left on device".
  // When op is empty, `detail` is the whole message (config errors already carry file:line:).
  std::string message() const;
};

// Builds an Error from errno-style codes.
Error sys_error(int err, std::string op, std::string path, std::string detail = {});
// Builds a non-system Error whose message() is exactly `text`.
Error plain_error(std::string text);

// with_context(e, op, path, detail): `e` restated by a caller that knows what
// the failed call was about, so that the message names the path as the user
// knows it. Lower layers name what they were given: a name relative to a
// directory descriptor ("daily.1"), or nothing at all for a call that only
// has a descriptor (Fs::list_dir, fsync_dir, sync_fs, ...: path is empty).
//
// Returns an Error with e.sys_errno kept (callers still branch on ENOENT,
// EMLINK, ENOSPC ...) and op, path and detail replaced by the given ones
// (`detail` empty unless given: the callee's detail names the callee's
// relative paths). An Error without op is a complete message already (a
// plain_error: a refusal, a config error) and is returned unchanged.
Error with_context(Error e, std::string_view op, std::string path, std::string detail = {});

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const { return m_v.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(m_v); }
  Error& error() { return std::get<1>(m_v); }

 private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_has_error(true), m_error(std::move(error)) {}
  bool has_value() const { return !m_has_error; }
  explicit operator bool() const { return has_value(); }
  const Error& error() const { return m_error; }
  Error& error() { return m_error; }

 private:
  bool m_has_error = false;
  Error m_error;
};

using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace rotator

#define ROTATOR_CONCAT2(a, b) a##b
#define ROTATOR_CONCAT(a, b) ROTATOR_CONCAT2(a, b)

// TRY(expr): evaluate a Result-returning expression; return its Error on failure.
#define TRY(expr)                            \
  do {                                       \
    auto&& try_result_ = (expr);             \
    if (!try_result_) {                      \
      return std::move(try_result_.error()); \
    }                                        \
  } while (false)

// TRY_ASSIGN(lhs, expr): like TRY, and on success move the value into `lhs`
// (which may be a declaration: TRY_ASSIGN(auto x, f())).
#define TRY_ASSIGN(lhs, expr) TRY_ASSIGN_IMPL(ROTATOR_CONCAT(try_tmp_, __LINE__), lhs, expr)
#define TRY_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                    \
  if (!tmp) {                           \
    return std::move(tmp.error());      \
  }                                     \
  lhs = std::move(tmp).value()

// TRY_CONTEXT(expr, op, path[, detail]): like TRY, but the Error returned is
// with_context(error, op, path[, detail]). The context arguments are
// evaluated only on failure.
#define TRY_CONTEXT(expr, ...)                                                     \
  do {                                                                             \
    auto&& try_result_ = (expr);                                                   \
    if (!try_result_) {                                                            \
      return ::rotator::with_context(std::move(try_result_.error()), __VA_ARGS__); \
    }                                                                              \
  } while (false)

// TRY_ASSIGN_CONTEXT(lhs, expr, op, path[, detail]): TRY_ASSIGN with the
// context of TRY_CONTEXT.
#define TRY_ASSIGN_CONTEXT(lhs, expr, ...) \
  TRY_ASSIGN_CONTEXT_IMPL(ROTATOR_CONCAT(try_tmp_, __LINE__), lhs, expr, __VA_ARGS__)
#define TRY_ASSIGN_CONTEXT_IMPL(tmp, lhs, expr, ...)                     \
  auto tmp = (expr);                                                     \
  if (!tmp) {                                                            \
    return ::rotator::with_context(std::move(tmp.error()), __VA_ARGS__); \
  }                                                                      \
  lhs = std::move(tmp).value()
