// Per-domain limits, with the stock xenstored's defaults where it has them.
// They bind unprivileged domains only; dom0 is never limited.
#pragma once

#include <cstddef>

namespace txend::xsd {

struct Quota {
  size_t entries = 1000;            // -E: nodes a domain may own
  size_t node_size = 2048;          // -S: bytes of one node's value
  size_t watches = 128;             // -W: watches per domain
  size_t transactions = 10;         // -t: open transactions per domain
  size_t perms = 5;                 // -A: ACL entries per node
  size_t path_length = 2048;        // -M: path length below /local/domain/<id>/
  size_t transaction_nodes = 1024;  // -Q transaction-nodes: nodes one transaction may touch
  size_t outstanding = 20;          // -Q outstanding: replies queued before we stop reading
  // Ours (a guest must not be able to exhaust dom0):
  size_t connections = 8;              // -Q connections: a domain's socket connections
  size_t queued_bytes = 1 << 20;       // -Q queued-bytes: output queued across its connections
  size_t request_rate = 200;           // -Q rate: requests per second a domain may send ...
  size_t request_burst = 1000;         // -Q burst: ... and at once after a quiet time
  size_t transaction_seconds = 20;     // -w transaction: how long a transaction may stay open
  size_t transaction_bytes = 1 << 20;  // -Q transaction-bytes: what its open transactions hold
};

}  // namespace txend::xsd
