// Xenstore path rules: validation, canonical (absolute) form, and the tree
// relations watches and permissions need. Pure functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace txend::xsd {

// "/local/domain/<domid>": where a domain's relative paths point.
std::string DomainPath(uint32_t domid);

// Absolute, validated form of `path` as sent by a client of domain `domid`:
// relative paths are taken below DomainPath(domid); "@name" special paths are
// accepted only if `allow_special`. EINVAL names what is wrong. `max_length`
// bounds the part below /local/domain/<id>/ (xenstored's -M).
Result<std::string> Canonicalize(std::string_view path, uint32_t domid, bool allow_special,
                                 size_t max_length);

bool IsSpecialPath(std::string_view path);  // "@introduceDomain", ...

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
std::string_view ParentPath(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string_view BaseName(std::string_view path);
// True if `path` is `ancestor` or below it ("/" is everybody's ancestor).
bool IsAtOrBelow(std::string_view path, std::string_view ancestor);
// Path components: "/a/b" -> {"a","b"}; "/" -> {}.
std::vector<std::string_view> Components(std::string_view path);
// Walks the components of a canonical path without Components' vector: `f(part, end)`
// for each, `end` the length of the path up to and including it.
template <typename F>
void ForEachComponent(std::string_view path, F&& f) {
  for (size_t start = 1; start < path.size();) {
    size_t end = std::min(path.find('/', start), path.size());
    if (!f(path.substr(start, end - start), end)) return;
    start = end + 1;
  }
}
// Joins a parent path and a child name.
std::string ChildPath(std::string_view parent, std::string_view name);

// The domain id a "/local/domain/<id>/..." path belongs to, or -1.
int64_t DomainOfPath(std::string_view path);

}  // namespace txend::xsd
