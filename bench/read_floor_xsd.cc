#include <cstdlib>

#include "bench/read_floor_parts.h"
#include "wire/wire.h"
#include "xsd/xenstore.h"

namespace txend::bench {
namespace {

using wire::MsgType;

// One request as xsd's server takes it: bytes framed into a message, handled,
// the reply encoded (Handle encodes it). The reply's bytes.
class InProcessXsd {
 public:
  InProcessXsd() : conn_(store_.Connect(0)) {}

  Result<std::string> Request(MsgType type, uint32_t tx, std::string_view payload) {
    reader_.Feed(wire::Encode(type, 1, tx, payload));
    auto m = reader_.Next();
    if (!m) return Status::Error(EPROTO, "the framer gave no message");
    out_.messages.clear();
    store_.Handle(conn_, *m, out_);
    if (out_.messages.empty()) return Status::Error(EPROTO, "no reply");
    std::string& reply = out_.messages.front().second;
    wire::Header h;
    std::copy_n(reply.data(), sizeof h, reinterpret_cast<char*>(&h));
    if (h.type == static_cast<uint32_t>(MsgType::kError))
      return Status::Error(EIO, "xsd refused: " + reply.substr(sizeof h));
    return std::move(reply);
  }

 private:
  xsd::Xenstore store_{xsd::Quota{}};
  xsd::ConnId conn_;
  wire::MessageReader reader_;
  xsd::Outbox out_;
};

}  // namespace

Result<XsdFloor> MeasureXsd(const std::vector<std::string>& store_paths,
                            const std::vector<std::string>& read_paths, const FloorSettings& s) {
  InProcessXsd xsd;
  for (const auto& p : store_paths)
    TXEND_RETURN_IF_ERROR(xsd.Request(MsgType::kWrite, 0, p + '\0' + "4").status());
  XsdFloor f;
  std::string sync = wire::JoinFields({"0"});
  TXEND_ASSIGN_OR_RETURN(std::string reply, xsd.Request(MsgType::kGetDomainPath, 0, sync));
  f.sync_request_bytes = sizeof(wire::Header) + sync.size();
  f.sync_reply_bytes = reply.size();
  bool failed = false;
  f.sync = PerOp(s.repeats, s.batch,
                 [&] { failed |= !xsd.Request(MsgType::kGetDomainPath, 0, sync).ok(); });
  f.changed_requests = read_paths.size() + 2;
  f.changed_read = PerOp(s.repeats, s.batch / 4 + 1, [&] {
    auto id = xsd.Request(MsgType::kTransactionStart, 0, std::string(1, '\0'));
    if (!id.ok()) return void(failed = true);
    uint32_t tx =
        static_cast<uint32_t>(std::strtoul(id->c_str() + sizeof(wire::Header), nullptr, 10));
    for (const auto& p : read_paths) failed |= !xsd.Request(MsgType::kRead, tx, p + '\0').ok();
    failed |= !xsd.Request(MsgType::kTransactionEnd, tx, std::string("T\0", 2)).ok();
  });
  if (failed) return Status::Error(EIO, "an xsd request failed while measured");
  return f;
}

}  // namespace txend::bench
