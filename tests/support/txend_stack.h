// Test support: a whole txend host in a temp directory — an xsd process
// (persistent store) and a txend process on the simulated hypervisor — plus a
// fake guest kernel file for configs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "tests/support/daemon_process.h"
#include "tests/support/xend_client.h"

namespace txend::testing {

class TxendStack {
 public:
  struct Options {
    bool persist = true;
    uint16_t tcp_port = 0;  // 0: no TCP listener
    // Plain, unauthenticated HTTP on tcp_port (the explicit opt-out); false:
    // extra_args give the TCP API its certificate, key and CA.
    bool tcp_insecure = true;
    std::string hosts_allow;
    std::vector<std::string> extra_args;
    // Runs xsd and txend under this command, e.g. {"/usr/sbin/ip", "netns", "exec", "ns1"}.
    std::vector<std::string> exec_prefix;
  };
  static Result<std::unique_ptr<TxendStack>> Start(Options options);
  static Result<std::unique_ptr<TxendStack>> Start() { return Start(Options{}); }

  std::string xend_socket() const { return dir_ / "xend-socket"; }
  std::string log_file() const { return dir_ / "txend.log"; }
  std::string xs_socket() const { return dir_ / "xs/socket"; }
  std::string kernel() const { return dir_ / "vmlinuz"; }
  std::string path(const std::string& name) const { return dir_ / name; }
  XendClient client() const { return XendClient::Unix(xend_socket()); }

  // A counter from xsd's `stats` (transactions_started, disk_bytes_written, ...).
  uint64_t XsdStat(const std::string& name) const;
  // Stops txend with `signal` (if it still runs) and starts it again, with
  // `env` ("NAME=value", e.g. TXEND_FAULT) added to ours; domains keep running.
  Status RestartTxend(int signal, std::vector<std::string> env = {});
  Status RestartXsd(int signal);
  // Arguments for later restarts of txend (RestartTxend), in place of extra_args.
  void set_extra_args(std::vector<std::string> args) { options_.extra_args = std::move(args); }
  DaemonProcess& txend() { return *txend_; }
  DaemonProcess& xsd() { return *xsd_; }
  // A libvirt-style PV config SXP for a domain with `disks` disks and `vifs` vifs.
  std::string Config(const std::string& name, int disks = 2, int vifs = 1,
                     int memory_mib = 64) const;

 private:
  explicit TxendStack(Options o) : options_(std::move(o)) {}
  Status StartXsd();
  Status StartTxend(std::vector<std::string> env = {});
  Options options_;
  TempDir dir_;
  std::unique_ptr<DaemonProcess> xsd_;
  std::unique_ptr<DaemonProcess> txend_;
};

// A TCP port free on 127.0.0.1 right now.
uint16_t FreeTcpPort();

}  // namespace txend::testing
