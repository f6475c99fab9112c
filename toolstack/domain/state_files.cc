#include "toolstack/domain/state_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "toolstack/hypervisor/host_files.h"

namespace txend::toolstack {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxStateFileBytes = sxp::ParseLimits{}.max_bytes;

Status WriteAll(int fd, const std::string& text, const std::string& path) {
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(errno, "cannot write " + path + ": " + strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectoryOf(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0)
    return Status::Error(errno, "cannot sync " + dir + ": " + strerror(errno));
  return Status::Ok();
}

}  // namespace

std::vector<std::string> ListStateFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".sxp") files.push_back(it->path().string());
  std::sort(files.begin(), files.end());
  return files;
}

Result<sxp::Value> ReadStateFile(const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(std::string text, ReadRegularFile(path, "state file", kMaxStateFileBytes));
  auto value = sxp::Parse(text);
  if (!value.ok()) return Status::Error(EINVAL, path + ": " + value.status().message());
  return value;
}

Status WriteStateFile(const std::string& path, const std::string& text, Durability durability) {
  const std::string tmp = path + ".tmp";
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, CreateRegularFileToWrite(tmp, "state file"));
  Status written = WriteAll(fd.get(), text, tmp);
  if (written.ok() && durability == Durability::kHostCrash && ::fsync(fd.get()) != 0)
    written = Status::Error(errno, "cannot sync " + tmp + ": " + strerror(errno));
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = Status::Error(errno, "cannot write " + path + ": " + strerror(errno));
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  return durability == Durability::kHostCrash ? SyncDirectoryOf(path) : Status::Ok();
}

void RemoveStateFile(const std::string& path, Durability durability) {
  if (::unlink(path.c_str()) == 0 && durability == Durability::kHostCrash)
    (void)SyncDirectoryOf(path);
}

std::string SetAsideUnreadable(const std::string& path, const Status& why) {
  std::string aside = fs::path(path).replace_extension(".unreadable").string();
  if (::rename(path.c_str(), aside.c_str()) != 0)
    return why.message() + " (left in place: cannot rename it: " + strerror(errno) + ")";
  return why.message() + " (kept as " + aside + ")";
}

}  // namespace txend::toolstack
