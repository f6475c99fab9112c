// DaemonOptions: txend's settings, from an xend-config.sxp-style file
// ((xend-http-server yes) (xend-port 8000) ...) overridden by flags:
//   txend [--no-fork] [--config FILE] [--unix-socket PATH] [--tcp [ADDR:]PORT]
//         [--xenstored SOCKET] [--hypervisor auto|sim|xen] [--relocation [ADDR:]PORT] ...
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "http/http_server.h"
#include "toolstack/bootloader/bootloader_command.h"

namespace txend::daemon {

// xend's relocation service (incoming migrations); off unless enabled.
struct RelocationOptions {
  bool enabled = false;  // xend-relocation-server
  http::TcpEndpoint endpoint{"0.0.0.0",
                             8002};  // xend-relocation-address ('' = all), xend-relocation-port
  std::string hosts_allow;           // xend-relocation-hosts-allow
  int io_timeout_s = 30;  // a stalled peer fails a migration, either way (txend-relocation-timeout)
  // The SSL relocation server: TLS with this certificate and key.
  bool ssl_enabled = false;  // xend-relocation-ssl-server
  http::TcpEndpoint ssl_endpoint{"0.0.0.0",
                                 8003};  // xend-relocation-address, xend-relocation-ssl-port
  std::string ssl_cert_file;             // xend-relocation-server-ssl-cert-file
  std::string ssl_key_file;              // xend-relocation-server-ssl-key-file
  // The pool's CA: the SSL server requires client certificates it signed, and
  // outgoing ssl=1 migrations verify the destination (and its host name) against
  // it, presenting ssl_cert_file/ssl_key_file as theirs.
  std::string ssl_ca_file;  // txend-relocation-ssl-ca-file
  // The explicit opt-out (txend-relocation-insecure): the plain server takes
  // migrations from anyone hosts-allow lets in, and without a CA the SSL server
  // takes any client and outgoing ssl=1 migrations verify nothing.
  bool insecure = false;
};

// The TCP API's mutual TLS: this host's certificate and key, and the CA that
// clients' certificates must chain to. Without them TCP needs the opt-out.
struct TcpTlsOptions {
  std::string cert_file, key_file, ca_file;  // txend-http-ssl-{cert,key,ca}-file
  bool insecure = false;                     // txend-http-insecure: plain HTTP, anyone allowed
};

struct DaemonOptions {
  bool no_fork = false;
  std::string config_file;                                // --config
  std::string unix_socket = "/var/lib/xend/xend-socket";  // xend-unix-path; "" disables
  std::optional<http::TcpEndpoint> tcp;  // xend-http-server + xend-address/xend-port
  std::string hosts_allow;               // xend-hosts-allow
  TcpTlsOptions tcp_tls;
  std::string xenstored = "/run/xenstored/socket";    // --xenstored
  std::string domain_sockets;                         // default: <dir of xenstored>/domains
  std::string hypervisor = "auto";                    // auto | sim | xen
  std::string state_dir = "/var/lib/txend";           // configs, simulator state, xsd journal
  std::string log_file = "/var/log/txend/txend.log";  // logfile
  std::string pid_file;
  std::string xsd_program;  // default: xsd beside txend
  size_t max_body_bytes = 1 << 20;
  int device_timeout_s = 100;                      // xend's DEVICE_CREATE_TIMEOUT
  std::string pygrub = toolstack::kDefaultPygrub;  // what bootloader 'pygrub' runs
  int bootloader_timeout_s = 60;                   // then a PV bootloader is stopped
  std::string sysfs = "/sys";  // the host's PCI devices bound to pciback/pci-stub are listed here
  uint64_t sim_host_memory_mib = 16 * 1024;  // the simulated host's RAM
  double sim_dirty_mib_per_s = 0;            // simulated guests' memory writes
  uint64_t sim_working_set_mib = 0;          // ... within their first N MiB (0: all)
  RelocationOptions relocation;
  // What an arriving domain (a migration, op=create over TCP) may use:
  // txend-incoming-storage, txend-incoming-bridges (blank-separated).
  std::string incoming_storage, incoming_bridges;
  // HVM guests' device models; "" picks the default for the hypervisor (Debian's
  // qemu-system-xen and /var/log/xen on Xen; txend-sim-qemu and <state-dir> on the simulator).
  std::string device_model, dm_log_dir, dm_run_dir, firmware_dir;
  int device_model_timeout_s = 30;
};

// Parses flags; reads --config first when given, then applies the flags over it.
// `help` receives usage text for --help.
Result<DaemonOptions> ParseDaemonOptions(int argc, const char* const* argv, std::string* help);
// Applies an xend-config.sxp text to `o`. EINVAL names the bad entry.
Status ApplyConfigText(const std::string& text, DaemonOptions& o);
// The lines txend warns with at start-up: each listener that opted out of authentication.
std::vector<std::string> InsecureWarnings(const DaemonOptions& o);

}  // namespace txend::daemon
