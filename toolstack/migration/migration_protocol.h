// The relocation protocol between two txends (xend's relocation service, port
// 8002), on one TCP connection:
//   source -> dest  HELLO: "TXMIGRAT", u32 version, u32 flags (1 = live),
//                   u32 length, the domain's config SXP
//   dest -> source  ACCEPT, or REFUSE (name clash, no memory, bad config)
//   source -> dest  the hypervisor's save stream (self-delimiting)
//   dest -> source  READY (restored, paused, backends connected), or FAIL
//   source -> dest  GO: the source hands the domain over and will not resume it
//                   unless the destination answers FAIL
//   dest -> source  DONE (unpaused, every device Connected), or FAIL
// Control messages: u32 type, i32 errno-like code, u32 length, text.
// Integers are little-endian.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace txend::toolstack {

inline constexpr uint32_t kMigrationVersion = 1;
inline constexpr uint32_t kMaxHelloConfigBytes = 1 << 20;
inline constexpr uint32_t kMaxMessageTextBytes = 64 << 10;

struct MigrationHello {
  bool live = false;
  std::string config;  // the domain's (vm ...) SXP
};

enum class MessageType : uint32_t {
  kAccept = 1,
  kRefuse = 2,
  kReady = 3,
  kFail = 4,
  kGo = 5,
  kDone = 6
};

struct ControlMessage {
  MessageType type = MessageType::kFail;
  int32_t code = 0;  // errno-like for REFUSE and FAIL; the new domid for DONE
  std::string text;
};

std::string_view MessageTypeName(MessageType type);

// Pure codecs (fixed-size heads, then the variable part).
std::string EncodeHello(const MigrationHello& hello);
std::string EncodeMessage(const ControlMessage& message);
// From the 20-byte head: the flags and the config length, or EPROTO.
struct HelloHead {
  bool live = false;
  uint32_t config_bytes = 0;
};
Result<HelloHead> DecodeHelloHead(std::string_view head);
// From the 12-byte head: type, code and text length, or EPROTO.
Result<ControlMessage> DecodeMessageHead(std::string_view head, uint32_t* text_bytes);

// Blocking I/O on a socket. A peer that closes gives ECONNRESET, a timeout
// (SO_RCVTIMEO / SO_SNDTIMEO) ETIMEDOUT.
Status SendAll(int fd, std::string_view bytes);
Status RecvExact(int fd, char* out, size_t len);
Result<MigrationHello> ReadHello(int fd);
Status SendMessage(int fd, const ControlMessage& message);
Result<ControlMessage> ReadMessage(int fd);
// Reads a message that must be `want`: a FAIL or REFUSE becomes its error,
// anything else EPROTO.
Result<ControlMessage> Expect(int fd, MessageType want);

}  // namespace txend::toolstack
