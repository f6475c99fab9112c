#include "toolstack/bootloader/bootloader_command.h"

#include <unistd.h>

#include <cstring>
#include <sys/stat.h>

namespace txend::toolstack {
namespace {

Status Invalid(std::string message) { return Status::Error(EINVAL, std::move(message)); }

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The parts of a uname: "tap:aio:/x" -> {"tap", "aio", "/x"}; the path keeps its colons.
std::vector<std::string> UnameParts(const std::string& uname, size_t parts) {
  std::vector<std::string> out;
  size_t start = 0;
  while (out.size() + 1 < parts) {
    size_t colon = uname.find(':', start);
    if (colon == std::string::npos) break;
    out.push_back(uname.substr(start, colon - start));
    start = colon + 1;
  }
  out.push_back(uname.substr(start));
  return out;
}

// A blktap uname's image path when its format is raw (aio, sync); else EINVAL.
Result<std::string> RawTapPath(const std::string& uname, const std::string& dev) {
  std::vector<std::string> parts = UnameParts(uname, 4);  // tap2:tapdisk:aio:/x or tap:aio:/x
  if (parts.size() >= 3 && parts[1] == "tapdisk") parts.erase(parts.begin() + 1);
  if (parts.size() >= 3 && (parts[1] == "aio" || parts[1] == "sync")) {
    std::string path = parts[2];
    for (size_t i = 3; i < parts.size(); ++i) path += ":" + parts[i];
    return path;
  }
  return Invalid("disk " + dev + " (" + uname +
                 ") is not a raw image: a bootloader reads raw images and devices only");
}

Status CheckProgram(const std::string& program) {
  struct stat st;
  if (::stat(program.c_str(), &st) != 0)
    return Status::Error(errno, "bootloader " + program + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) || ::access(program.c_str(), X_OK) != 0)
    return Status::Error(EACCES, "bootloader " + program + " is not executable");
  return Status::Ok();
}

Status CheckDisk(const std::string& disk) {
  struct stat st;
  if (::stat(disk.c_str(), &st) != 0)
    return Status::Error(errno, "disk " + disk + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    return Invalid("disk " + disk + " is not a disk image or a block device");
  if (::access(disk.c_str(), R_OK) != 0)
    return Status::Error(errno, "disk " + disk + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

std::string BootloaderProgram(const DomainConfig& config, const std::string& pygrub) {
  std::string named = config.bootloader.value_or("");
  if (named.empty() || named == "pygrub") return pygrub;
  if (Basename(named) == "pygrub" && ::access(named.c_str(), F_OK) != 0) return pygrub;
  return named;
}

Result<std::vector<std::string>> SplitShellWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (IsBlank(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\\') {
      if (++i == text.size()) return Invalid("bootloader_args: no escaped character");
      word += text[i];
      in_word = true;
    } else if (c == '\'' || c == '"') {
      size_t close = i + 1;
      for (; close < text.size() && text[close] != c; ++close) {
        bool escapes = c == '"' && text[close] == '\\' && close + 1 < text.size() &&
                       (text[close + 1] == '"' || text[close + 1] == '\\');
        if (escapes) ++close;
        word += text[close];
      }
      if (close == text.size()) return Invalid("bootloader_args: no closing quotation");
      i = close;
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

Result<std::string> BootDiskPath(const DomainConfig& config) {
  for (size_t i = 0; i < config.vbds.size(); ++i) {
    const VbdConfig& vbd = config.vbds[i];
    if (!vbd.bootable.value_or(i == 0)) continue;  // xend: the first disk unless told
    if (vbd.uname.empty()) return Invalid("the bootable disk " + vbd.dev + " is an empty drive");
    if (vbd.uname.starts_with("tap:") || vbd.uname.starts_with("tap2:"))
      return RawTapPath(vbd.uname, vbd.dev);
    if (vbd.uname.starts_with("phy:") || vbd.uname.starts_with("file:"))
      return BlockBackingPath(vbd.uname);
    return Invalid("disk " + vbd.dev + " (" + vbd.uname + ") cannot be read by a bootloader");
  }
  return Invalid("the domain has no bootable disk");
}

Result<BootloaderCommand> MakeBootloaderCommand(const DomainConfig& config,
                                                const std::string& pygrub,
                                                const std::string& output,
                                                const std::string& output_dir) {
  BootloaderCommand c;
  c.program = BootloaderProgram(config, pygrub);
  auto fail = [&](const Status& st) {
    std::string message = st.message();
    if (!message.starts_with("bootloader ")) message = "bootloader " + c.program + ": " + message;
    return Status::Error(st.code(), message);
  };
  Status program_ok = CheckProgram(c.program);
  if (!program_ok.ok()) return fail(program_ok);
  auto disk = BootDiskPath(config);
  if (!disk.ok()) return fail(disk.status());
  c.disk = *disk;
  Status disk_ok = CheckDisk(c.disk);
  if (!disk_ok.ok()) return fail(disk_ok);
  auto user_args = SplitShellWords(config.bootloader_args);
  if (!user_args.ok()) return fail(user_args.status());

  c.argv.push_back(c.program);
  const ImageConfig& image = config.image;
  if (!image.kernel.empty()) c.argv.push_back("--kernel=" + image.kernel);
  if (!image.ramdisk.empty()) c.argv.push_back("--ramdisk=" + image.ramdisk);
  if (!image.args.empty()) c.argv.push_back("--args=" + image.args);
  c.argv.push_back("--output=" + output);
  if (Basename(c.program) == "pygrub") c.argv.push_back("--output-directory=" + output_dir);
  c.argv.insert(c.argv.end(), user_args->begin(), user_args->end());
  c.argv.push_back(c.disk);
  return c;
}

}  // namespace txend::toolstack
