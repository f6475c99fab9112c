#include "txend/daemon_options.h"

#include <filesystem>

#include <CLI/CLI.hpp>

#include "base/host_files.h"
#include "base/numbers.h"
#include "sxp/sxp.h"

namespace txend::daemon {
namespace {

// A number as xend's int() read it: blanks around and a '+' are fine.
Result<int> Integer(std::string_view text) {
  text = TrimBlanks(text);
  if (text.starts_with('+')) text.remove_prefix(1);
  return ParseInteger<int>(text);
}

// An xend-config yes/no entry; any other word is an error, as in xend.
Result<bool> Flag(const std::string& key, const std::string& value) {
  auto flag = ParseBool(value);
  if (!flag.ok()) return Status::Error(EINVAL, key + ": " + flag.status().message());
  return flag;
}

Result<uint16_t> Port(const std::string& text) {
  auto port = Integer(text);
  if (port.ok() && *port > 0 && *port < 65536) return static_cast<uint16_t>(*port);
  return Status::Error(EINVAL, "bad TCP port '" + text + "'");
}

// "[ADDR:]PORT" as --tcp and --relocation take it.
Result<http::TcpEndpoint> Endpoint(const std::string& text,
                                   const std::string& default_address = "127.0.0.1") {
  http::TcpEndpoint e{default_address, 0};
  size_t colon = text.rfind(':');
  if (colon != std::string::npos) e.address = text.substr(0, colon);
  TXEND_ASSIGN_OR_RETURN(e.port, Port(colon == std::string::npos ? text : text.substr(colon + 1)));
  return e;
}

Result<int> Seconds(const std::string& text) {
  auto s = Integer(text);
  if (s.ok() && *s > 0 && *s <= 3600) return s;
  return Status::Error(EINVAL, "bad number of seconds '" + text + "' (1 to 3600)");
}

// xend read a bare file name in /etc/xen.
std::string InConfigDir(const std::string& file) {
  return file.empty() || file.find('/') != std::string::npos ? file : "/etc/xen/" + file;
}

// Secure defaults: a listener that would serve unauthenticated peers needs the opt-out.
Status CheckAuthentication(const DaemonOptions& o) {
  const TcpTlsOptions& t = o.tcp_tls;
  bool tcp_tls = !t.cert_file.empty() || !t.key_file.empty() || !t.ca_file.empty();
  if (o.tcp && tcp_tls && (t.cert_file.empty() || t.key_file.empty() || t.ca_file.empty()))
    return Status::Error(EINVAL,
                         "the TCP API's TLS needs a certificate, a key and a CA "
                         "(txend-http-ssl-cert-file, -key-file, -ca-file; --tcp-cert, --tcp-key, "
                         "--tcp-ca)");
  if (o.tcp && !tcp_tls && !t.insecure)
    return Status::Error(EINVAL,
                         "the TCP API authenticates its clients with TLS: give it a certificate, a "
                         "key and the CA clients' certificates chain to (txend-http-ssl-cert-file, "
                         "-key-file, -ca-file; --tcp-cert, --tcp-key, --tcp-ca), or serve it "
                         "unauthenticated with (txend-http-insecure yes) / --tcp-insecure");
  if (o.relocation.ssl_enabled && o.relocation.ssl_ca_file.empty() && !o.relocation.insecure)
    return Status::Error(EINVAL,
                         "the SSL relocation server authenticates its peers: give it the pool's CA "
                         "(txend-relocation-ssl-ca-file, --relocation-ssl-ca), or take anyone with "
                         "(txend-relocation-insecure yes) / --relocation-insecure");
  return Status::Ok();
}

// The file named by --config FILE or --config=FILE, if any: read before the flags are
// parsed, so that every flag given overrides the file.
std::string ConfigFileArgument(int argc, const char* const* argv) {
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc)
      file = argv[++i];
    else if (arg.starts_with("--config="))
      file = arg.substr(std::string_view("--config=").size());
  }
  return file;
}

// xend-config.sxp is a few KiB; this bound only stops a file that could never be one.
constexpr uint64_t kMaxConfigFileBytes = 16ull << 20;

Status ApplyConfigFile(const std::string& file, DaemonOptions& o) {
  auto text = ReadRegularFile(file, "cannot read config file", kMaxConfigFileBytes);
  if (!text.ok()) return text.status();
  Status st = ApplyConfigText(*text, o);
  if (!st.ok()) return Status::Error(EINVAL, file + ": " + st.message());
  return Status::Ok();
}

}  // namespace

