// MemoryRings: a RingTransport for tests, standing in for Xen. Ring pages live
// in ordinary memory; a pipe plays the event-channel device: a guest kicks xsd
// by writing its port number into it (as /dev/xen/evtchn reports pending ports),
// and xsd's kicks for a guest count up that guest's eventfd. Thread-safe: the
// server runs in its own thread while the test drives the guests.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "xsd/ring.h"
#include "xsd/ring_transport.h"

namespace txend::xsd {

class MemoryRings : public RingTransport {
 public:
  // One domain's side of its ring.
  struct Guest {
    xenstore_domain_interface page{};
    uint32_t domid = 0;
    uint32_t port = 0;               // the event channel its INTRODUCE names
    int notified = -1;               // eventfd xsd counts up ("the guest's event channel")
    std::atomic<bool> bound{false};  // xsd has the page mapped and the port bound
  };

  MemoryRings();
  ~MemoryRings() override;

  // A domain whose INTRODUCE will give `mfn` and `port`.
  Guest& AddGuest(uint32_t domid, uint64_t mfn, uint32_t port);
  // Dom0's kernel ring (OpenDom0 says ENOENT until it exists).
  Guest& AddDom0(uint32_t port);
  // The guest notifies its event channel.
  void Kick(const Guest& g);
  // The hypervisor's view of a domain changes (raises "VIRQ_DOM_EXC").
  void SetState(uint32_t domid, DomainState state);

  int fd() const override { return pipe_[0]; }
  RingEvents Poll() override;
  Result<std::unique_ptr<Channel>> Open(const Introduction& domain, ConnId conn) override;
  Result<std::unique_ptr<Channel>> OpenDom0(ConnId conn) override;
  DomainState StateOf(uint32_t domid) override;

 private:
  Result<std::unique_ptr<Channel>> Bind(Guest& g, ConnId conn);
  void Post(uint32_t port);

  static constexpr uint32_t kDomExc = ~0u;  // the port number that means VIRQ_DOM_EXC
  std::mutex mu_;
  int pipe_[2] = {-1, -1};
  std::map<uint64_t, std::unique_ptr<Guest>> guests_;  // by mfn
  std::unique_ptr<Guest> dom0_;
  std::map<uint32_t, ConnId> bound_;  // port -> connection
  std::map<uint32_t, DomainState> states_;
};

// A guest's xenbus driver over a MemoryRings page: writes requests into the
// ring (waiting for room), kicks, and reads whole messages back.
class RingGuest {
 public:
  RingGuest(MemoryRings& rings, MemoryRings::Guest& g)
      : rings_(rings), g_(g), ends_(GuestEnds(&g.page)) {}
  // False if the ring stayed full for 5 s, or broke.
  bool Send(const std::string& bytes);
  // The next message from xsd (reply or watch event); nullopt after 5 s of silence.
  std::optional<wire::Message> Receive();
  // Sends one request and returns its reply's payload, "ERR:<name>" for an error.
  // Watch events met on the way are kept in `events`.
  std::string Ask(wire::MsgType type, const std::string& payload, uint32_t tx = 0);

  std::vector<std::string> events;  // WATCH_EVENT payloads

 private:
  bool WaitForXsd();

  MemoryRings& rings_;
  MemoryRings::Guest& g_;
  RingEnds ends_;
  wire::MessageReader reader_;
  uint32_t req_id_ = 100;
};

}  // namespace txend::xsd
