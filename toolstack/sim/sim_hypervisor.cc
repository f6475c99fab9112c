#include "toolstack/sim/sim_hypervisor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace txend::toolstack {
namespace {

using json = nlohmann::json;
constexpr uint64_t kPageKib = 4;
constexpr size_t kPageBytes = 4096;
constexpr char kSaveMagic[] = "TXSIMIMG";

uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The bytes of one simulated page: a header naming the page and its
// generation, then a stream determined by (seed, pfn, generation).
void FillPage(uint64_t seed, uint64_t pfn, uint32_t gen, char* page) {
  uint64_t tag = seed ^ pfn;
  uint32_t pad = 0;
  std::memcpy(page, &tag, 8);
  std::memcpy(page + 8, &gen, 4);
  std::memcpy(page + 12, &pad, 4);
  uint64_t state = seed * 31 + pfn * 1000003 + gen;
  for (size_t off = 16; off < kPageBytes; off += 8) {
    uint64_t v = SplitMix(state);
    std::memcpy(page + off, &v, 8);
  }
}

Status NoDomain(uint32_t domid) {
  return Status::Error(ESRCH, "domain " + std::to_string(domid) + " does not exist");
}

}  // namespace

struct SimHypervisor::Domain {
  uint32_t domid = 0;
  std::string uuid;
  bool hvm = false;
  bool paused = true;
  bool shutdown = false;
  ShutdownReason reason = ShutdownReason::kPoweroff;
  uint64_t memory_kib = 0;
  uint64_t max_memory_kib = 0;
  std::vector<bool> vcpu_online;
  std::vector<std::vector<int>> affinity;
  uint64_t cpu_base_ns = 0;   // cpu time accrued before `running_since`
  uint64_t running_since = 0; // clock when it last started accruing; 0 = not accruing
  SchedCredit credit;
  uint32_t next_port = 1;
  uint64_t seed = 0;
  std::map<uint64_t, uint32_t> page_gen;  // pages dirtied since creation

  bool accruing() const { return !paused && !shutdown; }
  uint32_t online() const { return static_cast<uint32_t>(std::count(vcpu_online.begin(), vcpu_online.end(), true)); }
  // Simulated load: idle guests use 1% of each online vcpu, dom0 5%.
  uint64_t CpuTime(uint64_t now) const {
    if (!running_since) return cpu_base_ns;
    uint64_t pct = domid == 0 ? 5 : 1;
    return cpu_base_ns + (now - running_since) * online() * pct / 100;
  }
  void Settle(uint64_t now) {
    cpu_base_ns = CpuTime(now);
    running_since = accruing() ? now : 0;
  }
  uint32_t Generation(uint64_t pfn) const {
    auto it = page_gen.find(pfn);
    return it == page_gen.end() ? 0 : it->second;
  }

  json ToJson() const {
    json pages = json::array();
    for (auto [pfn, gen] : page_gen) pages.push_back({pfn, gen});
    return {{"domid", domid}, {"uuid", uuid}, {"hvm", hvm}, {"paused", paused}, {"shutdown", shutdown},
            {"reason", static_cast<uint32_t>(reason)}, {"memory_kib", memory_kib},
            {"max_memory_kib", max_memory_kib}, {"vcpu_online", vcpu_online}, {"affinity", affinity},
            {"cpu_base_ns", cpu_base_ns}, {"running_since", running_since},
            {"weight", credit.weight}, {"cap", credit.cap}, {"next_port", next_port}, {"seed", seed},
            {"pages", pages}};
  }
  static std::unique_ptr<Domain> FromJson(const json& j) {
    auto d = std::make_unique<Domain>();
    d->domid = j.at("domid");
    d->uuid = j.at("uuid");
    d->hvm = j.at("hvm");
    d->paused = j.at("paused");
    d->shutdown = j.at("shutdown");
    d->reason = static_cast<ShutdownReason>(j.at("reason").get<uint32_t>());
    d->memory_kib = j.at("memory_kib");
    d->max_memory_kib = j.at("max_memory_kib");
    d->vcpu_online = j.at("vcpu_online").get<std::vector<bool>>();
    d->affinity = j.at("affinity").get<std::vector<std::vector<int>>>();
    d->cpu_base_ns = j.at("cpu_base_ns");
    d->running_since = j.at("running_since");
    d->credit = {j.at("weight"), j.at("cap")};
    d->next_port = j.at("next_port");
    d->seed = j.at("seed");
    for (const auto& p : j.at("pages")) d->page_gen[p[0].get<uint64_t>()] = p[1].get<uint32_t>();
    return d;
  }
};

