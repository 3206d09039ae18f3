// Status: the result of an operation that can fail, as a value (no exceptions).
//
// The core never throws on purpose; a Status carries a human-readable message
// that is meant to be shown to an operator as is (it says what is wrong and, for
// configuration errors, what is accepted).
//
// Status is [[nodiscard]]: a caller either handles it or casts it to void with
// a comment saying why ignoring it is safe.
#ifndef BG_ERROR_H
#define BG_ERROR_H

#include <string>
#include <utility>

namespace bg {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(Code::kError, std::move(message)); }
  // The operation could not reach or use its backing service (database, file);
  // retrying later may succeed.
  static Status Unavailable(std::string message) {
    return Status(Code::kUnavailable, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  bool unavailable() const { return code_ == Code::kUnavailable; }
  const std::string& message() const { return message_; }

 private:
  enum class Code { kOk, kError, kUnavailable };
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace bg

#endif  // BG_ERROR_H
