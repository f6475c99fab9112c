// The xenstore shared ring (xs_wire.h's struct xenstore_domain_interface): two
// 1024-byte byte rings, req (guest -> xsd) and rsp (xsd -> guest), each with
// free-running 32-bit producer/consumer indexes. Pure logic over a page in
// memory; a peer's impossible indexes are an error, never an out-of-bounds access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <sys/types.h>

extern "C" {
#include <xen/io/xs_wire.h>
}

#include "xsd/channel.h"

namespace txend::xsd {

// One direction of a ring seen from one end: its bytes and its two indexes.
class RingBuffer {
 public:
  RingBuffer(char* data, uint32_t* cons, uint32_t* prod) : data_(data), cons_(cons), prod_(prod) {}
  // Consumer end: takes up to `n` bytes. -1 if the producer is more than a ring ahead.
  ssize_t Read(char* out, size_t n);
  // Producer end: puts as much of `n` bytes as fits. -1 on impossible indexes.
  ssize_t Write(const char* in, size_t n);

 private:
  char* data_;
  uint32_t* cons_;
  uint32_t* prod_;
};

// The directions of a page as one end sees them: `in` is what it reads.
struct RingEnds {
  RingBuffer in;
  RingBuffer out;
};
RingEnds ServerEnds(xenstore_domain_interface* page);  // xsd: reads req, writes rsp
RingEnds GuestEnds(xenstore_domain_interface* page);   // a guest's xenbus: reads rsp, writes req

// A Channel over xsd's end of a ring page. `notify` kicks the peer's event
// channel whenever xsd moved an index; `release` (optional) unbinds and unmaps
// when the channel closes. On impossible indexes it sets the page's error field
// (XENSTORE_ERROR_RINGIDX) and reports the channel broken.
class RingChannel final : public Channel {
 public:
  RingChannel(xenstore_domain_interface* page, std::function<void()> notify,
              std::function<void()> release = {});
  ~RingChannel() override;
  RingChannel(const RingChannel&) = delete;
  RingChannel& operator=(const RingChannel&) = delete;

  ssize_t Read(char* buf, size_t n) override;
  ssize_t Write(const char* buf, size_t n) override;
  int fd() const override { return -1; }

 private:
  ssize_t Moved(ssize_t n);

  xenstore_domain_interface* page_;
  RingEnds ends_;
  std::function<void()> notify_;
  std::function<void()> release_;
};

}  // namespace txend::xsd
