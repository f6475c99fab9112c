// WatchRegistry: every connection's watches, indexed by path so that an
// event finds its watchers in O(depth · log n) rather than by scanning.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace txend::xsd {

using ConnId = uint64_t;

struct WatchEntry {
  ConnId conn = 0;
  std::string token;
  std::string prefix;  // stripped from event paths for relative watches ("/local/domain/3/")
};

class WatchRegistry {
 public:
  // `path` is absolute or special; a relative watch passes its domain prefix.
  // EEXIST if this connection already watches `path` with `token`.
  Status Add(ConnId conn, const std::string& path, std::string token, std::string prefix);
  // ENOENT if there is no such watch.
  Status Remove(ConnId conn, const std::string& path, const std::string& token);
  void RemoveAll(ConnId conn);
  size_t CountFor(ConnId conn) const;

  // Calls `fire(watch, event_path)` for each watch an event at `path` triggers:
  // watches at or above `path`, and, when `removed`, watches below it (whose
  // event path is then their own path). Special paths match exactly.
  using Fire = std::function<void(const WatchEntry& watch, const std::string& event_path)>;
  void Match(const std::string& path, bool removed, const Fire& fire) const;

  size_t size() const;

 private:
  std::map<std::string, std::vector<WatchEntry>, std::less<>> by_path_;
};

}  // namespace txend::xsd
