#include "xsd/transaction_deadlines.h"

namespace txend::xsd {

void TransactionDeadlines::Add(Key key, Clock::time_point deadline) {
  by_time_.emplace(deadline, key.conn, key.tx);
}

void TransactionDeadlines::Remove(Key key, Clock::time_point deadline) {
  by_time_.erase({deadline, key.conn, key.tx});
}

std::vector<TransactionDeadlines::Key> TransactionDeadlines::Due(Clock::time_point now) {
  std::vector<Key> due;
  while (!by_time_.empty() && std::get<0>(*by_time_.begin()) <= now) {
    auto [deadline, conn, tx] = *by_time_.begin();
    due.push_back({conn, tx});
    by_time_.erase(by_time_.begin());
  }
  return due;
}

std::optional<TransactionDeadlines::Clock::time_point> TransactionDeadlines::Next() const {
  if (by_time_.empty()) return std::nullopt;
  return std::get<0>(*by_time_.begin());
}

}  // namespace txend::xsd
