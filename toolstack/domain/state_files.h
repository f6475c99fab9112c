// txend's own files under its state directory — domain configs and intents, one SXP value
// each — listed and read without throwing or blocking (a FIFO or a device put there is
// refused, a file is read up to the SXP parser's bound), and replaced whole by rename.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "sxp/sxp.h"

namespace txend::toolstack {

// The `*.sxp` files in `dir`, sorted; none when it cannot be listed.
std::vector<std::string> ListStateFiles(const std::string& dir);

// The one SXP value of a state file; EINVAL/EISDIR/EFBIG/parse errors name the path.
Result<sxp::Value> ReadStateFile(const std::string& path);

// Whether a replaced file must outlive a crash of the host, not only of txend.
enum class Durability { kProcessCrash, kHostCrash };

// Replaces `path` with `text` (written to <path>.tmp, then renamed). kHostCrash also syncs
// the file before the rename and the directory after it.
Status WriteStateFile(const std::string& path, const std::string& text, Durability durability);

// Removes `path` if it is there; kHostCrash also syncs its directory.
void RemoveStateFile(const std::string& path, Durability durability);

// Renames an unreadable state file to <name>.unreadable, kept for the operator; returns
// the line that says so.
std::string SetAsideUnreadable(const std::string& path, const Status& why);

}  // namespace txend::toolstack
