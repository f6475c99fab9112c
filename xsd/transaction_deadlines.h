// TransactionDeadlines: when each unprivileged domain's open transactions
// must end (-w transaction=<seconds>). A guest that starts transactions and
// never ends them would pin old versions of the tree for ever; past its
// deadline a transaction is dropped and its id answers EAGAIN.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "xsd/watch_registry.h"

namespace txend::xsd {

class TransactionDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  // Which transaction: its connection and id.
  struct Key {
    ConnId conn = 0;
    uint32_t tx = 0;
    auto operator<=>(const Key&) const = default;
  };

  void Add(Key key, Clock::time_point deadline);
  void Remove(Key key, Clock::time_point deadline);
  // Removes and returns every transaction whose deadline is not after `now`.
  std::vector<Key> Due(Clock::time_point now);
  // The earliest deadline, if any.
  std::optional<Clock::time_point> Next() const;

 private:
  std::set<std::tuple<Clock::time_point, ConnId, uint32_t>> by_time_;
};

}  // namespace txend::xsd
