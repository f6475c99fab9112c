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
      return Status::Ok();
    }
  }
  return Status::Error(ENOENT, "no such watch");
}

void WatchRegistry::RemoveAll(ConnId conn) {
  for (auto it = by_path_.begin(); it != by_path_.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](const WatchEntry& e) { return e.conn == conn; });
    it = list.empty() ? by_path_.erase(it) : std::next(it);
  }
}

size_t WatchRegistry::CountFor(ConnId conn) const {
  size_t n = 0;
  for (const auto& [path, list] : by_path_)
    n += std::count_if(list.begin(), list.end(),
                       [&](const WatchEntry& e) { return e.conn == conn; });
  return n;
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

size_t WatchRegistry::size() const {
  size_t n = 0;
  for (const auto& [path, list] : by_path_) n += list.size();
  return n;
}

}  // namespace txend::xsd
