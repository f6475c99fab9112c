// Fuzz target: the xenstore daemon's request path without sockets. The input
// is the interleaved byte streams of four connections — two dom0 clients and
// domains 1 and 2 (introduced by dom0 first) — each framed by a
// wire::MessageReader and handled by Xenstore::Handle, as xsd's server does.
// Input records: [selector][length][length bytes]; selector bits 0-1 pick the
// connection, bit 7 hangs it up (and reconnects it) before the bytes.
//
// Checked for every request: exactly one reply to the requester, echoing its
// req_id, within the protocol's payload limit; every message well-formed. At
// the end: the journal, replayed as at start-up, rebuilds the live store.
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tests/fuzz/store_dir.h"
#include "xsd/journal.h"
#include "xsd/xenstore.h"

namespace txend::xsd {
namespace {

using namespace std::string_literals;

void Check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "xsd_request_fuzzer: property violated: %s\n", what);
  abort();
}

// One client connection as the server sees it.
struct Client {
  uint32_t domid = 0;
  std::optional<ConnId> conn;
  wire::MessageReader reader;
};

// Small quotas, so a short input reaches every limit.
Quota FuzzQuota() {
  Quota q;
  q.entries = 24;
  q.node_size = 256;
  q.watches = 6;
  q.transactions = 3;
  q.perms = 3;
  q.path_length = 128;
  q.transaction_nodes = 16;
  return q;
}

class Driver {
 public:
  explicit Driver(std::unique_ptr<Journal> journal) : store_(FuzzQuota(), std::move(journal)) {
    clients_[0].domid = clients_[1].domid = 0;
    clients_[2].domid = 1;
    clients_[3].domid = 2;
    for (auto& c : clients_)
      if (c.domid == 0) c.conn = store_.Connect(0);
    for (uint32_t domid : {1u, 2u})
      Request(clients_[0], wire::MsgType::kIntroduce,
              std::to_string(domid) + "\0" + "7\0" + "9\0"s);
  }

  void Feed(uint8_t selector, std::string_view bytes) {
    Client& c = clients_[selector & 3];
    if (selector & 0x80) HangUp(c);
    if (!c.conn) Reconnect(c);
    if (!c.conn) return;  // its domain is not introduced
    c.reader.Feed(bytes);
    while (c.conn) {
      auto msg = c.reader.Next();
      if (!msg) break;
      Handle(c, *msg);
    }
    if (!c.reader.error().ok()) HangUp(c);  // oversized message: the server drops the client
  }

  Xenstore& store() { return store_; }

 private:
  void Request(Client& c, wire::MsgType type, const std::string& payload) {
    wire::Message m;
    m.header = {static_cast<uint32_t>(type), 0, 0, static_cast<uint32_t>(payload.size())};
    m.payload = payload;
    Handle(c, m);
  }

  void Handle(Client& c, const wire::Message& msg) {
    Outbox out;
    ConnId conn = *c.conn;
    store_.Handle(conn, msg, out);
    int replies = 0;
    for (const auto& [to, bytes] : out.messages) {
      Check(bytes.size() >= wire::kHeaderSize, "message shorter than a header");
      wire::Header h;
      std::memcpy(&h, bytes.data(), sizeof h);
      Check(h.len == bytes.size() - wire::kHeaderSize, "header length differs from the payload");
      if (to != conn || h.type == static_cast<uint32_t>(wire::MsgType::kWatchEvent)) continue;
      ++replies;
      Check(h.req_id == msg.header.req_id, "reply does not echo req_id");
      Check(h.len <= wire::kPayloadMax, "reply larger than the protocol allows");
    }
    Check(replies == 1, "not exactly one reply per request");
    for (const auto& intro : out.introduced) introduced_[intro.domid] = true;
    for (uint32_t domid : out.released) {
      introduced_[domid] = false;
      for (auto& other : clients_)
        if (other.domid == domid) HangUp(other);
    }
  }

  void HangUp(Client& c) {
    if (!c.conn) return;
    store_.Disconnect(*c.conn);
    c.conn.reset();
    c.reader = wire::MessageReader();
    if (c.domid == 0) return;
    for (auto& other : clients_)
      if (other.domid == c.domid && other.conn) return;
    Outbox out;
    store_.DomainGone(c.domid, out);
  }

  void Reconnect(Client& c) {
    if (c.domid != 0 && !introduced_[c.domid]) return;
    c.conn = store_.Connect(c.domid);
    if (c.domid != 0) store_.DomainConnected(c.domid);
  }

  Xenstore store_;
  std::array<Client, 4> clients_;
  std::map<uint32_t, bool> introduced_;
};

// Every node as (path, value, perms) text, for comparing stores.
std::string Dump(const Tree& tree) {
  std::string out;
  tree.ForEach([&](const std::string& path, const Node& node) {
    out += path + '\0' + node.value + '\0';
    for (const auto& p : node.perms) out += wire::FormatPerm(p) + ',';
    out += '\n';
  });
  return out;
}

// The store a restarted xsd would serve from `tree` (start-up adds the standard nodes).
std::string AsRestarted(Tree tree) {
  return Dump(Xenstore(FuzzQuota(), nullptr, std::move(tree)).tree());
}

}  // namespace
}  // namespace txend::xsd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace txend::xsd;
  static const txend::fuzz::StoreDir dir;
  dir.Empty();
  Tree initial;
  auto journal = Journal::Open(dir.path(), initial);
  Check(journal.ok(), "cannot open the journal");
  std::string live;
  {
    Driver driver(std::move(*journal));
    size_t pos = 0;
    while (pos + 2 <= size) {
      uint8_t selector = data[pos];
      size_t len = std::min<size_t>(data[pos + 1], size - pos - 2);
      driver.Feed(selector, std::string_view(reinterpret_cast<const char*>(data + pos + 2), len));
      pos += 2 + len;
    }
    Check(driver.store().Sync().ok(), "journal sync failed");
    live = AsRestarted(driver.store().tree());
  }
  Tree replayed;
  auto reopened = Journal::Open(dir.path(), replayed);
  Check(reopened.ok(), "cannot reopen the journal");
  Check(AsRestarted(std::move(replayed)) == live, "journal replay differs from the live store");
  return 0;
}
