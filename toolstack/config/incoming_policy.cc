#include "toolstack/config/incoming_policy.h"

#include <array>
#include <sstream>
#include <string_view>

namespace txend::toolstack {
namespace {

// Dom0's own block devices and system directories: never an incoming guest's disk.
constexpr std::array<std::string_view, 24> kDom0SystemPaths = {
    "/dev/sd",   "/dev/hd",   "/dev/vd",   "/dev/xvd",   "/dev/nvme", "/dev/mmcblk",
    "/dev/md",   "/dev/dm-",  "/dev/loop", "/dev/disk/", "/dev/mem",  "/dev/kmem",
    "/dev/port", "/dev/root", "/etc/",     "/boot/",     "/usr/",     "/bin/",
    "/sbin/",    "/lib",      "/root/",    "/proc/",     "/sys/",     "/var/lib/txend/"};

// The host path a disk's uname names ("phy:sda" is /dev/sda, as xend read it),
// or "" for an empty CD drive.
std::string DiskPath(const VbdConfig& vbd) {
  std::string_view u = vbd.uname;
  bool phy = u.starts_with("phy:");
  size_t colon = u.rfind(':');  // tap:aio:/img, file:/img, phy:/dev/x
  std::string path(colon == std::string_view::npos ? u : u.substr(colon + 1));
  if (phy && !path.empty() && path[0] != '/') path = "/dev/" + path;
  return path;
}

bool HasDotDot(const std::string& path) {
  return path.find("/../") != std::string::npos || path.ends_with("/..");
}

bool InStorage(const std::string& path, const std::string& rule) {
  if (rule.starts_with('/')) return path.starts_with(rule);
  return path.starts_with("/dev/" + rule + "/") || path.starts_with("/dev/mapper/" + rule + "-");
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

Status CheckDisk(const IncomingPolicy& policy, const VbdConfig& vbd) {
  std::string path = DiskPath(vbd);
  if (path.empty()) return Status::Ok();
  std::string what =
      "refused by the incoming-domain policy: disk " + vbd.dev + " ('" + vbd.uname + "')";
  if (path[0] != '/' || HasDotDot(path))
    return Status::Error(EACCES, what + " is not an absolute path without '..'");
  if (policy.storage.empty()) {
    for (std::string_view system : kDom0SystemPaths)
      if (path.starts_with(system))
        return Status::Error(EACCES, what + " is dom0's own (" + std::string(system) +
                                         "...); txend-incoming-storage lists what may be used");
    return Status::Ok();
  }
  for (const auto& rule : policy.storage)
    if (InStorage(path, rule)) return Status::Ok();
  return Status::Error(
      EACCES, what + " is outside txend-incoming-storage (" + Joined(policy.storage) + ")");
}

Status CheckBridge(const IncomingPolicy& policy, const VifConfig& vif, size_t index) {
  if (policy.bridges.empty()) return Status::Ok();
  for (const auto& b : policy.bridges)
    if (vif.bridge == b) return Status::Ok();
  return Status::Error(EACCES, "refused by the incoming-domain policy: vif " +
                                   std::to_string(index) + " joins bridge '" + vif.bridge +
                                   "', not in txend-incoming-bridges (" + Joined(policy.bridges) +
                                   ")");
}

}  // namespace

std::vector<std::string> PolicyWords(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

Status CheckIncomingPolicy(const IncomingPolicy& policy, const DomainConfig& config) {
  for (const auto& vbd : config.vbds) TXEND_RETURN_IF_ERROR(CheckDisk(policy, vbd));
  for (size_t i = 0; i < config.vifs.size(); ++i)
    TXEND_RETURN_IF_ERROR(CheckBridge(policy, config.vifs[i], i));
  return Status::Ok();
}

}  // namespace txend::toolstack
