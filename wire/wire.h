// The xenstore wire protocol (Xen's xs_wire.h, docs/misc/xenstore.txt):
// message types, the 16-byte header, limits, and a framing decoder.
// Shared by the daemon (xsd) and the toolstack's client; no I/O here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace txend::wire {

// Numbering fixed by xs_wire.h; 20 (XS_RESTRICT) was removed upstream.
enum class MsgType : uint32_t {
  kControl = 0,  // aka XS_DEBUG
  kDirectory = 1,
  kRead = 2,
  kGetPerms = 3,
  kWatch = 4,
  kUnwatch = 5,
  kTransactionStart = 6,
  kTransactionEnd = 7,
  kIntroduce = 8,
  kRelease = 9,
  kGetDomainPath = 10,
  kWrite = 11,
  kMkdir = 12,
  kRm = 13,
  kSetPerms = 14,
  kWatchEvent = 15,
  kError = 16,
  kIsDomainIntroduced = 17,
  kResume = 18,
  kSetTarget = 19,
  kResetWatches = 21,
  kDirectoryPart = 22,
};
constexpr uint32_t kTypeCount = 23;

inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kPayloadMax = 4096;
inline constexpr size_t kAbsPathMax = 3072;
inline constexpr size_t kRelPathMax = 2048;

// The fixed header preceding every payload; all fields little-endian host order.
struct Header {
  uint32_t type = 0;
  uint32_t req_id = 0;
  uint32_t tx_id = 0;
  uint32_t len = 0;
};

// One framed message.
struct Message {
  Header header;
  std::string payload;

  MsgType type() const { return static_cast<MsgType>(header.type); }
};

// "READ", "WATCH_EVENT", ... ; "UNKNOWN" for numbers outside the protocol.
std::string_view TypeName(uint32_t type);
bool IsKnownType(uint32_t type);

// Header + payload as bytes, ready to send.
std::string Encode(MsgType type, uint32_t req_id, uint32_t tx_id, std::string_view payload);

// Payload fields separated by NUL. A trailing NUL ends the last field and
// does not start an empty one: "a\0b\0" -> {"a","b"}; "a\0b" -> {"a","b"}.
std::vector<std::string_view> SplitFields(std::string_view payload);

// Joins fields, each followed by a NUL ("a","b" -> "a\0b\0").
std::string JoinFields(const std::vector<std::string_view>& fields);

// Incremental framing: feed bytes as they arrive, take whole messages out.
// A header announcing more than kPayloadMax bytes is a protocol error; the
// reader then stays failed (the connection must be dropped).
class MessageReader {
 public:
  void Feed(std::string_view bytes);
  // Next complete message, or nullopt if more bytes are needed or on error.
  std::optional<Message> Next();
  // Non-ok once the stream is unusable.
  const Status& error() const { return error_; }
  // Bytes buffered that do not yet form a whole message.
  size_t pending() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  Status error_;
};

}  // namespace txend::wire
