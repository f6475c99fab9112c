#include "toolstack/migration/migration_protocol.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace txend::toolstack {
namespace {

constexpr std::string_view kMagic = "TXMIGRAT";
constexpr size_t kHelloHead = 20;  // magic, version, flags, length
constexpr size_t kMessageHead = 12;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= uint32_t(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

Status Protocol(const std::string& what) {
  return Status::Error(EPROTO, "relocation protocol: " + what);
}

Status IoError(int err, const char* doing) {
  if (err == EAGAIN || err == EWOULDBLOCK)
    return Status::Error(ETIMEDOUT, std::string(doing) + ": timed out");
  if (err == EPIPE) err = ECONNRESET;
  return Status::Error(err, std::string(doing) + ": " + std::strerror(err));
}

}  // namespace

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kAccept:
      return "ACCEPT";
    case MessageType::kRefuse:
      return "REFUSE";
    case MessageType::kReady:
      return "READY";
    case MessageType::kFail:
      return "FAIL";
    case MessageType::kGo:
      return "GO";
    case MessageType::kDone:
      return "DONE";
  }
  return "?";
}

std::string EncodeHello(const MigrationHello& hello) {
  std::string out(kMagic);
  PutU32(out, kMigrationVersion);
  PutU32(out, hello.live ? 1 : 0);
  PutU32(out, static_cast<uint32_t>(hello.config.size()));
  return out + hello.config;
}

Result<HelloHead> DecodeHelloHead(std::string_view head) {
  if (head.size() != kHelloHead || head.substr(0, kMagic.size()) != kMagic)
    return Protocol("not a txend migration stream (bad magic)");
  uint32_t version = GetU32(head, 8);
  if (version != kMigrationVersion)
    return Protocol("version " + std::to_string(version) + " not supported (want " +
                    std::to_string(kMigrationVersion) + ")");
  uint32_t flags = GetU32(head, 12), length = GetU32(head, 16);
  if (flags > 1) return Protocol("unknown flags " + std::to_string(flags));
  if (length == 0 || length > kMaxHelloConfigBytes)
    return Protocol("config of " + std::to_string(length) + " bytes");
  return HelloHead{flags == 1, length};
}

std::string EncodeMessage(const ControlMessage& message) {
  std::string out;
  PutU32(out, static_cast<uint32_t>(message.type));
  PutU32(out, static_cast<uint32_t>(message.code));
  std::string_view text(message.text);
  text = text.substr(0, kMaxMessageTextBytes);
  PutU32(out, static_cast<uint32_t>(text.size()));
  out.append(text);
  return out;
}

Result<ControlMessage> DecodeMessageHead(std::string_view head, uint32_t* text_bytes) {
  if (head.size() != kMessageHead) return Protocol("short message head");
  uint32_t type = GetU32(head, 0);
  if (type < static_cast<uint32_t>(MessageType::kAccept) ||
      type > static_cast<uint32_t>(MessageType::kDone))
    return Protocol("unknown message type " + std::to_string(type));
  *text_bytes = GetU32(head, 8);
  if (*text_bytes > kMaxMessageTextBytes)
    return Protocol("message text of " + std::to_string(*text_bytes) + " bytes");
  return ControlMessage{static_cast<MessageType>(type), static_cast<int32_t>(GetU32(head, 4)), ""};
}

Status SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError(errno, "sending to the peer");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status RecvExact(int fd, char* out, size_t len) {
  while (len > 0) {
    ssize_t n = ::recv(fd, out, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError(errno, "receiving from the peer");
    if (n == 0) return Status::Error(ECONNRESET, "the peer closed the connection");
    out += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<MigrationHello> ReadHello(int fd) {
  std::string head(kHelloHead, '\0');
  TXEND_RETURN_IF_ERROR(RecvExact(fd, head.data(), head.size()));
  TXEND_ASSIGN_OR_RETURN(HelloHead h, DecodeHelloHead(head));
  MigrationHello hello{h.live, std::string(h.config_bytes, '\0')};
  TXEND_RETURN_IF_ERROR(RecvExact(fd, hello.config.data(), hello.config.size()));
  return hello;
}

Status SendMessage(int fd, const ControlMessage& message) {
  return SendAll(fd, EncodeMessage(message));
}

Result<ControlMessage> ReadMessage(int fd) {
  std::string head(kMessageHead, '\0');
  TXEND_RETURN_IF_ERROR(RecvExact(fd, head.data(), head.size()));
  uint32_t text_bytes = 0;
  TXEND_ASSIGN_OR_RETURN(ControlMessage m, DecodeMessageHead(head, &text_bytes));
  m.text.resize(text_bytes);
  TXEND_RETURN_IF_ERROR(RecvExact(fd, m.text.data(), m.text.size()));
  return m;
}

Result<ControlMessage> Expect(int fd, MessageType want) {
  TXEND_ASSIGN_OR_RETURN(ControlMessage m, ReadMessage(fd));
  if (m.type == want) return m;
  if (m.type == MessageType::kFail || m.type == MessageType::kRefuse)
    return Status::Error(m.code > 0 ? m.code : EIO, m.text);
  return Protocol("expected " + std::string(MessageTypeName(want)) + ", got " +
                  std::string(MessageTypeName(m.type)));
}

}  // namespace txend::toolstack
