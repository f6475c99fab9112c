// Files a request or an operator names on dom0 — kernels, ramdisks, save images, core dumps,
// settings files — and the daemons' own state, opened so that no path can wedge the
// caller: without blocking (a FIFO with no peer, a tty), regular files only (never a FIFO,
// a device such as /dev/zero, a socket or a directory), and of bounded size when read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "base/result.h"
#include "base/unique_fd.h"

namespace txend {

// Opens a regular file for reading; `what` names it in errors ("kernel").
// ENOENT/EACCES/EISDIR/EINVAL (not a regular file) or EFBIG (larger than
// `max_bytes`), each naming the path.
Result<UniqueFd> OpenRegularFileToRead(const std::string& path, std::string_view what,
                                       uint64_t max_bytes);

// The whole of a regular file opened as above, read to its end: files whose size fstat
// does not tell (/proc) too, EFBIG past `max_bytes`. A failed read (ESRCH: a /proc entry of
// a process that exited meanwhile) is an error naming the path, never an exception.
Result<std::string> ReadRegularFile(const std::string& path, std::string_view what,
                                    uint64_t max_bytes);

// At most the last `bytes` bytes of a regular file opened as above, whatever its size (a log's
// tail for an error message); fewer when the file is shorter.
Result<std::string> ReadRegularFileTail(const std::string& path, std::string_view what,
                                        uint64_t bytes);

// Creates (with `mode`) or truncates a regular file for writing; an existing
// path that is not a regular file is refused (EINVAL) and left untouched.
Result<UniqueFd> CreateRegularFileToWrite(const std::string& path, std::string_view what,
                                          mode_t mode = 0600);

// Writes all of `bytes` to `fd` (short writes and EINTR retried); errors name `name`.
Status WriteAll(int fd, std::string_view bytes, const std::string& name);

// Syncs the directory holding `path`, so a rename or an unlink there outlives a host crash.
Status SyncDirectoryOf(const std::string& path);

// Replaces `path` with `bytes`: written to <path>.tmp (created as above), then renamed over
// it, so a reader sees the old file or the new one whole. With `sync`, the file is synced
// before the rename and its directory after. On failure (ENOSPC...) the temporary is removed
// and `path` is untouched.
Status ReplaceRegularFile(const std::string& path, std::string_view bytes, bool sync,
                          mode_t mode = 0600);

}  // namespace txend
