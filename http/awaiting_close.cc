#include "http/awaiting_close.h"

#include <cstddef>
#include <utility>

namespace txend::http {

void AwaitingClose::Add(std::shared_ptr<Connection> connection) {
  fresh_.push_back(std::move(connection));
  if (!ticking_) Tick();
}

void AwaitingClose::Sweep() {
  size_t looks = 0;
  for (size_t i = fresh_.size(); i-- > 0 && looks++ < kLooksPerWake;) {
    auto connection = fresh_[i];  // LookAgain may Add: at the end, so `i` still holds
    if (!connection->LookAgain(false)) fresh_.erase(fresh_.begin() + static_cast<ptrdiff_t>(i));
  }
}

void AwaitingClose::Tick() {
  ticking_ = true;
  tick_.expires_after(period_);
  tick_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->ticking_ = false;
    Look(self->aged_, true);  // each now waits registered, or is done
    Look(self->fresh_, false);
    self->aged_.swap(self->fresh_);
    if (!self->aged_.empty()) self->Tick();
  });
}

// LookAgain may Add (a connection answered again): into fresh_, never into `list`'s copy.
void AwaitingClose::Look(List& list, bool last) {
  auto looking = std::exchange(list, {});
  for (auto& connection : looking)
    if (connection->LookAgain(last)) list.push_back(std::move(connection));
}

}  // namespace txend::http
