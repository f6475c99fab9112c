#include "tests/support/small_filesystem.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "base/unique_fd.h"

namespace txend::testing {

Result<std::unique_ptr<SmallFilesystem>> SmallFilesystem::Mount(size_t bytes) {
  std::unique_ptr<SmallFilesystem> fs(new SmallFilesystem());
  std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
  if (mount("tmpfs", fs->path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
    return Status::Error(errno, "cannot mount a tmpfs on " + fs->path() + ": " + strerror(errno) +
                                    " (needs root / CAP_SYS_ADMIN)");
  fs->mounted_ = true;
  return fs;
}

SmallFilesystem::~SmallFilesystem() {
  if (mounted_) umount2(path().c_str(), MNT_DETACH);
}

size_t SmallFilesystem::free_bytes() const {
  struct statvfs st {};
  if (statvfs(path().c_str(), &st) != 0) return 0;
  return static_cast<size_t>(st.f_bavail) * st.f_frsize;
}

void SmallFilesystem::Fill(size_t leave) {
  UniqueFd fd(open((*this / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  static const std::string chunk(4096, 'f');
  while (fd && free_bytes() > leave)
    if (write(fd.get(), chunk.data(), chunk.size()) <= 0) break;
}

void SmallFilesystem::Unfill() { unlink((*this / "filler").c_str()); }

}  // namespace txend::testing
