#include "xsd/watch_registry.h"

#include <algorithm>

#include "xsd/path.h"

namespace txend::xsd {
namespace {

std::string EventPath(const WatchEntry& w, const std::string& path) {
  if (!w.prefix.empty() && path.starts_with(w.prefix)) return path.substr(w.prefix.size());
  return path;
}

}  // namespace

Status WatchRegistry::Add(ConnId conn, const std::string& path, std::string token,
                          std::string prefix) {
  auto& list = by_path_[path];
  for (const auto& w : list)
    if (w.conn == conn && w.token == token) return Status::Error(EEXIST, "watch already set");
  list.push_back({conn, std::move(token), std::move(prefix)});
  paths_by_conn_[conn].insert(path);
  ++watch_count_;
  return Status::Ok();
}

Status WatchRegistry::Remove(ConnId conn, const std::string& path, const std::string& token) {
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {
    auto& list = it->second;
    auto w = std::find_if(list.begin(), list.end(),
                          [&](const WatchEntry& e) { return e.conn == conn && e.token == token; });
    if (w != list.end()) {
      list.erase(w);
      if (list.empty()) by_path_.erase(it);
      auto paths = paths_by_conn_.find(conn);
      paths->second.erase(paths->second.find(path));
      if (paths->second.empty()) paths_by_conn_.erase(paths);
      --watch_count_;
      return Status::Ok();
    }
  }
  return Status::Error(ENOENT, "no such watch");
}

void WatchRegistry::RemoveAll(ConnId conn) {
  auto watched = paths_by_conn_.extract(conn);
  if (watched.empty()) return;
  const std::multiset<std::string>& paths = watched.mapped();
  // A path watched under several tokens is listed once per token: visit it once.
  for (auto p = paths.begin(); p != paths.end(); p = paths.upper_bound(*p)) {
    auto it = by_path_.find(*p);
    std::erase_if(it->second, [&](const WatchEntry& e) { return e.conn == conn; });
    if (it->second.empty()) by_path_.erase(it);
  }
  watch_count_ -= paths.size();
}

size_t WatchRegistry::CountFor(ConnId conn) const {
  auto it = paths_by_conn_.find(conn);
  return it == paths_by_conn_.end() ? 0 : it->second.size();
}

void WatchRegistry::Match(const std::string& path, bool removed, const Fire& fire) const {
  auto fire_all = [&](std::string_view at, const std::string& event_path) {
    auto it = by_path_.find(at);
    if (it == by_path_.end()) return;
    for (const auto& w : it->second) fire(w, EventPath(w, event_path));
  };
  if (IsSpecialPath(path)) return fire_all(path, path);
  // The path itself and each ancestor, up to "/".
  std::string_view at = path;
  while (true) {
    fire_all(at, path);
    if (at == "/") break;
    at = ParentPath(at);
  }
  if (!removed) return;
  std::string below = path == "/" ? "/" : path + "/";
  for (auto it = by_path_.lower_bound(below); it != by_path_.end() && it->first.starts_with(below);
       ++it)
    if (it->first != path)
      for (const auto& w : it->second) fire(w, EventPath(w, it->first));
}

}  // namespace txend::xsd
