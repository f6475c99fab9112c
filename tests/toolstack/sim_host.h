// SimHost: a whole simulated Xen host for tests — a real xsd process, the
// simulated hypervisor, dom0's simulated backends, simulated guest kernels
// and a Toolstack — in a temp directory of its own.
#pragma once

#include <chrono>
#include <mutex>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_kernel.h"
#include "toolstack/agents/sim_backends.h"
#include "toolstack/agents/sim_guests.h"
#include "toolstack/domain/device_ops.h"
#include "toolstack/domain/domain_exits.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/domain/lifecycle.h"
#include "toolstack/domain/managed_domains.h"
#include "toolstack/hypervisor/sim/sim_hypervisor.h"
#include "toolstack/migration/migration.h"
#include "toolstack/toolstack.h"

namespace txend::toolstack {

class SimHost {
 public:
  explicit SimHost(SimWorkload workload = {}) : workload_(workload) {
    auto d = testing::StartXsd(socket(), {"--domain-sockets", dir_ / "domains"});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
    testing::WriteFakeKernel(kernel());
    OpenAll();
  }
  ~SimHost() { CloseAll(); }

  // Tears down and reopens everything but xsd and the hypervisor's state (a txend restart).
  void Restart() {
    CloseAll();
    OpenAll();
  }

  std::string socket() const { return dir_ / "xenstored.sock"; }
  std::string kernel() const { return dir_ / "vmlinuz"; }
  std::string path(const std::string& name) const { return dir_ / name; }

  DomainConfig Config(const std::string& name, int disks = 2, int vifs = 1) const {
    DomainConfig c;
    c.name = name;
    c.image.kernel = kernel();
    c.memory_mb = c.maxmem_mb = 128;
    c.vcpus = 2;
    for (int i = 0; i < disks; ++i) {
      VbdConfig vbd;
      vbd.uname = "phy:/dev/vg/" + name + "-" + std::to_string(i);
      vbd.dev = "xvda" + std::to_string(i + 1);
      vbd.mode = "w";
      c.vbds.push_back(vbd);
    }
    for (int i = 0; i < vifs; ++i) {
      VifConfig vif;
      vif.bridge = "xenbr0";
      c.vifs.push_back(vif);
    }
    return c;
  }

  // An HVM guest's config: hvmloader, VNC, the same disks and vifs as Config().
  DomainConfig HvmConfig(const std::string& name) const {
    DomainConfig c = Config(name);
    c.image.builder = Builder::kHvm;
    c.image.kernel.clear();
    c.image.loader = "hvmloader";
    c.image.options.push_back(sxp::Value::List({"boot", "dc"}));
    VfbConfig vfb;
    vfb.type = "vnc";
    vfb.vnclisten = "127.0.0.1";
    c.vfbs.push_back(vfb);
    return c;
  }

  // A config through the toolstack's one check, as every operation takes it.
  ValidConfig Valid(DomainConfig config) const {
    auto valid = toolstack->CheckConfig(std::move(config));
    EXPECT_TRUE(valid.ok()) << valid.status().ToString();
    return std::move(valid).value();
  }
  ValidConfig Valid(const std::string& name, int disks = 2, int vifs = 1) const {
    return Valid(Config(name, disks, vifs));
  }

  uint64_t Stat(const std::string& name) {
    uint64_t value = testing::XsdStat(*xs, name);
    EXPECT_NE(value, ~0ull) << "xsd has no stat " << name;
    return value;
  }

  // What the toolstack said through options.log, a line each.
  std::string Log() {
    std::lock_guard lock(log_mu_);
    return log_;
  }

  std::optional<std::string> Read(const std::string& p) {
    auto snap = xs::Snapshot::Begin(*xs);
    auto v = snap->ReadIfExists(p);
    return v.ok() ? *v : std::nullopt;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
  std::unique_ptr<xs::Connection> xs;
  std::unique_ptr<SimHypervisor> sim;
  std::unique_ptr<SimBackends> backends;
  std::unique_ptr<SimGuests> guests;
  std::unique_ptr<Toolstack> toolstack;

 private:
  SimWorkload workload_;
  std::mutex log_mu_;
  std::string log_;
  void OpenAll() {
    SimOptions so;
    so.state_dir = dir_ / "sim";
    so.host_memory_kib = 8ull << 20;
    sim = std::make_unique<SimHypervisor>(so);
    xs = std::move(*xs::Connection::Open(socket()));
    backends = std::move(*SimBackends::Start(socket()));
    ToolstackOptions to;
    to.state_dir = dir_ / "state";
    to.device_timeout = std::chrono::seconds(5);
    to.shutdown_timeout = std::chrono::seconds(5);
    to.device_model.qemu = std::string(TXEND_BIN_DIR) + "/txend-sim-qemu";
    to.device_model.log_dir = dir_ / "log";
    to.device_model.run_dir = dir_ / "run";
    to.device_model.xenstored_path = socket();
    to.log = [this](const std::string& line) {
      std::lock_guard lock(log_mu_);
      log_ += line + "\n";
    };
    auto t = Toolstack::Open(*xs, *sim, to);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    toolstack = std::move(*t);
    guests = std::make_unique<SimGuests>(*sim, dir_ / "domains", workload_);
    guests->BootRunning();
  }
  void CloseAll() {
    guests.reset();
    toolstack.reset();
    backends.reset();
    xs.reset();
    sim.reset();
  }
};

}  // namespace txend::toolstack
