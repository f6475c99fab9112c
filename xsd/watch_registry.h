// WatchRegistry: every connection's watches, indexed by path so that an event finds its
// watchers in O(depth · log n), and by connection so that counts need no scan.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // Visits only `conn`'s own watches.
  void RemoveAll(ConnId conn);
  size_t CountFor(ConnId conn) const;  // O(1)

  // Calls `fire(watch, event_path)` for each watch an event at `path` triggers:
  // watches at or above `path`, and, when `removed`, watches below it (whose
  // event path is then their own path). Special paths match exactly.
  using Fire = std::function<void(const WatchEntry& watch, const std::string& event_path)>;
  void Match(const std::string& path, bool removed, const Fire& fire) const;

  size_t size() const { return watch_count_; }  // all connections' watches, O(1)

 private:
  // Each watched path's watches, in the order they were set.
  std::map<std::string, std::vector<WatchEntry>, std::less<>> by_path_;
  // The paths each connection watches, a path once per token; kept in step with by_path_.
  std::unordered_map<ConnId, std::multiset<std::string>> paths_by_conn_;
  size_t watch_count_ = 0;
};

}  // namespace txend::xsd
