#include "wire/wire.h"

#include <array>
#include <cstring>

namespace txend::wire {
namespace {

constexpr std::array<std::string_view, kTypeCount> kTypeNames{
    "CONTROL",
    "DIRECTORY",
    "READ",
    "GET_PERMS",
    "WATCH",
    "UNWATCH",
    "TRANSACTION_START",
    "TRANSACTION_END",
    "INTRODUCE",
    "RELEASE",
    "GET_DOMAIN_PATH",
    "WRITE",
    "MKDIR",
    "RM",
    "SET_PERMS",
    "WATCH_EVENT",
    "ERROR",
    "IS_DOMAIN_INTRODUCED",
    "RESUME",
    "SET_TARGET",
    "",  // 20: XS_RESTRICT, removed
    "RESET_WATCHES",
    "DIRECTORY_PART",
};

}  // namespace

bool IsKnownType(uint32_t type) { return type < kTypeCount && !kTypeNames[type].empty(); }

std::string_view TypeName(uint32_t type) {
  return IsKnownType(type) ? kTypeNames[type] : std::string_view("UNKNOWN");
}

std::string Encode(MsgType type, uint32_t req_id, uint32_t tx_id, std::string_view payload) {
  Header h{static_cast<uint32_t>(type), req_id, tx_id, static_cast<uint32_t>(payload.size())};
  std::string out(kHeaderSize + payload.size(), '\0');
  std::memcpy(out.data(), &h, kHeaderSize);
  std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return out;
}

std::vector<std::string_view> SplitFields(std::string_view payload) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (start < payload.size()) {
    size_t nul = payload.find('\0', start);
    if (nul == std::string_view::npos) {
      fields.push_back(payload.substr(start));
      break;
    }
    fields.push_back(payload.substr(start, nul - start));
    start = nul + 1;
  }
  return fields;
}

std::string JoinFields(const std::vector<std::string_view>& fields) {
  std::string out;
  for (auto f : fields) {
    out.append(f);
    out.push_back('\0');
  }
  return out;
}

void MessageReader::Feed(std::string_view bytes) {
  if (!error_.ok()) return;
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.append(bytes);
}

std::optional<Message> MessageReader::Next() {
  if (!error_.ok() || pending() < kHeaderSize) return std::nullopt;
  Message m;
  std::memcpy(&m.header, buf_.data() + pos_, kHeaderSize);
  if (m.header.len > kPayloadMax) {
    error_ = Status::Error(E2BIG, "message payload of " + std::to_string(m.header.len) +
                                      " bytes exceeds " + std::to_string(kPayloadMax));
    return std::nullopt;
  }
  if (pending() < kHeaderSize + m.header.len) return std::nullopt;
  m.payload.assign(buf_, pos_ + kHeaderSize, m.header.len);
  pos_ += kHeaderSize + m.header.len;
  // Compact once the consumed prefix dominates, so the buffer stays bounded.
  if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return m;
}

}  // namespace txend::wire
