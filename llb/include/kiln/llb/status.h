// Status and Result<T>: how every fallible kiln function reports failure.
//
// Errors cross threads, processes and gRPC, so they are values, never
// exceptions. Codes are the canonical gRPC codes (as in Abseil), so the gateway
// maps them one to one. A Status may carry source ranges so that a frontend
// error can point at the line of the file that caused it.
//
// Messages start lowercase, have no trailing period, and say what failed and
// where. Add context on the way up with Status::WithContext().
//
// Thread safety: Status and Result are values; distinct objects may be used
// from different threads freely, one object needs external synchronization.
#ifndef KILN_LLB_STATUS_H_
#define KILN_LLB_STATUS_H_

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kiln {

// Canonical codes, numerically equal to grpc::StatusCode.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Lowercase name of a code, e.g. "invalid argument".
std::string_view StatusCodeName(StatusCode code);

// A region of a source file, 1-based lines and columns; an end of 0 means
// "same as start".
struct SourceRange {
  std::string file;
  int line = 0;
  int column = 0;
  int end_line = 0;
  int end_column = 0;
};

class [[nodiscard]] Status {
 public:
  // The OK status. Cheap: holds no allocation.
  Status() = default;
  // An error status; `code` must not be kOk.
  Status(StatusCode code, std::string message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // Empty for OK.
  const std::string& message() const;
  // Source ranges attached with WithRange(), innermost first.
  const std::vector<SourceRange>& ranges() const;

  // Returns this status with "context: " prepended to the message (OK stays OK).
  Status WithContext(std::string_view context) const;
  // Returns this status with a source range attached (OK stays OK).
  Status WithRange(SourceRange range) const;

  // "code name: message", or "ok". Ranges are rendered as "file:line:col: "
  // before the message when present.
  std::string ToString() const;

  // Marks a status as deliberately dropped.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b);

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    std::vector<SourceRange> ranges;
  };
  std::unique_ptr<Rep> rep_;
};

// Convenience constructors, one per commonly used code.
Status CancelledError(std::string message);
Status UnknownError(std::string message);
Status InvalidArgumentError(std::string message);
Status DeadlineExceededError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status FailedPreconditionError(std::string message);
Status OutOfRangeError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
Status UnavailableError(std::string message);
Status DataLossError(std::string message);

// Either a T or an error Status. Accessing the value of an error Result is a
// programming error (checked by assert).
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>,
                "Result<Status> is not allowed");

 public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design.
  Result(T value) : value_(std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor): `return SomeError(...)`.
  Result(Status status) : status_(std::move(status)) {
    assert(!status_.ok() && "Result constructed from an OK status");
    if (status_.ok()) status_ = InternalError("result built from an ok status");
  }
  template <typename U,
            typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                        !std::is_same_v<std::decay_t<U>, T> &&
                                        !std::is_same_v<std::decay_t<U>, Status>>>
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(U&& value) : value_(T(std::forward<U>(value))) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value, or `fallback` for an error.
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

  // This result, with `context` added to an error (see Status::WithContext).
  Result WithContext(std::string_view context) && {
    if (ok()) return std::move(*this);
    return Result(status_.WithContext(context));
  }

 private:
  Status status_;
  std::optional<T> value_;
};

namespace internal {
inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const Result<T>& r) {
  return r.status();
}
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr,
                              std::string_view message);
}  // namespace internal

}  // namespace kiln

#define KILN_CONCAT_INNER_(a, b) a##b
#define KILN_CONCAT_(a, b) KILN_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the current function if it is an error.
#define KILN_RETURN_IF_ERROR(expr)                                          \
  do {                                                                      \
    auto&& kiln_value_ = (expr); /* extends a temporary's lifetime */       \
    if (!::kiln::internal::GetStatus(kiln_value_).ok()) {                   \
      return ::kiln::Status(::kiln::internal::GetStatus(kiln_value_));      \
    }                                                                       \
  } while (false)

// `lhs` = the value of Result-returning `expr`, or returns its error.
// `lhs` may declare a variable: KILN_ASSIGN_OR_RETURN(auto x, Foo());
#define KILN_ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_CONCAT_(kiln_result_, __LINE__), lhs, expr)
#define KILN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return ::kiln::Status(tmp.status()); \
  lhs = std::move(tmp).value()

// For programmer bugs only, never for user input: aborts with a message.
// Active in every build type.
#define KILN_CHECK(cond, message)                                              \
  do {                                                                         \
    if (!(cond)) ::kiln::internal::CheckFailed(__FILE__, __LINE__, #cond, (message)); \
  } while (false)

#endif  // KILN_LLB_STATUS_H_
