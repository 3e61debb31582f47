#pragma once
// Value-or-error types used across module boundaries instead of exceptions
// (leveldb's Status, absl::StatusOr in spirit). Messages carry context, e.g.
// "apply routes: add 10.4.0.0/16 dev kilo0: File exists".

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace kilo {

// Status is either OK or an error message. Cheap to copy when OK.
class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string msg) { return Status(std::move(msg)); }

  bool ok() const { return !msg_.has_value(); }
  explicit operator bool() const { return ok(); }
  // Returns the error message; "" when ok().
  const std::string& message() const {
    static const std::string kEmpty;
    return msg_ ? *msg_ : kEmpty;
  }
  // Returns a copy of this error with `context + ": "` prepended. OK stays OK.
  Status Wrap(const std::string& context) const {
    if (ok()) return *this;
    return Status(context + ": " + *msg_);
  }

 private:
  explicit Status(std::string msg) : msg_(std::move(msg)) {}
  std::optional<std::string> msg_;
};

// Result<T> holds a T or an error Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) {}  // NOLINT
  static Result Error(std::string msg) { return Result(Status::Error(std::move(msg))); }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // Returns the error; OK status when ok().
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  const std::string& error() const {
    static const std::string kEmpty;
    return ok() ? kEmpty : std::get<Status>(v_).message();
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kilo