SimHypervisor::SimHypervisor(SimOptions options) : options_(std::move(options)) {
  Log("Xen version 4.17.0-sim (txend simulated hypervisor)");
  Log("Command line: placeholder");
  Log("Brought up " + std::to_string(options_.nr_cpus) + " CPUs");
  Log("Scheduling granularity: cpu, 1 CPU per sched-resource");
}

void SimHypervisor::Log(const std::string& line) {
  char stamp[32];
  snprintf(stamp, sizeof stamp, "(XEN) [%10.6f] ", static_cast<double>(Now()) / 1e9);
  console_ += stamp + line + "\n";
  if (console_.size() > (64u << 10)) console_.erase(0, console_.size() - (32u << 10));
}

Result<std::string> SimHypervisor::ConsoleRing(bool clear) {
  std::lock_guard lock(mu_);
  std::string out = console_;
  if (clear) console_.clear();
  return out;
}
SimHypervisor::~SimHypervisor() = default;

uint64_t SimHypervisor::Now() const {
  if (options_.clock_ns) return options_.clock_ns();
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Result<std::unique_ptr<SimHypervisor>> SimHypervisor::Open(SimOptions options) {
  if (options.nr_cpus == 0 || options.dom0_kib >= options.total_kib)
    return Status::Error(EINVAL, "simulated host needs CPUs and more memory than dom0");
  std::unique_ptr<SimHypervisor> sim(new SimHypervisor(std::move(options)));
  auto dom0 = std::make_unique<Domain>();
  dom0->uuid = "00000000-0000-0000-0000-000000000000";
  dom0->paused = false;
  dom0->memory_kib = dom0->max_memory_kib = sim->options_.dom0_kib;
  dom0->vcpu_online.assign(sim->options_.nr_cpus, true);
  dom0->affinity.assign(sim->options_.nr_cpus, {});
  dom0->Settle(sim->Now());
  sim->domains_[0] = std::move(dom0);
  const std::string& dir = sim->options_.state_dir;
  if (dir.empty()) return sim;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error(ec.value(), "cannot create " + dir + ": " + ec.message());
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename();
    if (!name.starts_with("domain-") || !name.ends_with(".json")) continue;
    try {
      auto d = Domain::FromJson(json::parse(std::ifstream(entry.path())));
      sim->next_domid_ = std::max(sim->next_domid_, d->domid + 1);
      sim->domains_[d->domid] = std::move(d);
    } catch (const std::exception& e) {
      return Status::Error(EIO, "corrupt simulator state " + entry.path().string() + ": " + e.what());
    }
  }
  std::ifstream next(dir + "/next-domid");
  uint32_t n = 0;
  if (next >> n) sim->next_domid_ = std::max(sim->next_domid_, n);
  return sim;
}

void SimHypervisor::Persist(const Domain& d) {
  if (options_.state_dir.empty() || d.domid == 0) return;
  std::string path = options_.state_dir + "/domain-" + std::to_string(d.domid) + ".json";
  std::ofstream(path + ".tmp") << d.ToJson().dump();
  std::rename((path + ".tmp").c_str(), path.c_str());
  std::ofstream(options_.state_dir + "/next-domid") << next_domid_ << "\n";
}

void SimHypervisor::Forget(uint32_t domid) {
  if (!options_.state_dir.empty()) std::remove((options_.state_dir + "/domain-" + std::to_string(domid) + ".json").c_str());
}

void SimHypervisor::Subscribe(std::function<void(const SimEvent&)> observer) {
  std::lock_guard lock(mu_);
  observers_.push_back(std::move(observer));
}

