// The parts of one detail read (GET /xend/domain/<d>?detail=1) measured in
// process on the real code, each the least a read does today: xsd's write
// generation read (nothing written: no xenstore round trip), the registry
// lookup and the SXP printed from the cache, the HTTP messages parsed and
// serialized, and the unix-socket round trip and connection a read needs
// (blocking I/O between two threads). Besides: what a catch-up round trip
// costs once something was written (xsd's handling and the round trip).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"
#include "bench/cpu_figure.h"

namespace txend::bench {

struct FloorSettings {
  int repeats = 9;   // batches; the figures are their median, min and max
  int batch = 2000;  // operations per batch
};

// 1. DomainStateCache::CatchUp while nothing was written: xsd's write generation
// read (its page, written by the socket's peer; no system call).
// `dir`: where the socket and page go.
Result<CpuFigure> MeasureWriteGenerationRead(const std::string& dir, const FloorSettings& s);

// After a write: xsd's part of the requests, framed, handled and their replies
// encoded, in a store holding `store_paths` (every domain's nodes a read reads).
struct XsdFloor {
  CpuFigure sync;  // GET_DOMAIN_PATH: DomainStateCache::CatchUp's round trip
  size_t sync_request_bytes = 0, sync_reply_bytes = 0;
  // A read of a domain whose nodes changed: TRANSACTION_START, its reads, TRANSACTION_END.
  CpuFigure changed_read;
  size_t changed_requests = 0;
};
Result<XsdFloor> MeasureXsd(const std::vector<std::string>& store_paths,
                            const std::vector<std::string>& read_paths, const FloorSettings& s);

// 2. DomainQueries::Get past its round trip and hypervisor call, for the last
// of `domains` running domains (2 vbds, 1 vif each) with every state cached:
// the registry's lookup, the record, the cache's fill, AppendDomainSxp.
struct SxpFloor {
  CpuFigure cpu;
  std::string body;                      // the reply body one read prints
  std::string name;                      // the domain read
  std::vector<std::string> read_paths;   // what a read of it reads when its nodes changed
  std::vector<std::string> store_paths;  // the same for every domain
};
// `dir`: scratch space (the registry's state dir, an in-process xsd's socket).
Result<SxpFloor> MeasureDomainSxp(int domains, const std::string& dir, const FloorSettings& s);

// 4. HTTP: Beast parses `request`, DecodeRequest decodes it, and the reply
// carrying `body` is built and serialized as http_server.cc does.
struct HttpFloor {
  CpuFigure cpu;
  size_t reply_bytes = 0;  // head + body
};
Result<HttpFloor> MeasureHttpMessages(const std::string& request, const std::string& body,
                                      const FloorSettings& s);

// 3, 5 and the catch-up round trip: what the two ends of a unix socket pay.
struct SocketFloor {
  CpuFigure both_ends;   // the process: client and server threads
  CpuFigure server_end;  // the server thread alone (txend's share of an HTTP exchange)
};
// A round trip: `request_bytes` one way, `reply_bytes` back, blocking reads and writes.
Result<SocketFloor> MeasureRoundTrips(size_t request_bytes, size_t reply_bytes,
                                      const FloorSettings& s);
// 5. A connection: the client's socket + connect + close; the server's accept, its
// peer's credentials (the caller's identity), the read that sees the end, close.
Result<SocketFloor> MeasureNewConnections(const std::string& dir, const FloorSettings& s);

// The request curl and libvirt send for a detail read (libvirt's headers).
std::string DetailReadRequest(const std::string& name);

}  // namespace txend::bench
