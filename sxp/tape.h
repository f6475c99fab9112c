// A parsed SXP text as one flat array of nodes that point into the text: what
// the parser produces, cheap to build for large replies (one node per atom or
// list, no allocation per node), and read in place or turned into Values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sxp/sxp.h"

namespace txend::sxp {

class Tape {
 public:
  // A node's index; a list's items follow it, each item's subtree before the next.
  using Index = uint32_t;

  // Exactly one value / a sequence of values (Parse and ParseAll's grammar,
  // limits and errors). `text` must outlive the tape: unquoted atoms point into it.
  static Result<Tape> ParseOne(std::string_view text, const ParseLimits& limits = {});
  static Result<Tape> ParseSequence(std::string_view text, const ParseLimits& limits = {});

  // The top-level values: index 0, then each one's next().
  bool empty() const { return nodes_.empty(); }
  Index end() const { return static_cast<Index>(nodes_.size()); }

  bool is_list(Index i) const { return nodes_[i].kind() == Kind::kList; }
  // An atom's bytes (quoted strings unescaped). Precondition: !is_list(i).
  std::string_view atom(Index i) const;
  // A list's number of items. Precondition: is_list(i).
  size_t size(Index i) const { return nodes_[i].count(); }
  // The node after i's subtree: i's next sibling, or end().
  Index next(Index i) const { return is_list(i) ? nodes_[i].first : i + 1; }

  // sxp.cc's accessors on node `list`: the first child list named `name`, and
  // the atom after that child's name.
  std::optional<Index> Child(Index list, std::string_view name) const;
  std::optional<std::string_view> FindChildValue(Index list, std::string_view name) const;

  // Node i and its subtree as a Value.
  Value ToValue(Index i) const;

 private:
  friend class TapeBuilder;
  enum class Kind : uint32_t { kList, kAtom, kDecoded };
  // 8 bytes: a 1000-domain reply is ~140 000 nodes, and their pages are much
  // of what parsing it costs.
  struct Node {
    static constexpr int kKindShift = 30;
    static constexpr uint32_t kCountMask = (1u << kKindShift) - 1;
    Node(Kind kind, uint32_t first, uint32_t count)
        : first(first), count_and_kind(count | static_cast<uint32_t>(kind) << kKindShift) {}
    Kind kind() const { return static_cast<Kind>(count_and_kind >> kKindShift); }
    uint32_t count() const { return count_and_kind & kCountMask; }
    // atom: where its bytes start, in text_ or (kDecoded) in decoded_;
    // list: the index after its subtree.
    uint32_t first;
    uint32_t count_and_kind;  // atom: its length; list: its number of items
  };
  std::string_view text_;
  std::vector<Node> nodes_;
  std::string decoded_;  // quoted atoms, unescaped, one after another
};

}  // namespace txend::sxp
