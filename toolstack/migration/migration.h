// Migration of a running domain to another host's txend, through its
// relocation service (xend's port 8002; protocol in migration_protocol.h):
// the requests, progress and results, and the Migration class.
// The source destroys its domain only once the destination reports it running
// with every device Connected; any failure before that leaves it running.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/lifecycle.h"
#include "toolstack/migration/tcp_socket.h"
#include "toolstack/migration/tls_tunnel.h"

namespace txend::toolstack {

inline constexpr uint16_t kRelocationPort = 8002;     // xend-relocation-port
inline constexpr uint16_t kRelocationSslPort = 8003;  // xend-relocation-ssl-port

// Where a migration is, reported between memory rounds and at each step.
struct MigrationProgress {
  std::string phase;         // "precopy", "stop-and-copy", "handover", "done"
  uint32_t round = 0;        // memory rounds sent so far
  uint64_t bytes_sent = 0;   // acknowledged by the destination
  int64_t dirty_pages = -1;  // pages waiting to be sent; -1 if unknown
  double elapsed_s = 0;
};

struct MigrateRequest {
  std::string host;
  uint16_t port = kRelocationPort;
  bool live = false;  // pre-copy memory while the domain runs, then stop and copy
  std::chrono::milliseconds connect_timeout{10000};
  // Any send or receive without progress for this long fails the migration;
  // waits for the destination's devices add the toolstack's device timeout.
  std::chrono::milliseconds io_timeout{30000};
  std::function<void(const MigrationProgress&)> progress;  // optional
  std::optional<TlsOptions> tls;  // set: the whole connection is TLS (an SSL relocation server)
};

// What a finished migration measured at the source.
struct MigrationResult {
  uint32_t remote_domid = 0;
  uint32_t rounds = 0;      // memory rounds, the stop-and-copy one included
  uint64_t bytes_sent = 0;  // everything on the connection, acknowledged
  double total_s = 0;       // connect to confirmation
  double downtime_s = 0;    // suspend request to the destination's confirmation
};

// What a destination received.
struct IncomingMigration {
  std::string name;
  uint32_t domid = 0;
  bool live = false;
  uint64_t bytes_received = 0;
  double total_s = 0;
};

// Both sides of a migration, built on Lifecycle. Migrate sends a running
// domain to another host's relocation service and destroys it here once the
// destination confirms; ReceiveMigration serves one incoming connection and
// leaves nothing behind when it fails. Each holds only its domain's lock, so
// a slow or silent peer delays no other domain; the receiving side does not
// wait for it (a txend migrating to itself is refused, not deadlocked). Both
// write an intent (intents.h): a restarted txend resumes a source that had not
// handed its domain over yet and destroys an arrival the source had not
// handed over; after the handover the source keeps its copy suspended and the
// destination runs the domain.
class Migration {
 public:
  Migration(DomainContext& ctx, Lifecycle& lifecycle) : ctx_(ctx), lifecycle_(lifecycle) {}

  Result<MigrationResult> Migrate(std::string_view ref, const MigrateRequest& request);
  Result<IncomingMigration> ReceiveMigration(TcpSocket& socket,
                                             std::chrono::milliseconds io_timeout);

 private:
  // The checks an incoming domain must pass before its image is sent.
  Status CheckIncoming(const DomainConfig& config);

  DomainContext& ctx_;
  Lifecycle& lifecycle_;
};

}  // namespace txend::toolstack
