// txend: the toolstack daemon. Connects to xenstore (starting its bundled xsd
// when none answers), opens the hypervisor (the simulated one wherever
// /dev/xen/privcmd is absent), and serves xend's HTTP/SXP API.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sys/wait.h>
#include <thread>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "base/daemon.h"
#include "base/numbers.h"
#include "base/stop_signals.h"
#include "http/http_server.h"
#include "toolstack/agents/hotplug_scripts.h"
#include "toolstack/agents/sim_backends.h"
#include "toolstack/agents/sim_consoles.h"
#include "toolstack/agents/sim_guests.h"
#include "toolstack/domain/managed_domains.h"
#include "toolstack/migration/migration.h"
#include "toolstack/open_hypervisor.h"
#include "toolstack/toolstack.h"
#include "txend/audit.h"
#include "txend/daemon_options.h"
#include "txend/domain_socket_probe.h"
#include "txend/relocation_server.h"
#include "txend/xend_api.h"

namespace {

// How long a stop waits for the domains marked (on_xend_stop shutdown) to go: well within
// a service manager's stop timeout (systemd's default is 90 s).
constexpr std::chrono::seconds kAutostopWait{30};

using namespace txend;
namespace fs = std::filesystem;

int Fail(const std::string& what) {
  fprintf(stderr, "txend: %s\n", what.c_str());
  return 1;
}

bool XenstoreAnswers(const std::string& socket) {
  auto c = xs::Connection::Open(socket);
  return c.ok() && (*c)->GetDomainPath(0).ok();
}

// Starts the bundled xsd on `o.xenstored` (it daemonizes and returns once it listens).
// Under a service manager, readiness is txend's to report, not xsd's.
Status StartXsd(const daemon::DaemonOptions& o, spdlog::logger& log) {
  std::error_code ec;
  fs::create_directories(fs::path(o.xenstored).parent_path(), ec);
  std::string cmd = "env -u NOTIFY_SOCKET " + o.xsd_program + " --socket " + o.xenstored +
                    " --domain-sockets " + o.domain_sockets + " --persist " + o.state_dir +
                    "/xsd --pid-file " + o.state_dir + "/xsd.pid";
  log.info("no xenstored answers at {}: starting {}", o.xenstored, cmd);
  int rc = std::system(cmd.c_str());
  if (rc != 0) return Status::Error(EIO, "could not start xsd (" + cmd + ")");
  return Status::Ok();
}

// Replaces this process with a fresh txend (same arguments, in the foreground:
// it is already a daemon). Start-up is recovery — it reconnects to xenstore (or
// starts xsd), re-introduces the running domains and re-arms every watch — so
// after xenstored restarts this is the whole of reconnecting.
[[noreturn]] void RestartSelf(int argc, char** argv, spdlog::logger& log) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd", ec)) {
    auto fd = ParseInteger<int>(entry.path().filename().string());
    if (fd.ok() && *fd > 2) fcntl(*fd, F_SETFD, FD_CLOEXEC);
  }
  std::vector<char*> args(argv, argv + argc);
  std::string no_fork = "--no-fork";
  if (std::find_if(args.begin(), args.end(),
                   [](char* a) { return std::string(a) == "--no-fork"; }) == args.end())
    args.push_back(no_fork.data());
  args.push_back(nullptr);
  log.flush();
  execv("/proc/self/exe", args.data());
  log.critical("cannot restart: {}", strerror(errno));
  log.flush();
  _exit(1);
}

// Until SIGTERM/SIGINT (false) or the loss of the xenstore connection (true); flushes
// `log` every second meanwhile.
bool WaitForStopOrXenstoreLoss(StopSignals& signals, xs::Connection& conn, spdlog::logger& log) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false, lost = false;
  };
  auto state = std::make_shared<State>();  // the callbacks may outlive this call
  auto set = [state](bool State::*flag) {
    std::lock_guard lock(state->mu);
    (*state).*flag = true;
    state->cv.notify_all();
  };
  signals.OnStop([set] { set(&State::stop); });
  conn.OnClosed([set] { set(&State::lost); });
  std::unique_lock lock(state->mu);
  while (!state->cv.wait_for(lock, std::chrono::seconds(1),
                             [&] { return state->stop || state->lost || !conn.alive(); }))
    log.flush();
  log.flush();
  return !state->stop;
}

