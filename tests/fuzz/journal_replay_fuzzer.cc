// Fuzz target: xsd's start-up from a persisted store (Journal::Open replaying
// snapshot + journal). The input is cut into records the harness frames with
// valid lengths and checksums (a corrupt checksum only ends the replay), with
// a torn tail left as it comes. Checked: whatever loads, the store serves it,
// and a snapshot of it (Compact) loads back identical.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <boost/crc.hpp>

#include "tests/fuzz/store_dir.h"
#include "xsd/journal.h"
#include "xsd/xenstore.h"

namespace txend::xsd {
namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "journal_replay_fuzzer: property violated: %s\n", what);
  abort();
}

void PutU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

// Input: chunks [u8 length][bytes]; each becomes one framed record. The bytes
// after the last whole chunk are appended raw, as a torn record would be.
std::string Records(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    size_t len = static_cast<uint8_t>(in[0]);
    if (in.size() - 1 < len) {
      out.append(in.substr(1));
      break;
    }
    std::string_view payload = in.substr(1, len);
    boost::crc_32_type crc;
    crc.process_bytes(payload.data(), payload.size());
    PutU32(out, static_cast<uint32_t>(payload.size()));
    PutU32(out, crc.checksum());
    out.append(payload);
    in.remove_prefix(1 + len);
  }
  return out;
}

std::string Dump(const Tree& tree) {
  std::string out;
  tree.ForEach([&](const std::string& path, const Node& node) {
    out += path + '\0' + node.value + '\0';
    for (const auto& p : node.perms) out += wire::FormatPerm(p) + ',';
    out += '\n';
  });
  return out;
}

}  // namespace
}  // namespace txend::xsd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace txend::xsd;
  namespace wire = txend::wire;
  static const txend::fuzz::StoreDir dir;
  dir.Empty();
  dir.Write("/journal", Records(std::string_view(reinterpret_cast<const char*>(data), size)));
  Tree loaded;
  auto journal = Journal::Open(dir.path(), loaded);
  if (!journal.ok()) return 0;
  std::string before = Dump(loaded);
  Check((*journal)->Compact(loaded).ok(), "compaction failed");
  journal->reset();
  Tree reloaded;
  auto again = Journal::Open(dir.path(), reloaded);
  Check(again.ok(), "cannot reopen after compaction");
  Check(Dump(reloaded) == before, "snapshot does not load back what was compacted");
  // The daemon serves what it loaded: every node answers a dom0 READ.
  Xenstore store(Quota{}, std::move(*again), std::move(reloaded));
  ConnId dom0 = store.Connect(0);
  store.tree().ForEach([&](const std::string& path, const Node&) {
    wire::Message m;
    m.payload = path + '\0';
    m.header = {static_cast<uint32_t>(wire::MsgType::kRead), 1, 0,
                static_cast<uint32_t>(m.payload.size())};
    Outbox out;
    store.Handle(dom0, m, out);
    Check(out.messages.size() == 1, "no reply to a READ of a loaded node");
  });
  return 0;
}