void SimHypervisor::Emit(std::vector<SimEvent> events) {
  std::vector<std::function<void(const SimEvent&)>> observers;
  {
    std::lock_guard lock(mu_);
    observers = observers_;
  }
  for (const auto& e : events)
    for (const auto& o : observers) o(e);
}

Result<SimHypervisor::Domain*> SimHypervisor::Find(uint32_t domid) {
  auto it = domains_.find(domid);
  if (it == domains_.end()) return NoDomain(domid);
  return it->second.get();
}

uint64_t SimHypervisor::FreeKib() const {
  uint64_t used = 0;
  for (const auto& [id, d] : domains_) used += d->memory_kib;
  return used >= options_.total_kib ? 0 : options_.total_kib - used;
}

DomainInfo SimHypervisor::InfoOf(const Domain& d) const {
  DomainInfo i;
  i.domid = d.domid;
  i.uuid = d.uuid;
  i.hvm = d.hvm;
  i.paused = d.paused;
  i.shutdown = d.shutdown;
  i.shutdown_reason = d.reason;
  i.running = d.domid == 0 && !d.paused;  // dom0 runs this toolstack
  i.blocked = d.domid != 0 && !d.paused && !d.shutdown;
  i.memory_kib = d.memory_kib;
  i.max_memory_kib = d.max_memory_kib;
  i.online_vcpus = d.online();
  i.max_vcpus = static_cast<uint32_t>(d.vcpu_online.size());
  i.cpu_time_ns = d.CpuTime(Now());
  return i;
}

Result<PhysInfo> SimHypervisor::GetPhysInfo() {
  std::lock_guard lock(mu_);
  PhysInfo p;
  p.nr_cpus = options_.nr_cpus;
  p.cores_per_socket = options_.nr_cpus;
  p.cpu_mhz = options_.cpu_mhz;
  p.total_kib = options_.total_kib;
  p.free_kib = FreeKib();
  p.hw_caps = "178bf3ff:f7fa3203:00000000:00000f30:00000001:00000000:00000000:00000100";
  p.hvm = true;
  return p;
}

Result<VersionInfo> SimHypervisor::GetVersion() {
  VersionInfo v;
  v.major = 4;
  v.minor = 17;
  v.extra = ".0-sim";
  v.caps = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64";
  v.changeset = "txend simulated hypervisor";
  v.compiler = "none";
  v.compile_by = "txend";
  v.compile_date = "simulated";
  v.cmdline = "placeholder";
  return v;
}

Result<std::vector<DomainInfo>> SimHypervisor::ListDomains() {
  std::lock_guard lock(mu_);
  std::vector<DomainInfo> out;
  for (const auto& [id, d] : domains_) out.push_back(InfoOf(*d));
  return out;
}

Result<DomainInfo> SimHypervisor::GetDomain(uint32_t domid) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  return InfoOf(*d);
}

Result<uint32_t> SimHypervisor::CreateDomain(const DomainCreateSpec& spec) {
  uint32_t domid;
  {
    std::lock_guard lock(mu_);
    if (spec.max_vcpus == 0 || spec.max_vcpus > 512)
      return Status::Error(EINVAL, "vcpus must be 1..512, not " + std::to_string(spec.max_vcpus));
    if (spec.memory_kib == 0 || spec.max_memory_kib < spec.memory_kib)
      return Status::Error(EINVAL, "memory must be positive and no larger than maxmem");
    if (spec.memory_kib > FreeKib())
      return Status::Error(ENOMEM, "not enough free memory: need " + std::to_string(spec.memory_kib / 1024) +
                                       " MiB, " + std::to_string(FreeKib() / 1024) + " MiB free");
    while (domains_.count(next_domid_) || next_domid_ == 0 || next_domid_ >= 0x7FF0)
      next_domid_ = next_domid_ >= 0x7FF0 ? 1 : next_domid_ + 1;
    domid = next_domid_++;
    auto d = std::make_unique<Domain>();
    d->domid = domid;
    d->uuid = spec.uuid;
    d->hvm = spec.hvm;
    d->memory_kib = spec.memory_kib;
    d->max_memory_kib = spec.max_memory_kib;
    d->vcpu_online.assign(spec.max_vcpus, true);
    d->affinity.assign(spec.max_vcpus, {});
    d->seed = std::random_device{}() * 0x100000001ull + domid;
    Persist(*d);
    domains_[domid] = std::move(d);
    Log("d" + std::to_string(domid) + ": created");
  }
  Emit({{SimEvent::kCreated, domid}});
  return domid;
}