std::string SelfDirectory() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

// The simulator's device model: beside txend in a build tree, in
// <prefix>/libexec/txend when installed.
std::string SimDeviceModel() {
  std::string beside = SelfDirectory() + "/txend-sim-qemu";
  std::error_code ec;
  if (fs::exists(beside, ec)) return beside;
  return SelfDirectory() + "/../libexec/txend/txend-sim-qemu";
}

}  // namespace

int main(int argc, char** argv) {
  std::string help;
  auto parsed = daemon::ParseDaemonOptions(argc, argv, &help);
  if (!parsed.ok()) return Fail(parsed.status().message() + " (try --help)");
  if (!help.empty()) {
    fputs(help.c_str(), stdout);
    return 0;
  }
  daemon::DaemonOptions o = *parsed;
  const std::vector<std::string> warnings = daemon::InsecureWarnings(o);
  for (const auto& w : warnings) fprintf(stderr, "txend: %s\n", w.c_str());
  if (o.xsd_program == "xsd" || o.xsd_program.empty()) o.xsd_program = SelfDirectory() + "/xsd";
  std::error_code ec;
  for (const std::string& dir : {o.state_dir, fs::path(o.log_file).parent_path().string(),
                                 fs::path(o.unix_socket).parent_path().string()})
    if (!dir.empty()) fs::create_directories(dir, ec);

  Daemonizer daemon(o.no_fork);
  StopSignals signals;
  auto log_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.log_file);
  auto log = std::make_shared<spdlog::logger>("txend", log_sink);
  log->flush_on(spdlog::level::info);
  // Reads' request lines, on the same file: written with the next flushed line, or within
  // a second (WaitForStopOrXenstoreLoss), not each with a write of its own.
  auto read_log = std::make_shared<spdlog::logger>("txend", log_sink);
  for (const auto& w : warnings) log->warn("{}", w);

  if (!XenstoreAnswers(o.xenstored)) {
    Status st = StartXsd(o, *log);
    if (!st.ok()) return Fail(st.ToString());
  }
  auto conn = xs::Connection::Open(o.xenstored);
  if (!conn.ok()) return Fail(conn.status().ToString());

  auto kind = toolstack::ParseHypervisorKind(o.hypervisor);
  if (!kind.ok()) return Fail(kind.status().message());
  toolstack::HypervisorOptions hv_options;
  hv_options.kind = toolstack::ResolveHypervisorKind(*kind, hv_options.privcmd_path);
  hv_options.sim.state_dir = o.state_dir + "/sim";
  hv_options.sim.host_memory_kib = o.sim_host_memory_mib * 1024;
  auto hv = toolstack::OpenHypervisor(hv_options);
  if (!hv.ok()) return Fail(hv.status().ToString());
  // On the simulator, dom0's backends and the guests' kernels are simulated too.
  auto* sim = dynamic_cast<toolstack::SimHypervisor*>(hv->get());
  std::unique_ptr<toolstack::SimBackends> backends;
  std::unique_ptr<toolstack::HotplugScripts>
      hotplug;  // on Xen, the kernel's backends need the scripts run
  if (sim) {
    Status reachable = daemon::ProbeDomainSockets(**conn, o.xenstored, o.domain_sockets);
    if (!reachable.ok()) {
      log->critical("{}", reachable.message());
      return Fail(reachable.message());
    }
    auto started = toolstack::SimBackends::Start(o.xenstored);
    if (!started.ok()) return Fail(started.status().ToString());
    backends = std::move(*started);
  } else {
    auto started = toolstack::HotplugScripts::Start(o.xenstored);
    if (!started.ok()) return Fail(started.status().ToString());
    hotplug = std::move(*started);
  }

  toolstack::ToolstackOptions ts_options;
  ts_options.state_dir = o.state_dir;
  ts_options.device_timeout = std::chrono::seconds(o.device_timeout_s);
  toolstack::DeviceModelOptions& dm = ts_options.device_model;
  if (sim) {  // the simulated device model, with its files under the state directory
    dm.qemu = SimDeviceModel();
    dm.log_dir = o.state_dir + "/log";
    dm.run_dir = o.state_dir + "/run";
  }
  for (auto [flag, field] : {std::pair{&o.device_model, &dm.qemu},
                             {&o.dm_log_dir, &dm.log_dir},
                             {&o.dm_run_dir, &dm.run_dir},
                             {&o.firmware_dir, &dm.firmware_dir}})
    if (!flag->empty()) *field = *flag;
  dm.xenstored_path = o.xenstored;
  dm.start_timeout = std::chrono::seconds(o.device_model_timeout_s);
  ts_options.bootloader.pygrub = o.pygrub;
  ts_options.bootloader.timeout = std::chrono::seconds(o.bootloader_timeout_s);
  ts_options.sysfs_root = o.sysfs;
  ts_options.incoming = {toolstack::PolicyWords(o.incoming_storage),
                         toolstack::PolicyWords(o.incoming_bridges)};
  if (const char* fault = std::getenv("TXEND_FAULT")) {  // tests only; not passed on by RestartSelf
    ts_options.fault = fault;
    unsetenv("TXEND_FAULT");
  }
  ts_options.log = [log](const std::string& line) { log->warn("{}", line); };
  auto toolstack = toolstack::Toolstack::Open(**conn, **hv, ts_options);
  if (!toolstack.ok()) return Fail(toolstack.status().ToString());
  std::unique_ptr<toolstack::SimGuests> guests;
  std::unique_ptr<toolstack::SimConsoles> consoles;  // the simulator's xenconsoled
  if (sim) {
    toolstack::SimWorkload workload{o.sim_dirty_mib_per_s, o.sim_working_set_mib};
    guests = std::make_unique<toolstack::SimGuests>(*sim, o.domain_sockets, workload);
    guests->BootRunning();
    auto started = toolstack::SimConsoles::Start(*sim, o.xenstored);
    if (!started.ok()) return Fail(started.status().ToString());
    consoles = std::move(*started);
    consoles->OpenRunning();
  }

  auto note = [log](const std::string& line) { log->info("{}", line); };
  toolstack::MigrateRequest migrate_defaults;
  migrate_defaults.io_timeout = std::chrono::seconds(o.relocation.io_timeout_s);
  // Outgoing ssl=1 migrations present this host's certificate and check the destination's.
  migrate_defaults.tls = toolstack::TlsOptions{
      o.relocation.ssl_cert_file, o.relocation.ssl_key_file, o.relocation.ssl_ca_file, ""};
  daemon::XendApi api(**toolstack, **conn, daemon::HostFacts::Read(), o.log_file, note,
                      migrate_defaults);
  // The relocation service listens before the API does: once txend answers, it is all up.
  auto reloc_allow = http::HostAllowList::Parse(o.relocation.hosts_allow);
  if (!reloc_allow.ok())
    return Fail("xend-relocation-hosts-allow: " + reloc_allow.status().message());
  std::vector<std::unique_ptr<daemon::RelocationServer>> relocation;  // plain, SSL
  for (bool ssl : {false, true}) {
    if (!(ssl ? o.relocation.ssl_enabled : o.relocation.enabled)) continue;
    daemon::RelocationServer::Options ro;
    ro.endpoint = ssl ? o.relocation.ssl_endpoint : o.relocation.endpoint;
    ro.hosts_allow = *reloc_allow;
    ro.io_timeout = std::chrono::seconds(o.relocation.io_timeout_s);
    if (ssl)
      ro.tls = toolstack::TlsOptions{o.relocation.ssl_cert_file, o.relocation.ssl_key_file,
                                     o.relocation.ssl_ca_file, ""};
    ro.insecure = o.relocation.insecure;
    auto started = daemon::RelocationServer::Start(**toolstack, ro, note);
    if (!started.ok()) return Fail(started.status().ToString());
    log->info("{}relocation server on {}:{} ({})", ssl ? "SSL " : "", ro.endpoint.address,
              (*started)->port(),
              ssl ? (ro.tls->ca_file.empty() ? "any client" : "clients the CA signed")
                  : (ro.insecure ? "unauthenticated peers" : "refuses every migration"));
    relocation.push_back(std::move(*started));
  }
  http::ServerOptions so;
  so.unix_socket = o.unix_socket;
  so.tcp = o.tcp;
  so.max_body_bytes = o.max_body_bytes;
  so.wait_path_prefix = daemon::kEventsPath;
  auto allow = http::HostAllowList::Parse(o.hosts_allow);
  if (!allow.ok()) return Fail(allow.status().message());
  so.hosts_allow = *allow;
  if (!o.tcp_tls.cert_file.empty())
    so.tcp_tls = http::TlsFiles{o.tcp_tls.cert_file, o.tcp_tls.key_file, o.tcp_tls.ca_file};
  so.log = [log](const std::string& line) { log->warn("{}", line); };
  so.answers_at_once = [&api](const http::HttpRequest& req) { return api.AnswersAtOnce(req); };
  auto server = http::HttpServer::Start(so, [&](const http::HttpRequest& req) {
    auto start = std::chrono::steady_clock::now();
    auto logged = [line_log = req.is_read() ? read_log : log, start, peer = req.peer,
                   method = req.method, path = req.path](int status) {
      auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
      line_log->info("{} {} {} {} {:.1f}ms", peer, method, path, status, ms);
    };
    http::HandlerReply reply = api.Handle(req);
    if (auto* now = std::get_if<http::HttpResponse>(&reply)) {
      logged(now->status);
      if (auto line = daemon::AuditLine(req, *now)) log->info("{}", *line);
      return reply;
    }
    return http::Then(std::move(reply), [logged](http::HttpResponse r) {  // a long poll: a read
      logged(r.status);
      return r;
    });
  });
  if (!server.ok()) return Fail(server.status().ToString());
  auto pid_file = PidFile::Write(o.pid_file);
  if (!pid_file.ok()) return Fail(pid_file.status().message());
  log->info("serving {}{} on the {} hypervisor", o.unix_socket.empty() ? "" : o.unix_socket,
            o.tcp ? " and TCP " + o.tcp->address + ":" + std::to_string((*server)->tcp_port()) : "",
            (*hv)->Name());
  if (auto ready = daemon.Ready(true); !ready.ok()) log->warn("{}", ready.ToString());
  for (const auto& [name, domid] : (*toolstack)->managed().Autostart()) {
    if (domid.ok())
      log->info("autostart: started {} as domain {}", name, *domid);
    else
      log->warn("autostart: cannot start {}: {}", name, domid.status().ToString());
  }

  if (WaitForStopOrXenstoreLoss(signals, **conn, *log)) {
    log->warn("lost the xenstore connection at {}; restarting once it answers again", o.xenstored);
    (*toolstack)->events().Close();
    server->reset();
    for (int i = 0; i < 100 && !XenstoreAnswers(o.xenstored); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    RestartSelf(argc, argv, *log);
  }
  for (const auto& [name, action, status] : (*toolstack)->managed().Autostop(kAutostopWait)) {
    if (status.ok())
      log->info("on_xend_stop: shut down {}", name);
    else
      log->warn("on_xend_stop: cannot {} {}: {}", action, name, status.ToString());
  }
  log->info("stopping; other domains keep running");
  relocation.clear();
  (*toolstack)->events().Close();
  server->reset();
  return 0;
}
