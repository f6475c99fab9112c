#include <cstdio>
#include <thread>

#include "bench/read_floor_parts.h"
#include "sxp/sxp.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/config/random_ids.h"
#include "toolstack/domain/domain_record.h"
#include "toolstack/domain/domain_registry.h"
#include "toolstack/domain/domain_state_cache.h"
#include "toolstack/domain/domain_sxp.h"
#include "toolstack/xs/connection.h"
#include "xsd/server.h"

namespace txend::bench {
namespace {

using namespace toolstack;

// The scenario's names and configs (bench/seed_scenario.cc, TxendStack::Config).
std::string DomainName(int i) {
  char buf[32];
  snprintf(buf, sizeof buf, "bench%04d", i);
  return buf;
}

std::string DemoConfig(const std::string& name) {
  std::string c = "(vm (name '" + name +
                  "')(memory 16)(maxmem 32)(vcpus 2)(on_poweroff 'destroy')(on_reboot 'restart')"
                  "(on_crash 'restart')(image (linux (kernel '/boot/vmlinuz-bench')"
                  "(args 'root=/dev/xvda1 ro')))";
  for (int i = 0; i < 2; ++i)
    c += "(device (vbd (dev 'xvd" + std::string(1, static_cast<char>('a' + i)) +
         "')(uname 'phy:/dev/vg0/" + name + "-" + std::to_string(i) + "')(mode 'w')))";
  return c + "(device (vif (bridge 'xenbr0')(script 'vif-bridge'))))";
}

// What the hypervisor reports for a running guest (a copy per read, as GetDomainInfo returns).
DomainInfo RunningInfo(uint32_t domid) {
  DomainInfo info;
  info.domid = domid;
  info.blocked = true;
  info.memory_kib = info.max_memory_kib = 16 * 1024;
  info.online_vcpus = 2;
  info.max_vcpu_id = 1;
  info.cpu_time_ns = 1234567890;
  return info;
}

// The nodes DomainQueries reads for a running PV domain whose nodes changed.
std::vector<std::string> ReadPaths(const DomainRecord& r) {
  std::vector<std::string> paths{DomainHome(r.info->domid) + "/memory/target",
                                 DomainHome(r.info->domid) + "/console/tty"};
  for (const auto& d : r.devices) {
    paths.push_back(d.backend_path + "/state");
    paths.push_back(d.ref.FrontendPath(r.info->domid) + "/state");
  }
  return paths;
}

// An xsd serving on a thread of this process: the cache's watch needs one.
class ThreadXsd {
 public:
  static Result<std::unique_ptr<ThreadXsd>> Start(const std::string& socket) {
    std::unique_ptr<ThreadXsd> x(new ThreadXsd);
    xsd::ServerOptions o;
    o.socket_path = socket;
    TXEND_ASSIGN_OR_RETURN(x->server_, xsd::Server::Create(o, x->store_));
    x->thread_ = std::thread([s = x->server_.get()] { (void)s->Run(); });
    return x;
  }
  ~ThreadXsd() {
    server_->RequestStop();
    thread_.join();
  }

 private:
  ThreadXsd() = default;
  xsd::Xenstore store_{xsd::Quota{}};
  std::unique_ptr<xsd::Server> server_;
  std::thread thread_;
};

// Registers `domains` running domains, each with its xenstore state in `cache`
// as a read leaves it; fills `f`'s paths and the read domain's name.
Status Populate(int domains, DomainRegistry& registry, DomainStateCache& cache, SxpFloor& f) {
  RandomBytes random = SeededRandomBytes(17);
  TXEND_RETURN_IF_ERROR(cache.CatchUp());  // the watch's first event is in
  uint64_t epoch = cache.Epoch();
  for (int i = 0; i < domains; ++i) {
    TXEND_ASSIGN_OR_RETURN(sxp::Value vm, sxp::Parse(DemoConfig(DomainName(i))));
    TXEND_ASSIGN_OR_RETURN(ValidConfig config, FromSxp(vm, random));
    TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
    uint32_t domid = static_cast<uint32_t>(i + 1);
    TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry.AddRunning(registered, domid, 1.7e9));
    DomainRecord r = DomainRecord::Of(d, RunningInfo(domid));
    r.memory_target_kib = 16 * 1024;
    r.console_tty = "/dev/pts/" + std::to_string(domid);
    for (auto& dev : r.devices) dev.backend_state = dev.frontend_state = XenbusState::kConnected;
    std::vector<std::string> paths = ReadPaths(r);
    f.store_paths.insert(f.store_paths.end(), paths.begin(), paths.end());
    if (i == domains - 1) f.read_paths = paths;
    cache.Store(r, d, epoch);
  }
  f.name = DomainName(domains - 1);
  return Status::Ok();
}

}  // namespace

Result<SxpFloor> MeasureDomainSxp(int domains, const std::string& dir, const FloorSettings& s) {
  TXEND_ASSIGN_OR_RETURN(auto xsd, ThreadXsd::Start(dir + "/xs.sock"));
  TXEND_ASSIGN_OR_RETURN(auto conn, xs::Connection::Open(dir + "/xs.sock"));
  TXEND_ASSIGN_OR_RETURN(auto registry, DomainRegistry::Open(dir + "/state", SeededRandomBytes(3)));
  DomainStateCache cache;
  TXEND_RETURN_IF_ERROR(cache.Start(*conn));
  SxpFloor f;
  TXEND_RETURN_IF_ERROR(Populate(domains, *registry, cache, f));
  DomainInfo info = RunningInfo(static_cast<uint32_t>(domains));
  bool missed = false;
  // DomainQueries::Get and XendApi::GetDomain, less the round trip (CatchUp) and the
  // hypervisor call (its reply is copied).
  f.cpu = PerOp(s.repeats, s.batch, [&] {
    auto resolved = registry->Resolve(f.name);
    if (!resolved.ok() || resolved->is_dom0()) return void(missed = true);
    DomainRecord r = DomainRecord::Of(*resolved->domain, info);
    missed |= !cache.Fill(r, *resolved->domain);
    std::string text;
    AppendDomainSxp(r, text);
    f.body = std::move(text);  // as into the reply
  });
  if (missed) return Status::Error(EIO, "a read missed the registry or the cache");
  return f;
}

}  // namespace txend::bench
