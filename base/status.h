// Status: the outcome of an operation at a component boundary — ok, or an
// errno-like code plus a human-readable message. Modelled on LevelDB's Status.
#pragma once

#include <cerrno>
#include <string>
#include <utility>

namespace txend {

class Status {
 public:
  Status() = default;  // ok
  static Status Ok() { return Status(); }
  // `code` is an errno value (ENOENT, EACCES, ...); 0 is reserved for ok.
  static Status Error(int code, std::string message) {
    return Status(code == 0 ? EIO : code, std::move(message));
  }

  bool ok() const { return code_ == 0; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ENOENT: no such domain demo" — the errno name, then the message if any.
  std::string ToString() const;

 private:
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}
  int code_ = 0;
  std::string message_;
};

// Name of an errno value as xenstore spells it ("ENOENT"), or "E<number>".
std::string ErrnoName(int code);
// Inverse of ErrnoName; returns 0 for unknown names.
int ErrnoFromName(std::string_view name);

}  // namespace txend
