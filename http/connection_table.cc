#include "http/connection_table.h"

namespace txend::http {

ConnectionTable::Admission ConnectionTable::Admit(const std::string& peer) {
  std::shared_ptr<Evictable> victim;
  uint64_t victim_ticket = 0;
  {
    MutexLock lock(&mu_);
    size_t& from_peer = per_peer_[peer];
    if (limits_.per_peer != 0 && from_peer >= limits_.per_peer) {
      if (from_peer == 0) per_peer_.erase(peer);
      return Admission::kPeerFull;
    }
    while (open_ >= limits_.total && !victim && !waiting_.empty()) {
      auto oldest = waiting_.begin();
      victim = oldest->second.lock();
      victim_ticket = oldest->first;
      waiting_.erase(oldest);
    }
    if (open_ >= limits_.total && !victim) {
      if (from_peer == 0) per_peer_.erase(peer);
      return Admission::kFull;
    }
    ++open_;
    ++from_peer;
  }
  if (victim) victim->Evict(victim_ticket);  // it leaves the table once it has closed
  return Admission::kAdmitted;
}

void ConnectionTable::Leave(const std::string& peer) {
  MutexLock lock(&mu_);
  --open_;
  auto it = per_peer_.find(peer);
  if (it != per_peer_.end() && --it->second == 0) per_peer_.erase(it);
}

uint64_t ConnectionTable::StartWaiting(std::weak_ptr<Evictable> connection) {
  MutexLock lock(&mu_);
  uint64_t ticket = next_ticket_++;
  waiting_.emplace(ticket, std::move(connection));
  return ticket;
}

void ConnectionTable::StopWaiting(uint64_t ticket) {
  MutexLock lock(&mu_);
  waiting_.erase(ticket);
}

size_t ConnectionTable::open() const {
  MutexLock lock(&mu_);
  return open_;
}

size_t ConnectionTable::waiting() const {
  MutexLock lock(&mu_);
  return waiting_.size();
}

}  // namespace txend::http
