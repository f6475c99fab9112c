// SimHypervisor: a simulated Xen, the default wherever /dev/xen/privcmd is
// absent. Domain 0 exists from the start; domains get ids as Xen hands them
// out (increasing, reused only after wrapping), memory accounted against the
// host, vcpus with affinity and cpu time driven by an injectable clock,
// Xen's states and pause counting, credit parameters, event channels, PV
// builds of real kernel files, and save/restore through real streams.
//
// Guests and device backends are not simulated here: they are separate
// objects that watch this hypervisor's events (Subscribe) and act through the
// Guest* calls, as a PV kernel would through hypercalls.
//
// Thread-safe: one mutex guards all state. Listeners and save callbacks run on the calling thread
// with the mutex released, so they may call back in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "toolstack/hypervisor/hypervisor.h"
#include "toolstack/hypervisor/sim/clock.h"
#include "toolstack/hypervisor/sim/guest_memory.h"

namespace txend::toolstack {

struct SavedDomain;
struct SavedContext;
struct PageBatch;
class SaveStreamWriter;

struct SimOptions {
  uint64_t host_memory_kib = 16ull << 20;  // 16 GiB
  uint64_t dom0_memory_kib = 1ull << 20;   // 1 GiB
  uint32_t nr_cpus = 4;
  uint32_t cores_per_socket = 0;  // 0: nr_cpus / threads_per_core (one socket)
  uint32_t threads_per_core = 1;
  uint32_t cpu_khz = 2'400'000;
  uint32_t dom0_vcpus = 0;  // 0: nr_cpus
  // Ids wrap to 1 when they reach this (Xen: 0x7FF0); tests lower it.
  DomId first_reserved_domid = kFirstReservedDomId;
  std::shared_ptr<Clock> clock;  // null: SteadyClock
  // When set, every domain's state is kept in this directory (one JSON file
  // per domain), and a new SimHypervisor on the same directory finds its
  // domains again: they "keep running" while the toolstack restarts, as on
  // Xen. Memory written since a domain was built is not kept.
  std::string state_dir;
};

// Something a simulated guest or backend reacts to.
struct SimEvent {
  enum class Kind {
    kCreated,
    kBuilt,     // BuildPv, BuildHvm or Restore finished; `rings`, ports and `restored` set
    kPaused,    // pause count went 0 -> 1
    kUnpaused,  // pause count went 1 -> 0
    kShutdown,  // `reason` set
    kResumed,
    kDying,     // destroyed while references are held
    kReleased,  // gone from the hypervisor
  };
  Kind kind = Kind::kCreated;
  DomId domid = 0;
  ShutdownReason reason = ShutdownReason::kPoweroff;
  GuestRings rings;
  uint32_t store_port = 0;
  uint32_t console_port = 0;
  bool restored = false;
};

class SimHypervisor : public Hypervisor {
 public:
  explicit SimHypervisor(SimOptions options = {});
  ~SimHypervisor() override;

  std::string_view Name() const override { return "sim"; }
  Result<VersionInfo> Version() override;
  Result<PhysInfo> Physinfo() override;
  Result<DomId> CreateDomain(const CreateRequest& request) override;
  Result<DomainInfo> GetDomainInfo(DomId domid) override;
  Result<std::vector<DomainInfo>> ListDomains() override;
  Status SetMaxMemory(DomId domid, uint64_t kib) override;
  Status SetShadowMemory(DomId domid, uint64_t kib) override;
  Status Pause(DomId domid) override;
  Status Unpause(DomId domid) override;
  Status Shutdown(DomId domid, ShutdownReason reason) override;
  Result<bool> HasPvDrivers(DomId domid) override;  // simulated guests all have them
  Status Resume(DomId domid) override;
  Status Destroy(DomId domid) override;
  Result<VcpuInfo> GetVcpuInfo(DomId domid, uint32_t vcpu) override;
  Status SetVcpuAffinity(DomId domid, uint32_t vcpu, const CpuSet& cpus) override;
  Result<SchedCredit> GetSchedCredit(DomId domid) override;
  Status SetSchedCredit(DomId domid, const SchedCredit& params) override;
  Result<uint32_t> AllocUnboundPort(DomId domid, DomId remote) override;
  Result<GuestRings> BuildPv(DomId domid, const PvBuildRequest& request) override;
  // Checks the firmware (HVM) or kernel (PVH) as BuildPv checks a kernel; nothing runs.
  Result<GuestRings> BuildHvm(DomId domid, const HvmBuildRequest& request) override;
  Status Save(DomId domid, int fd, const SaveRequest& request) override;
  Result<GuestRings> Restore(DomId domid, int fd, const RestoreRequest& request) override;
  Status DumpCore(DomId domid, const std::string& path) override;
  Result<std::string> ReadConsoleRing(bool clear) override;