std::vector<std::string> InsecureWarnings(const DaemonOptions& o) {
  std::vector<std::string> lines;
  if (o.tcp && o.tcp_tls.insecure && o.tcp_tls.cert_file.empty())
    lines.push_back("WARNING: the TCP API on " + o.tcp->address + ":" +
                    std::to_string(o.tcp->port) +
                    " is unauthenticated (txend-http-insecure): anyone who can reach it may "
                    "create, destroy and migrate domains");
  if (o.relocation.enabled && o.relocation.insecure)
    lines.push_back(
        "WARNING: the plain relocation server takes migrations from unauthenticated "
        "peers (txend-relocation-insecure)");
  if (o.relocation.ssl_enabled && o.relocation.insecure && o.relocation.ssl_ca_file.empty())
    lines.push_back(
        "WARNING: the SSL relocation server takes any client, without a CA "
        "(txend-relocation-insecure)");
  return lines;
}

Status ApplyConfigText(const std::string& text, DaemonOptions& o) {
  TXEND_ASSIGN_OR_RETURN(auto entries, sxp::ParseAll(text));
  bool http = o.tcp.has_value();
  http::TcpEndpoint tcp = o.tcp.value_or(http::TcpEndpoint{});
  for (const auto& e : entries) {
    if (!e.is_list() || e.items().size() != 2 || !e.items()[1].is_atom())
      return Status::Error(EINVAL, "config entry " + sxp::ToString(e) + " is not (name value)");
    std::string key(sxp::Name(e)), value = e.items()[1].atom();
    if (key == "xend-http-server") {
      TXEND_ASSIGN_OR_RETURN(http, Flag(key, value));
    } else if (key == "xend-port") {
      TXEND_ASSIGN_OR_RETURN(tcp.port, Port(value));
    } else if (key == "xend-address")
      tcp.address = value.empty() ? "0.0.0.0" : value;
    else if (key == "xend-unix-server") {
      TXEND_ASSIGN_OR_RETURN(bool unix_server, Flag(key, value));
      if (!unix_server) o.unix_socket.clear();
    } else if (key == "xend-unix-path")
      o.unix_socket = value;
    else if (key == "xend-hosts-allow")
      o.hosts_allow = value;
    else if (key == "logfile")
      o.log_file = value;
    else if (key == "txend-xenstored")
      o.xenstored = value;
    else if (key == "txend-hypervisor")
      o.hypervisor = value;
    else if (key == "txend-state-dir")
      o.state_dir = value;
    else if (key == "device-create-timeout") {
      auto seconds = Integer(value);
      if (!seconds.ok()) return Status::Error(EINVAL, key + ": " + seconds.status().message());
      o.device_timeout_s = *seconds;
    } else if (key == "xend-relocation-server") {
      TXEND_ASSIGN_OR_RETURN(o.relocation.enabled, Flag(key, value));
    } else if (key == "xend-relocation-port") {
      TXEND_ASSIGN_OR_RETURN(o.relocation.endpoint.port, Port(value));
    } else if (key == "xend-relocation-address")
      o.relocation.endpoint.address = o.relocation.ssl_endpoint.address =
          value.empty() ? "0.0.0.0" : value;
    else if (key == "xend-relocation-hosts-allow")
      o.relocation.hosts_allow = value;
    else if (key == "xend-relocation-ssl-server") {
      TXEND_ASSIGN_OR_RETURN(o.relocation.ssl_enabled, Flag(key, value));
    } else if (key == "xend-relocation-ssl-port") {
      TXEND_ASSIGN_OR_RETURN(o.relocation.ssl_endpoint.port, Port(value));
    } else if (key == "xend-relocation-server-ssl-cert-file")
      o.relocation.ssl_cert_file = InConfigDir(value);
    else if (key == "xend-relocation-server-ssl-key-file")
      o.relocation.ssl_key_file = InConfigDir(value);
    else if (key == "txend-relocation-ssl-ca-file")
      o.relocation.ssl_ca_file = InConfigDir(value);
    else if (key == "txend-relocation-insecure") {
      TXEND_ASSIGN_OR_RETURN(o.relocation.insecure, Flag(key, value));
    } else if (key == "txend-http-ssl-cert-file")
      o.tcp_tls.cert_file = InConfigDir(value);
    else if (key == "txend-http-ssl-key-file")
      o.tcp_tls.key_file = InConfigDir(value);
    else if (key == "txend-http-ssl-ca-file")
      o.tcp_tls.ca_file = InConfigDir(value);
    else if (key == "txend-http-insecure") {
      TXEND_ASSIGN_OR_RETURN(o.tcp_tls.insecure, Flag(key, value));
    } else if (key == "txend-incoming-storage")
      o.incoming_storage = value;
    else if (key == "txend-incoming-bridges")
      o.incoming_bridges = value;
    else if (key == "txend-relocation-timeout") {
      TXEND_ASSIGN_OR_RETURN(o.relocation.io_timeout_s, Seconds(value));
    }
    // Other xend settings (vnc, network scripts...) are accepted and ignored.
  }
  if (http)
    o.tcp = tcp;
  else
    o.tcp.reset();
  return Status::Ok();
}

