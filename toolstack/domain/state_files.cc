#include "toolstack/domain/state_files.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/host_files.h"

namespace txend::toolstack {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxStateFileBytes = sxp::ParseLimits{}.max_bytes;

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
  return ReplaceRegularFile(path, text, durability == Durability::kHostCrash);
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
