// WriteGenerationPage: a page xsd shares beside its socket (<socket>.generation)
// holding a counter that every write raises before its acknowledgement leaves.
// A client that reads the same value it read before its last round trip began
// knows, without another, that nothing was written since. Stock daemons share
// none; their clients ask (a round trip).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace txend::wire {

struct WriteGenerationPage {
  static constexpr uint64_t kMagic = 0x314e454753445831ULL;  // identifies the layout
  uint64_t magic = kMagic;
  int64_t pid = 0;  // the daemon's, as its socket's peer credentials name it
  std::atomic<uint64_t> generation{0};
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

inline std::string WriteGenerationPath(const std::string& socket_path) {
  return socket_path + ".generation";
}

}  // namespace txend::wire