  // Observers of SimEvents; returns an id for Unsubscribe.
  int Subscribe(std::function<void(const SimEvent&)> listener);
  void Unsubscribe(int id);

  // What a guest kernel does, through hypercalls.
  Status GuestShutdown(DomId domid, ShutdownReason reason);  // SCHEDOP_shutdown
  Status GuestSetMemory(DomId domid, uint64_t kib);          // balloon driver
  Status GuestSetVcpuOnline(DomId domid, uint32_t vcpu, bool online);
  // A blocked vcpu waits for events and accrues no cpu time.
  Status GuestSetVcpuBlocked(DomId domid, uint32_t vcpu, bool blocked);
  // Rewrites the given pages (a workload dirtying memory); `salt` varies contents.
  Status GuestTouchPages(DomId domid, std::span<const uint64_t> pfns, uint64_t salt);
  // A running guest's workload: rewrites `count` pages picked pseudo-randomly
  // (from `salt`) among its first `working_set` pages (0: all). Touches
  // nothing unless the domain runs (unpaused, not shut down); returns how many it touched.
  Result<uint64_t> GuestDirtyPages(DomId domid, uint64_t count, uint64_t working_set,
                                   uint64_t salt);
  // A hash of the domain's whole memory, to compare across save/restore.
  Result<uint64_t> MemoryDigest(DomId domid);

  // A backend holding a mapping of the domain: a destroyed domain stays
  // dying, its memory still in use, until every reference is dropped.
  Status HoldReference(DomId domid);
  Status DropReference(DomId domid);

 private:
  struct Domain;  // sim_domain.h
  class Events;

  template <typename F>
  auto Locked(F&& fn);
  void Dispatch(const Events& events);
  void Log(const std::string& line);  // appends to the console ring; mutex held
  // Counts `d`'s vcpu time up to settled_ns_ (the current call's clock
  // reading): only the domains a call looks at, not the whole host.
  void Settle(Domain& d);
  Result<Domain*> Find(DomId domid);
  Result<Domain*> FindLive(DomId domid);
  Status NotDom0(DomId domid, std::string_view action) const;
  uint64_t FreeKib() const;
  Status Reserve(uint64_t kib) const;
  uint64_t NextSeed() { return 0x5EED0000ull + ++seeds_; }
  DomainInfo InfoOf(const Domain& d) const;
  VcpuInfo VcpuOf(const Domain& d, uint32_t vcpu) const;
  Result<DomId> PickDomid(DomId requested);
  void Release(DomId domid, Events& events);
  Status CheckPort(const Domain& d, uint32_t port, std::string_view what) const;
  // Memory, vcpus and rings for a domain being built (PV when !hvm).
  Result<GuestRings> BuildLocked(DomId domid, bool hvm, uint64_t memory_kib, uint32_t store_port,
                                 uint32_t console_port, Events& events);
  void StartGuest(Domain& d, uint32_t store_port, uint32_t console_port, bool restored,
                  Events& events);

  // Save and restore (sim_save.cc).
  struct SaveState;
  Status WriteStream(DomId domid, int fd, const SaveRequest* request);
  Result<SaveState> BeginSave(DomId domid, bool live, bool suspend);
  Status WriteMemory(DomId domid, int fd, const SaveState& state, const SaveRequest* request);
  Status SendPages(DomId domid, SaveStreamWriter& writer, const std::vector<uint64_t>& pfns);
  Result<std::vector<uint64_t>> TakeDirty(DomId domid);
  Status WaitSuspended(DomId domid, const SaveRequest& request);
  Status ReadStream(DomId domid, int fd, const RestoreRequest& request);
  Status AllocateFromImage(DomId domid, const SavedDomain& image);
  Status LoadPages(DomId domid, const PageBatch& batch);
  Status FinishRestore(DomId domid, const SavedContext& context, const RestoreRequest& request);
  void AbandonRestore(DomId domid);

  // Persistence (sim_state.cc); both run with the mutex held.
  void PersistDirty();
  Status LoadState();

  SimOptions options_;
  std::mutex mu_;
  std::map<DomId, std::unique_ptr<Domain>> domains_;
  DomId rover_ = 0;
  uint64_t next_mfn_ = 0x100000;
  uint64_t settled_ns_ = 0;  // the clock as the current (or last) call read it
  uint64_t seeds_ = 0;
  std::map<int, std::function<void(const SimEvent&)>> listeners_;
  int next_listener_ = 1;
  std::set<DomId> dirty_;  // domains changed since they were last persisted
  std::string console_;    // the console ring: boot lines and domain events
};

}  // namespace txend::toolstack
