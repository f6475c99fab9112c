// Test support: a disk that fills up — a tmpfs of a fixed size mounted on a
// fresh temp directory, unmounted (lazily) and removed on destruction. Needs
// root (CAP_SYS_ADMIN); elsewhere Mount says why, and the test skips.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "base/result.h"
#include "tests/support/daemon_process.h"

namespace txend::testing {

class SmallFilesystem {
 public:
  static Result<std::unique_ptr<SmallFilesystem>> Mount(size_t bytes);
  ~SmallFilesystem();
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  const std::string& path() const { return dir_.path(); }
  std::string operator/(const std::string& name) const { return dir_ / name; }
  // Bytes still free.
  size_t free_bytes() const;
  // Takes all but about `leave` free bytes with a filler file (kept until Unfill).
  void Fill(size_t leave = 0);
  // Removes the filler: the space is back.
  void Unfill();

 private:
  SmallFilesystem() = default;
  TempDir dir_;
  bool mounted_ = false;
};

}  // namespace txend::testing
