#include "base/status.h"

#include <array>
#include <string_view>

namespace txend {
namespace {

struct ErrnoEntry {
  int code;
  std::string_view name;
};

// Every errno the project reports. The xenstore wire protocol carries these
// names as strings, so they must match Xen's spelling.
constexpr std::array<ErrnoEntry, 27> kErrnoNames{{
    {EINVAL, "EINVAL"},         {EACCES, "EACCES"},
    {EEXIST, "EEXIST"},         {EISDIR, "EISDIR"},
    {ENOENT, "ENOENT"},         {ENOMEM, "ENOMEM"},
    {ENOSPC, "ENOSPC"},         {EIO, "EIO"},
    {ENOTEMPTY, "ENOTEMPTY"},   {ENOSYS, "ENOSYS"},
    {EROFS, "EROFS"},           {EBUSY, "EBUSY"},
    {EAGAIN, "EAGAIN"},         {EISCONN, "EISCONN"},
    {E2BIG, "E2BIG"},           {EPERM, "EPERM"},
    {EDQUOT, "EQUOTA"},         {ENOTDIR, "ENOTDIR"},
    {ETIMEDOUT, "ETIMEDOUT"},   {ECONNREFUSED, "ECONNREFUSED"},
    {ECONNRESET, "ECONNRESET"}, {EPROTO, "EPROTO"},
    {ENOTSUP, "ENOTSUP"},       {ERANGE, "ERANGE"},
    {ESRCH, "ESRCH"},           {ECANCELED, "ECANCELED"},
    {EBADF, "EBADF"},
}};

}  // namespace

std::string ErrnoName(int code) {
  for (const auto& e : kErrnoNames)
    if (e.code == code) return std::string(e.name);
  return "E" + std::to_string(code);
}

int ErrnoFromName(std::string_view name) {
  for (const auto& e : kErrnoNames)
    if (e.name == name) return e.code;
  return 0;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  if (message_.empty()) return ErrnoName(code_);
  return ErrnoName(code_) + ": " + message_;
}

}  // namespace txend
