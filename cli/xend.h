// The xend HTTP/SXP API as xm uses it: typed calls over an XendClient, with
// xend's replies turned into Status values — ESRCH for an unknown domain,
// EREMOTEIO for an error xend reported, ENOTCONN when txend cannot be reached.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "cli/xend_client.h"
#include "sxp/sxp.h"

namespace txend::xm {

// What a wait for txend's domain changes (GET /xend/events) saw.
struct DomainChanges {
  uint64_t next = 0;     // where the next wait starts
  bool changed = false;  // some domain changed (or changes were lost): look again
};

class Xend {
 public:
  explicit Xend(XendClient& client) : client_(client) {}

  // GET /xend/domain/<ref>?detail=1: the domain's SXP.
  Result<sxp::Value> Domain(const std::string& ref);
  // GET /xend/domain?detail=1&state=<state>: every matching domain's SXP.
  Result<std::vector<sxp::Value>> Domains(const std::string& state);
  // The same reply's text, unparsed, for reading in place (sxp::Tape); "" for none.
  Result<std::string> DomainsText(const std::string& state);
  // GET /xend/domain/<ref>?op=vcpuinfo.
  Result<sxp::Value> VcpuInfo(const std::string& ref);
  // GET /xend/node/ and GET /xend/node/<what> (text: dmesg, log).
  Result<sxp::Value> Node();
  Result<std::string> NodeText(const std::string& what);
  // GET /xend/node/<what> parsed as SXP (pciinfo).
  Result<sxp::Value> NodeSxp(const std::string& what);
  Status ClearDmesg();
  // POST /xend/domain/ op=create|new|restore...: the reply body parsed when it is SXP.
  Result<sxp::Value> PostDomains(const Form& form);
  // POST /xend/domain/<ref> op=...: the reply body parsed when it is SXP.
  Result<sxp::Value> PostDomain(const std::string& ref, const Form& form);
  // GET /xend/events: the number the next domain change will get.
  Result<uint64_t> ChangesStart();
  // GET /xend/events?since=N&wait=S: returns once a domain changed after
  // `since`, or after a while (well within the reply deadline) with changed false.
  Result<DomainChanges> WaitForChanges(uint64_t since);

 private:
  Result<sxp::Value> Call(bool post, const std::string& target, const Form& form,
                          const std::string& ref);
  Result<XendReply> Send(bool post, const std::string& target, const Form& form);
  XendClient& client_;
};

}  // namespace txend::xm