Result<BuiltImage> SimHypervisor::BuildPv(uint32_t domid, const PvImage& image) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  std::ifstream kernel(image.kernel, std::ios::binary);
  if (!kernel) return Status::Error(ENOENT, "kernel image " + image.kernel + " cannot be read");
  char head[0x210] = {};
  kernel.read(head, sizeof head);
  bool elf = std::memcmp(head, "\x7f" "ELF", 4) == 0;
  bool gzip = static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b;
  bool bzimage = kernel.gcount() >= 0x206 && std::memcmp(head + 0x202, "HdrS", 4) == 0;
  if (!elf && !gzip && !bzimage)
    return Status::Error(EINVAL, "kernel image " + image.kernel + " is not an ELF, gzip or bzImage kernel");
  if (!image.ramdisk.empty() && !std::ifstream(image.ramdisk))
    return Status::Error(ENOENT, "ramdisk " + image.ramdisk + " cannot be read");
  BuiltImage built;
  built.store_mfn = (static_cast<uint64_t>(domid) << 20) + (d->memory_kib / kPageKib) - 2;
  built.console_mfn = built.store_mfn + 1;
  return built;
}

Result<uint32_t> SimHypervisor::AllocEventChannel(uint32_t domid, uint32_t) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  uint32_t port = d->next_port++;
  Persist(*d);
  return port;
}

Status SimHypervisor::Pause(uint32_t domid) {
  {
    std::lock_guard lock(mu_);
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    if (domid == 0) return Status::Error(EINVAL, "cannot pause domain 0");
    d->Settle(Now());
    d->paused = true;
    d->Settle(Now());
    Persist(*d);
  }
  Emit({{SimEvent::kPaused, domid}});
  return Status::Ok();
}

Status SimHypervisor::Unpause(uint32_t domid) {
  {
    std::lock_guard lock(mu_);
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    d->Settle(Now());
    d->paused = false;
    d->Settle(Now());
    Persist(*d);
  }
  Emit({{SimEvent::kUnpaused, domid}});
  return Status::Ok();
}

Status SimHypervisor::Shutdown(uint32_t domid, ShutdownReason reason) {
  if (domid == 0) return Status::Error(EINVAL, "cannot shut down domain 0");
  return GuestShutdown(domid, reason);
}

Status SimHypervisor::GuestShutdown(uint32_t domid, ShutdownReason reason) {
  {
    std::lock_guard lock(mu_);
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    if (d->shutdown) return Status::Ok();
    d->Settle(Now());
    d->shutdown = true;
    d->reason = reason;
    d->Settle(Now());
    Persist(*d);
    Log("d" + std::to_string(domid) + ": shut down (" + std::string(ShutdownReasonName(reason)) + ")");
  }
  Emit({{SimEvent::kShutdown, domid, reason}});
  return Status::Ok();
}

Status SimHypervisor::Destroy(uint32_t domid) {
  {
    std::lock_guard lock(mu_);
    TXEND_RETURN_IF_ERROR(Find(domid).status());
    if (domid == 0) return Status::Error(EINVAL, "cannot destroy domain 0");
    domains_.erase(domid);
    Forget(domid);
    Log("d" + std::to_string(domid) + ": destroyed");
  }
  Emit({{SimEvent::kDestroyed, domid}});
  return Status::Ok();
}

Status SimHypervisor::SetMaxMemory(uint32_t domid, uint64_t kib) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  if (kib == 0) return Status::Error(EINVAL, "maximum memory must be positive");
  if (kib > options_.total_kib)
    return Status::Error(EINVAL, "maximum memory " + std::to_string(kib / 1024) + " MiB exceeds the host's " +
                                     std::to_string(options_.total_kib / 1024) + " MiB");
  d->max_memory_kib = kib;
  Persist(*d);
  return Status::Ok();
}