Result<DaemonOptions> ParseDaemonOptions(int argc, const char* const* argv, std::string* help) {
  DaemonOptions o;
  std::string config_file = ConfigFileArgument(argc, argv);
  if (!config_file.empty()) TXEND_RETURN_IF_ERROR(ApplyConfigFile(config_file, o));
  CLI::App app{"txend: a Xen toolstack daemon serving xend's HTTP/SXP API", "txend"};
  std::string tcp, unix_socket, hosts_allow, relocation, relocation_allow, relocation_ssl;
  bool no_unix = false, relocation_insecure = false, tcp_insecure = false;
  app.add_flag("--no-fork", o.no_fork, "stay in the foreground");
  app.add_option("--config", o.config_file, "xend-config.sxp-style settings file");
  app.add_option("--unix-socket", unix_socket,
                 "the API's unix socket (default /var/lib/xend/xend-socket)");
  app.add_flag("--no-unix-socket", no_unix, "serve no unix socket");
  app.add_option("--tcp", tcp, "also serve TCP on [ADDR:]PORT (ADDR defaults to 127.0.0.1)");
  app.add_option("--hosts-allow", hosts_allow, "space-separated regexes of allowed TCP clients");
  app.add_option("--xenstored", o.xenstored,
                 "xenstored socket; a bundled xsd is started there if none answers")
      ->capture_default_str();
  app.add_option("--domain-sockets", o.domain_sockets,
                 "directory of xsd's per-domain sockets (simulated guests)");
  app.add_option("--hypervisor", o.hypervisor,
                 "auto (xen when /dev/xen/privcmd exists, else sim), sim or xen")
      ->check(CLI::IsMember({"auto", "sim", "xen"}))
      ->capture_default_str();
  app.add_option("--state-dir", o.state_dir, "domain configs and simulator state")
      ->capture_default_str();
  app.add_option("--log-file", o.log_file, "log file")->capture_default_str();
  app.add_option("--pid-file", o.pid_file, "write the daemon's pid here");
  app.add_option("--xsd", o.xsd_program, "the xsd program to start (default: beside txend)");
  app.add_option("--max-body", o.max_body_bytes, "largest request body in bytes")
      ->capture_default_str();
  app.add_option("--device-timeout", o.device_timeout_s, "seconds backends have to connect")
      ->capture_default_str();
  app.add_option("--pygrub", o.pygrub,
                 "what a PV or PVH guest's bootloader 'pygrub' (or none) runs")
      ->capture_default_str();
  app.add_option("--bootloader-timeout", o.bootloader_timeout_s,
                 "seconds a PV or PVH guest's bootloader may take before it is stopped")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--sysfs", o.sysfs,
                 "sysfs root whose pciback and pci-stub drivers list the assignable PCI devices")
      ->capture_default_str();
  app.add_option("--sim-memory", o.sim_host_memory_mib, "MiB of RAM of the simulated host")
      ->capture_default_str();
  app.add_option("--sim-dirty-rate", o.sim_dirty_mib_per_s,
                 "MiB/s each simulated guest writes to its memory")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--sim-working-set", o.sim_working_set_mib,
                 "simulated guests write within their first N MiB (0: all)");
  app.add_option("--device-model", o.device_model,
                 "HVM guests' device model (default: /usr/libexec/xen-qemu-system-i386 on Xen, "
                 "txend-sim-qemu beside txend on the simulator)");
  app.add_option("--device-model-log-dir", o.dm_log_dir,
                 "device model logs (default: /var/log/xen; <state-dir>/log on the simulator)");
  app.add_option("--device-model-run-dir", o.dm_run_dir,
                 "QMP sockets and pid files (default: /var/run/xen; <state-dir>/run on the "
                 "simulator)");
  app.add_option("--firmware-dir", o.firmware_dir,
                 "where hvmloader is (default: /usr/lib/xen-4.17/boot)");
  app.add_option("--device-model-timeout", o.device_model_timeout_s,
                 "seconds a device model has to start")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--relocation", relocation,
                 "serve incoming migrations on [ADDR:]PORT (xend-relocation-server)");
  app.add_option("--relocation-hosts-allow", relocation_allow,
                 "space-separated regexes of hosts allowed to migrate here");
  app.add_option("--relocation-ssl", relocation_ssl,
                 "serve incoming migrations over TLS on [ADDR:]PORT");
  app.add_option("--relocation-ssl-cert", o.relocation.ssl_cert_file,
                 "PEM certificate of the TLS relocation server");
  app.add_option("--relocation-ssl-key", o.relocation.ssl_key_file,
                 "PEM key of the TLS relocation server");
  app.add_option("--relocation-ssl-ca", o.relocation.ssl_ca_file,
                 "CAs that ssl=1 migrations verify the destination against");
  app.add_flag("--relocation-insecure", relocation_insecure,
               "take migrations from unauthenticated peers (txend-relocation-insecure)");
  app.add_option("--tcp-cert", o.tcp_tls.cert_file, "PEM certificate of the TCP API (TLS)");
  app.add_option("--tcp-key", o.tcp_tls.key_file, "PEM key of the TCP API");
  app.add_option("--tcp-ca", o.tcp_tls.ca_file,
                 "CAs that TCP API clients' certificates must chain to");
  app.add_flag("--tcp-insecure", tcp_insecure,
               "serve the TCP API as plain HTTP, unauthenticated (txend-http-insecure)");
  app.add_option("--incoming-storage", o.incoming_storage,
                 "storage arriving domains may use: path prefixes and volume groups");
  app.add_option("--incoming-bridges", o.incoming_bridges,
                 "bridges arriving domains may join (default: any)");
  app.add_option("--relocation-timeout", o.relocation.io_timeout_s,
                 "seconds without progress that fail a migration")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (help) *help = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return Status::Error(EINVAL, e.what());
  }
  if (!unix_socket.empty()) o.unix_socket = unix_socket;
  if (no_unix) o.unix_socket.clear();
  if (!tcp.empty()) {
    TXEND_ASSIGN_OR_RETURN(o.tcp, Endpoint(tcp));
  }
  if (!hosts_allow.empty()) o.hosts_allow = hosts_allow;
  if (!relocation.empty()) {
    TXEND_ASSIGN_OR_RETURN(o.relocation.endpoint, Endpoint(relocation, "0.0.0.0"));
    o.relocation.enabled = true;
  }
  if (!relocation_allow.empty()) o.relocation.hosts_allow = relocation_allow;
  if (!relocation_ssl.empty()) {
    TXEND_ASSIGN_OR_RETURN(o.relocation.ssl_endpoint, Endpoint(relocation_ssl, "0.0.0.0"));
    o.relocation.ssl_enabled = true;
  }
  if (relocation_insecure) o.relocation.insecure = true;
  if (tcp_insecure) o.tcp_tls.insecure = true;
  if (o.relocation.ssl_enabled &&
      (o.relocation.ssl_cert_file.empty() || o.relocation.ssl_key_file.empty()))
    return Status::Error(
        EINVAL,
        "the SSL relocation server needs a certificate and a key "
        "(xend-relocation-server-ssl-cert-file/-key-file, --relocation-ssl-cert/-key)");
  TXEND_RETURN_IF_ERROR(CheckAuthentication(o));
  if (o.domain_sockets.empty())
    o.domain_sockets = (std::filesystem::path(o.xenstored).parent_path() / "domains").string();
  if (o.xsd_program.empty())
    o.xsd_program = (std::filesystem::path(argv[0]).parent_path() / "xsd").string();
  return o;
}

}  // namespace txend::daemon
