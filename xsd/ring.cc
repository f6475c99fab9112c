#include "xsd/ring.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace txend::xsd {
namespace {

constexpr uint32_t kRingSize = XENSTORE_RING_SIZE;
static_assert((kRingSize & (kRingSize - 1)) == 0, "ring size must be a power of two");

// The peer writes these words from another domain: read each once, with ordering.
uint32_t Load(uint32_t* p) { return std::atomic_ref<uint32_t>(*p).load(std::memory_order_acquire); }
// Publishes an index. The full fence orders it before our next load of the
// peer's index: the peer stores its index and then loads ours to decide whether
// to kick, so one of us always sees the other's move (no lost wake-up).
void Store(uint32_t* p, uint32_t v) {
  std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace

ssize_t RingBuffer::Read(char* out, size_t n) {
  uint32_t cons = Load(cons_);
  uint32_t prod = Load(prod_);   // acquire: the bytes before prod are visible
  uint32_t avail = prod - cons;  // modulo 2^32: indexes run free
  if (avail > kRingSize) return -1;
  size_t total = std::min<size_t>(n, avail);
  for (size_t done = 0; done < total;) {
    uint32_t at = (cons + static_cast<uint32_t>(done)) & (kRingSize - 1);
    size_t chunk = std::min<size_t>(total - done, kRingSize - at);
    std::memcpy(out + done, data_ + at, chunk);
    done += chunk;
  }
  Store(cons_, cons + static_cast<uint32_t>(total));  // release: done with those bytes
  return static_cast<ssize_t>(total);
}

ssize_t RingBuffer::Write(const char* in, size_t n) {
  uint32_t cons = Load(cons_);  // acquire: the peer is done with the bytes before cons
  uint32_t prod = Load(prod_);
  uint32_t used = prod - cons;
  if (used > kRingSize) return -1;
  size_t total = std::min<size_t>(n, kRingSize - used);
  for (size_t done = 0; done < total;) {
    uint32_t at = (prod + static_cast<uint32_t>(done)) & (kRingSize - 1);
    size_t chunk = std::min<size_t>(total - done, kRingSize - at);
    std::memcpy(data_ + at, in + done, chunk);
    done += chunk;
  }
  Store(prod_, prod + static_cast<uint32_t>(total));  // release: the bytes before the index
  return static_cast<ssize_t>(total);
}

RingEnds ServerEnds(xenstore_domain_interface* p) {
  return {RingBuffer(p->req, &p->req_cons, &p->req_prod),
          RingBuffer(p->rsp, &p->rsp_cons, &p->rsp_prod)};
}

RingEnds GuestEnds(xenstore_domain_interface* p) {
  return {RingBuffer(p->rsp, &p->rsp_cons, &p->rsp_prod),
          RingBuffer(p->req, &p->req_cons, &p->req_prod)};
}

RingChannel::RingChannel(xenstore_domain_interface* page, std::function<void()> notify,
                         std::function<void()> release)
    : page_(page),
      ends_(ServerEnds(page)),
      notify_(std::move(notify)),
      release_(std::move(release)) {
  std::atomic_ref<uint32_t>(page_->server_features).fetch_or(XENSTORE_SERVER_FEATURE_ERROR);
}

RingChannel::~RingChannel() {
  if (release_) release_();
}

// Reads until the ring is empty: a guest that wrote while we read does not kick
// again (Linux kicks only when it finds the ring drained), so take it now.
ssize_t RingChannel::Read(char* buf, size_t n) {
  size_t total = 0;
  while (total < n) {
    ssize_t got = ends_.in.Read(buf + total, n - total);
    if (got < 0) return Moved(-1);
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  return Moved(static_cast<ssize_t>(total));
}

ssize_t RingChannel::Write(const char* buf, size_t n) { return Moved(ends_.out.Write(buf, n)); }

ssize_t RingChannel::Moved(ssize_t n) {
  if (n < 0) {
    std::atomic_ref<uint32_t>(page_->error).store(XENSTORE_ERROR_RINGIDX);
    return -1;
  }
  if (n > 0) notify_();
  return n;
}

}  // namespace txend::xsd
