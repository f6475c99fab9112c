// Toolstack: domain operations for txend and xm. Queries run inside the
// caller's Snapshot (one transaction, whatever they read). Lifecycle
// operations interleave hypervisor calls with xenstore writes, so they own
// their transactions; each documents exactly how many it starts:
//   Create 2 (write everything; read device results once watches fired),
//   Destroy 1, Shutdown 1 (+1 when the domain's exit is handled), Rename 1,
//   SetMemoryTarget 1, SetMaxMemory 1, SetVcpus 1, device attach 2, detach 2,
//   Pause/Unpause/PinVcpu/SchedCredit/DumpCore 0.
// Thread-safe: lifecycle operations are serialized; queries run in parallel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "toolstack/config/domain_config.h"
#include "toolstack/config/random_ids.h"
#include "toolstack/domain/domain_record.h"
#include "toolstack/domain/domain_registry.h"
#include "toolstack/hypervisor/hypervisor.h"
#include "toolstack/layout/xenstore_layout.h"
#include "toolstack/migration/migration.h"
#include "toolstack/migration/tcp_socket.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::toolstack {

struct ToolstackOptions {
  std::string state_dir = "/var/lib/txend";
  std::chrono::milliseconds device_timeout{10000};    // backends must report within this
  std::chrono::milliseconds shutdown_timeout{60000};  // for save's suspend
  RandomBytes random;                                 // uuids and MACs; default SystemRandomBytes()
  std::function<double()> wall_clock;  // seconds since the epoch; default system clock
};

class Toolstack {
 public:
  // Rebuilds its view from xenstore (one snapshot), the hypervisor and the
  // state directory, and starts handling @releaseDomain.
  static Result<std::unique_ptr<Toolstack>> Open(xs::Connection& xs, Hypervisor& hv,
                                                 ToolstackOptions options);
  ~Toolstack();

  // Queries, inside the caller's snapshot.
  Result<std::vector<DomainRecord>> List(xs::ReadContext& snapshot);
  Result<DomainRecord> Get(xs::ReadContext& snapshot, std::string_view ref);  // name, id or uuid
  Result<NodeRecord> Node();
  Result<std::string> Dmesg(bool clear);
  // A device class's frontend nodes, per device: what xm block-list shows.
  struct DeviceDetail {
    uint32_t devid = 0;
    std::vector<std::pair<std::string, std::string>> nodes;
  };
  Result<std::vector<DeviceDetail>> DeviceDetails(xs::ReadContext& snapshot, std::string_view ref,
                                                  std::string_view type);
  Result<std::vector<VcpuInfo>> Vcpus(std::string_view ref);

  // The one way a config reaches the operations below, with options.random:
  // parsed from SXP, or (built in code) checked.
  Result<ValidConfig> ParseConfig(const sxp::Value& vm) const;
  Result<ValidConfig> CheckConfig(DomainConfig config) const;

  // Lifecycle.
  Result<uint32_t> Create(ValidConfig config, bool paused);
  Status Destroy(std::string_view ref);
  Status Shutdown(std::string_view ref,
                  std::string_view reason);  // poweroff, reboot, halt, suspend
  Status Pause(std::string_view ref);
  Status Unpause(std::string_view ref);
  Status Rename(std::string_view ref, const std::string& new_name);
  Status SetMemoryTarget(std::string_view ref, uint64_t mib);
  Status SetMaxMemory(std::string_view ref, uint64_t mib);
  Status SetVcpus(std::string_view ref, uint32_t count);
  Status PinVcpu(std::string_view ref, std::string_view vcpu,
                 std::string_view cpus);  // vcpu: number or "all"
  Result<SchedCredit> GetSchedCredit(std::string_view ref);
  Status SetSchedCredit(std::string_view ref, std::optional<uint32_t> weight,
                        std::optional<uint32_t> cap);
  Status Save(std::string_view ref, const std::string& path);
  Result<uint32_t> Restore(const std::string& path, bool paused);
  Status DumpCore(std::string_view ref, const std::string& path);
  Status Sysrq(std::string_view ref, std::string_view key);  // 1 transaction
  // Hard reset: destroy and create again from the same config (3 transactions).
  Result<uint32_t> Reset(std::string_view ref);

  // Migration (migration.h). Migrate sends a running domain to another
  // host's relocation service and destroys it here once the destination
  // confirms; ReceiveMigration serves one incoming connection and leaves
  // nothing behind when it fails. Both hold the lifecycle lock throughout.
  Result<MigrationResult> Migrate(std::string_view ref, const MigrateRequest& request);
  Result<IncomingMigration> ReceiveMigration(TcpSocket& socket,
                                             std::chrono::milliseconds io_timeout);

  // Devices: `device` is xend's (vbd ...)/(vif ...) SXP.
  Status AttachDevice(std::string_view ref, const sxp::Value& device);
  // `dev`: a vbd's name (xvdb) or number, a vif's index.
  Status DetachDevice(std::string_view ref, std::string_view type, std::string_view dev,
                      bool force);

  // Managed domains.
  Status New(ValidConfig config);
  Result<uint32_t> Start(std::string_view ref, bool paused);
  Status Delete(std::string_view ref);

  // Runs pending domain-exit handling now (tests; normally on @releaseDomain).
  void HandleDomainExits();

 private:
  Toolstack(xs::Connection& xs, Hypervisor& hv, ToolstackOptions options,
            std::unique_ptr<DomainRegistry> reg);
  Status Recover();
  // Creates a domain, building it or (restore_fd >= 0) restoring its image from the fd.
  Result<uint32_t> CreateLocked(std::shared_ptr<const RegisteredConfig> config, bool paused,
                                int restore_fd);
  // Records a domain's changed config (after CheckConfig).
  Status Reconfigure(DomainConfig config);
  Status WaitSuspended(uint32_t domid, const std::string& name);
  // Lets a domain whose save failed run on (hypervisor and xenstore); a no-op unless it is
  // suspended.
  void ResumeIfSuspended(uint32_t domid);
  // Waits (watches, not polling) until every device's frontend and backend are Connected.
  Status WaitDevicesConnected(uint32_t domid, const std::vector<DeviceRef>& devices);
  // The checks an incoming domain must pass before its image is sent.
  Status CheckIncoming(const DomainConfig& config);
  // Destroys domains whose migration here was cut off by a txend restart.
  Status DiscardUnfinishedIncoming();
  Status DestroyLocked(const RegisteredDomain& d);
  Status WaitForBackends(uint32_t domid, const std::vector<DeviceRef>& devices,
                         const std::function<Status()>& trigger);
  Status WriteInTransaction(const std::vector<xs::Transaction::NodeWrite>& writes);
  void OnDomainExit(const RegisteredDomain& d, const DomainInfo& info);
  void EventLoop();

  xs::Connection& xs_;
  Hypervisor& hv_;
  ToolstackOptions options_;
  std::unique_ptr<DomainRegistry> registry_;
  std::mutex ops_mu_;  // serializes lifecycle operations

  // @releaseDomain handling on a thread of its own (never on the watch thread).
  std::mutex events_mu_;
  std::condition_variable events_cv_;
  bool events_pending_ = false;
  bool stopping_ = false;
  std::optional<xs::Watch> release_watch_;
  std::thread events_thread_;
};

}  // namespace txend::toolstack