Status SimHypervisor::GuestSetMemory(uint32_t domid, uint64_t kib) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  kib = std::min(kib, d->max_memory_kib);
  if (kib > d->memory_kib && kib - d->memory_kib > FreeKib()) kib = d->memory_kib + FreeKib();
  d->memory_kib = kib;
  Persist(*d);
  return Status::Ok();
}

Status SimHypervisor::GuestSetVcpuOnline(uint32_t domid, uint32_t vcpu, bool online) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  if (vcpu >= d->vcpu_online.size()) return Status::Error(EINVAL, "no vcpu " + std::to_string(vcpu));
  d->Settle(Now());
  d->vcpu_online[vcpu] = online;
  d->Settle(Now());
  Persist(*d);
  return Status::Ok();
}

Status SimHypervisor::GuestDirtyPages(uint32_t domid, uint64_t pages) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  uint64_t total = d->memory_kib / kPageKib, state = d->seed ^ Now();
  for (uint64_t i = 0; i < pages && total; ++i) ++d->page_gen[SplitMix(state) % total];
  return Status::Ok();
}

Result<std::vector<VcpuInfo>> SimHypervisor::GetVcpus(uint32_t domid) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  std::vector<VcpuInfo> out;
  uint64_t total = d->CpuTime(Now());
  uint32_t online = std::max(1u, d->online());
  for (uint32_t v = 0; v < d->vcpu_online.size(); ++v) {
    VcpuInfo i;
    i.vcpu = v;
    i.online = d->vcpu_online[v];
    i.running = i.online && d->domid == 0 && !d->paused;
    i.blocked = i.online && !i.running && d->accruing();
    i.cpu_time_ns = i.online ? total / online : 0;
    if (d->affinity[v].empty())
      for (uint32_t c = 0; c < options_.nr_cpus; ++c) i.affinity.push_back(static_cast<int>(c));
    else
      i.affinity = d->affinity[v];
    i.cpu = i.online ? i.affinity[(v + d->domid) % i.affinity.size()] : -1;
    out.push_back(std::move(i));
  }
  return out;
}

Status SimHypervisor::SetVcpuAffinity(uint32_t domid, uint32_t vcpu, const std::vector<int>& cpus) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  if (vcpu >= d->affinity.size()) return Status::Error(EINVAL, "domain " + std::to_string(domid) + " has no vcpu " + std::to_string(vcpu));
  if (cpus.empty()) return Status::Error(EINVAL, "empty CPU affinity");
  for (int c : cpus)
    if (c < 0 || c >= static_cast<int>(options_.nr_cpus)) return Status::Error(EINVAL, "no physical CPU " + std::to_string(c));
  d->affinity[vcpu] = cpus.size() == options_.nr_cpus ? std::vector<int>{} : cpus;
  Persist(*d);
  return Status::Ok();
}

Result<SchedCredit> SimHypervisor::GetSchedCredit(uint32_t domid) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  return d->credit;
}

Status SimHypervisor::SetSchedCredit(uint32_t domid, const SchedCredit& credit) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
  if (credit.weight < 1 || credit.weight > 65535) return Status::Error(EINVAL, "weight must be 1..65535");
  if (credit.cap > 100 * d->vcpu_online.size())
    return Status::Error(EINVAL, "cap must be 0..." + std::to_string(100 * d->vcpu_online.size()));
  d->credit = credit;
  Persist(*d);
  return Status::Ok();
}

