#include "base/host_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace txend {
namespace {

Status FileError(int err, std::string_view what, const std::string& path, std::string why = "") {
  if (why.empty()) why = std::strerror(err);
  return Status::Error(err, std::string(what) + " " + path + ": " + why);
}

std::string_view KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

// EISDIR for a directory, EINVAL for anything else but a regular file.
Status CheckRegular(const struct stat& st, std::string_view what, const std::string& path) {
  if (S_ISREG(st.st_mode)) return Status::Ok();
  if (S_ISDIR(st.st_mode)) return FileError(EISDIR, what, path);
  return FileError(EINVAL, what, path,
                   "not a regular file (" + std::string(KindOf(st.st_mode)) + ")");
}

// Regular files ignore O_NONBLOCK; clearing it keeps later reads and writes plain.
Status ClearNonBlocking(int fd, std::string_view what, const std::string& path) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
    return FileError(errno, what, path);
  return Status::Ok();
}

}  // namespace

Result<UniqueFd> OpenRegularFileToRead(const std::string& path, std::string_view what,
                                       uint64_t max_bytes) {
  if (path.empty()) return Status::Error(EINVAL, "no " + std::string(what) + " path given");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return FileError(errno, what, path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return FileError(errno, what, path);
  TXEND_RETURN_IF_ERROR(CheckRegular(st, what, path));
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return FileError(EFBIG, what, path,
                     std::to_string(st.st_size) + " bytes, larger than the " +
                         std::to_string(max_bytes >> 20) + " MiB allowed");
  TXEND_RETURN_IF_ERROR(ClearNonBlocking(fd.get(), what, path));
  return fd;
}

Result<std::string> ReadRegularFile(const std::string& path, std::string_view what,
                                    uint64_t max_bytes) {
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, OpenRegularFileToRead(path, what, max_bytes));
  std::string data;
  char chunk[16384];
  while (true) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(errno, what, path);
    if (n == 0) return data;
    if (data.size() + static_cast<size_t>(n) > max_bytes)
      return FileError(EFBIG, what, path,
                       "more than the " + std::to_string(max_bytes) + " bytes allowed");
    data.append(chunk, static_cast<size_t>(n));
  }
}

Result<std::string> ReadRegularFileTail(const std::string& path, std::string_view what,
                                        uint64_t bytes) {
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, OpenRegularFileToRead(path, what, UINT64_MAX));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return FileError(errno, what, path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t from = size > bytes ? size - bytes : 0;
  std::string data(size - from, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n =
        ::pread(fd.get(), data.data() + got, data.size() - got, static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(errno, what, path);
    if (n == 0) break;  // truncated meanwhile
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

Result<UniqueFd> CreateRegularFileToWrite(const std::string& path, std::string_view what,
                                          mode_t mode) {
  if (path.empty()) return Status::Error(EINVAL, "no " + std::string(what) + " path given");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) TXEND_RETURN_IF_ERROR(CheckRegular(st, what, path));
  // O_NONBLOCK: a FIFO put there meanwhile fails (ENXIO) or is caught by fstat, never waited on.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode));
  if (!fd) {
    if (errno == ENXIO) return FileError(EINVAL, what, path, "not a regular file (a FIFO)");
    return FileError(errno, what, path);
  }
  if (::fstat(fd.get(), &st) != 0) return FileError(errno, what, path);
  TXEND_RETURN_IF_ERROR(CheckRegular(st, what, path));
  if (::ftruncate(fd.get(), 0) != 0) return FileError(errno, what, path);
  TXEND_RETURN_IF_ERROR(ClearNonBlocking(fd.get(), what, path));
  return fd;
}

Status WriteAll(int fd, std::string_view bytes, const std::string& name) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return FileError(n < 0 ? errno : EIO, "cannot write", name);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return FileError(errno, "cannot sync", dir);
  return Status::Ok();
}

Status ReplaceRegularFile(const std::string& path, std::string_view bytes, bool sync, mode_t mode) {
  const std::string tmp = path + ".tmp";
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, CreateRegularFileToWrite(tmp, "file", mode));
  Status written = WriteAll(fd.get(), bytes, tmp);
  if (written.ok() && sync && ::fsync(fd.get()) != 0)
    written = FileError(errno, "cannot sync", tmp);
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = FileError(errno, "cannot write", path);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  return sync ? SyncDirectoryOf(path) : Status::Ok();
}

}  // namespace txend
