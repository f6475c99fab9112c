// The start-up check that simulated guests can reach xenstore: the xenstored txend uses must
// open a per-domain socket in the directory txend's guests dial, or they can never connect.
#pragma once

#include <string>

#include "base/result.h"
#include "toolstack/xs/connection.h"

namespace txend::daemon {

// Introduces a spare domain id, dials <domain_sockets>/<id>, and releases the id. An error
// (EHOSTUNREACH) says which flag to change when nothing answers there.
Status ProbeDomainSockets(xs::Connection& conn, const std::string& xenstored,
                          const std::string& domain_sockets);

}  // namespace txend::daemon