namespace {

// Writes all of `bytes` to `fd`.
bool WriteFully(int fd, const char* bytes, size_t n) {
  while (n) {
    ssize_t w = write(fd, bytes, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    bytes += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads exactly `n` bytes from `fd`; false on EOF or error.
bool ReadFully(int fd, char* bytes, size_t n) {
  while (n) {
    ssize_t r = read(fd, bytes, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    bytes += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// Image: magic, u32 header length, JSON header, then every page.
Status WriteImage(int fd, const json& header, uint64_t pages, uint64_t seed,
                  const std::function<uint32_t(uint64_t)>& gen) {
  std::string head = header.dump();
  uint32_t len = static_cast<uint32_t>(head.size());
  std::string buf = std::string(kSaveMagic) + std::string(reinterpret_cast<char*>(&len), 4) + head;
  char page[kPageBytes];
  for (uint64_t pfn = 0; pfn < pages; ++pfn) {
    FillPage(seed, pfn, gen(pfn), page);
    buf.append(page, kPageBytes);
    if (buf.size() >= (1u << 20)) {
      if (!WriteFully(fd, buf.data(), buf.size())) return Status::Error(EIO, "cannot write the domain image");
      buf.clear();
    }
  }
  if (!WriteFully(fd, buf.data(), buf.size())) return Status::Error(EIO, "cannot write the domain image");
  return Status::Ok();
}

}  // namespace

Status SimHypervisor::Save(uint32_t domid, int fd) {
  json header;
  uint64_t pages, seed;
  std::map<uint64_t, uint32_t> gens;
  {
    std::lock_guard lock(mu_);
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    if (domid == 0) return Status::Error(EINVAL, "cannot save domain 0");
    header = d->ToJson();
    pages = d->memory_kib / kPageKib;
    seed = d->seed;
    gens = d->page_gen;
  }
  return WriteImage(fd, header, pages, seed, [&](uint64_t pfn) {
    auto it = gens.find(pfn);
    return it == gens.end() ? 0u : it->second;
  });
}

Status SimHypervisor::DumpCore(uint32_t domid, const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(errno, "cannot create " + path + ": " + strerror(errno));
  Status st = Save(domid, fd);
  close(fd);
  return st;
}

Result<uint32_t> SimHypervisor::Restore(int fd, const DomainCreateSpec& spec) {
  std::string magic(sizeof kSaveMagic - 1, '\0');
  uint32_t len = 0;
  if (!ReadFully(fd, magic.data(), magic.size()) || magic != kSaveMagic || !ReadFully(fd, reinterpret_cast<char*>(&len), 4) ||
      len > (64u << 20))
    return Status::Error(EINVAL, "not a simulated domain image");
  std::string head(len, '\0');
  if (!ReadFully(fd, head.data(), len)) return Status::Error(EIO, "domain image is truncated");
  std::unique_ptr<Domain> d;
  try {
    d = Domain::FromJson(json::parse(head));
  } catch (const std::exception& e) {
    return Status::Error(EINVAL, std::string("bad domain image header: ") + e.what());
  }
  uint64_t pages = d->memory_kib / kPageKib;
  char page[kPageBytes], expect[kPageBytes];
  std::map<uint64_t, uint32_t> gens;
  for (uint64_t pfn = 0; pfn < pages; ++pfn) {
    if (!ReadFully(fd, page, kPageBytes)) return Status::Error(EIO, "domain image is truncated at page " + std::to_string(pfn));
    uint32_t gen;
    std::memcpy(&gen, page + 8, 4);
    FillPage(d->seed, pfn, gen, expect);
    if (std::memcmp(page, expect, kPageBytes) != 0) return Status::Error(EIO, "domain image page " + std::to_string(pfn) + " is corrupt");
    if (gen) gens[pfn] = gen;
  }
  uint32_t domid;
  {
    std::lock_guard lock(mu_);
    if (d->memory_kib > FreeKib()) return Status::Error(ENOMEM, "not enough free memory to restore");
    while (domains_.count(next_domid_) || next_domid_ == 0) ++next_domid_;
    domid = next_domid_++;
    d->domid = domid;
    if (!spec.uuid.empty()) d->uuid = spec.uuid;
    d->page_gen = std::move(gens);
    d->paused = true;
    d->shutdown = false;
    d->next_port = 1;
    d->Settle(Now());
    Persist(*d);
    domains_[domid] = std::move(d);
  }
  Emit({{SimEvent::kCreated, domid}});
  return domid;
}

}  // namespace txend::toolstack
