// Fuzz target: one HTTP request through txend's whole request path — Beast's
// request parser with the server's limits, DecodeRequest, and XendApi::Handle
// on a simulated host built once per process (an in-process xsd, the
// simulated hypervisor, dom0's simulated backends, a Toolstack), so the ops
// themselves run: create, save, pause, migrate, device_create, ...
//
// The request is confined first: every `file` names one of four files in
// the fuzzer's own directory, a config's kernel/ramdisk/loader one of four
// kernels there (valid, empty, garbage, missing), and migrations go to a
// closed port on 127.0.0.1. After each input every guest is destroyed and
// forgotten, so inputs do not depend on each other.
//
// Checked beyond "no crash, no UB, no leak": Handle returns (never throws)
// a status from 200 to 599; an error reply is an (xend.err ...) SXP, an SXP
// reply parses; a config FromSxp accepts comes back unchanged from its own
// SXP (ToSxp -> FromSxp), which is how managed domains are stored.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>

#include <boost/asio/buffer.hpp>

#include "http/request_decoder.h"
#include "sxp/sxp.h"
#include "tests/support/fake_kernel.h"
#include "toolstack/agents/sim_backends.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/config/random_ids.h"
#include "toolstack/domain/domain_queries.h"
#include "toolstack/domain/lifecycle.h"
#include "toolstack/domain/managed_domains.h"
#include "toolstack/hypervisor/sim/sim_hypervisor.h"
#include "toolstack/toolstack.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"
#include "txend/xend_api.h"
#include "xsd/server.h"
#include "xsd/xenstore.h"

namespace {

using namespace txend;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "http_request_fuzzer: %s\n", what.c_str());
  abort();
}

// A port on 127.0.0.1 that refuses connections: bound, never listening.
class ClosedPort {
 public:
  ClosedPort() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      Die("cannot reserve a closed port");
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

// The fuzzer's directory: on tmpfs when there is one; removed at exit.
std::string MakeSandbox() {
  const char* tmp = getenv("TMPDIR");
  std::string path =
      std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp ? tmp : "/tmp")) +
      "/txend-http-fuzz-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) Die("cannot create a directory");
  return path;
}

// A whole simulated host with txend's API over it.
class SimStack {
 public:
  SimStack() : dir_(MakeSandbox()) {
    testing::WriteFakeKernel(Path("kernel-0"));
    std::ofstream(Path("kernel-1"));                               // empty
    std::ofstream(Path("kernel-2")) << std::string(4096, '\x7f');  // garbage
    StartXsd();
    auto conn = xs::Connection::Open(Path("xs"));
    if (!conn.ok()) Die(conn.status().ToString());
    xs_ = std::move(*conn);
    toolstack::SimOptions so;
    so.state_dir = Path("sim");
    so.host_memory_kib = 320 << 10;  // guests of at most 64 MiB: their images stay small
    so.dom0_memory_kib = 256 << 10;
    sim_ = std::make_unique<toolstack::SimHypervisor>(so);
    auto backends = toolstack::SimBackends::Start(Path("xs"));
    if (!backends.ok()) Die(backends.status().ToString());
    backends_ = std::move(*backends);
    toolstack::ToolstackOptions to;
    to.state_dir = Path("state");
    to.device_timeout = std::chrono::milliseconds(500);    // a detach without a guest waits this
    to.shutdown_timeout = std::chrono::milliseconds(100);  // no guest kernels: saves time out
    to.random = toolstack::SeededRandomBytes(7);
    auto ts = toolstack::Toolstack::Open(*xs_, *sim_, to);
    if (!ts.ok()) Die(ts.status().ToString());
    toolstack_ = std::move(*ts);
    toolstack::MigrateRequest migrate;
    migrate.connect_timeout = migrate.io_timeout = std::chrono::seconds(1);
    api_ = std::make_unique<daemon::XendApi>(*toolstack_, *xs_, daemon::HostFacts{}, Path("log"),
                                             daemon::XendApi::Log{}, migrate);
  }

  ~SimStack() {
    api_.reset();
    toolstack_.reset();
    backends_.reset();
    xs_.reset();
    sim_.reset();
    server_->RequestStop();
    server_thread_.join();
    server_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  uint16_t closed_port() const { return closed_.port(); }
  daemon::XendApi& api() { return *api_; }

  // Destroys and forgets every guest, so the next input starts from dom0 alone.
  void Reset() {
    auto all = toolstack_->queries().List();
    if (!all.ok()) Die("cannot list domains: " + all.status().ToString());
    for (const auto& r : *all) {
      if (r.info && r.info->domid == 0) continue;
      std::string ref = r.info ? std::to_string(r.info->domid) : r.config->name;
      if (r.info) (void)toolstack_->lifecycle().Destroy(ref);
      if (r.managed) (void)toolstack_->managed().Delete(r.config->name);
    }
  }

 private:
  void StartXsd() {
    store_ = std::make_unique<xsd::Xenstore>(xsd::Quota{});
    xsd::ServerOptions so;
    so.socket_path = Path("xs");
    auto server = xsd::Server::Create(so, *store_);
    if (!server.ok()) Die(server.status().ToString());
    server_ = std::move(*server);
    server_thread_ = std::thread([this] { (void)server_->Run(); });
  }

  std::string dir_;
  ClosedPort closed_;
  std::unique_ptr<xsd::Xenstore> store_;
  std::unique_ptr<xsd::Server> server_;
  std::thread server_thread_;
  std::unique_ptr<xs::Connection> xs_;
  std::unique_ptr<toolstack::SimHypervisor> sim_;
  std::unique_ptr<toolstack::SimBackends> backends_;
  std::unique_ptr<toolstack::Toolstack> toolstack_;
  std::unique_ptr<daemon::XendApi> api_;
};

SimStack& Stack() {
  static SimStack stack;
  return stack;
}

// Parses the first request in `bytes`, as the server's reads would, and
// removes it from `bytes`.
std::optional<http::BeastRequest> ParseHttp(std::string_view& bytes) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 10);
  parser.header_limit(http::kMaxHeaderBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  while (!bytes.empty() && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == bhttp::error::need_more) break;
    if (ec) return std::nullopt;
    bytes.remove_prefix(used);
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return std::nullopt;
  }
  return parser.release();
}

// One of `n` names in the sandbox, chosen by `value`.
std::string SandboxFile(const std::string& prefix, const std::string& value, size_t n) {
  return Stack().Path(prefix + "-" + std::to_string(std::hash<std::string>{}(value) % n));
}

// Most kernels are the valid one (kernel-0); some empty, garbage or missing.
std::string SandboxKernel(const std::string& value) {
  static constexpr int kKernelOf[] = {0, 0, 0, 0, 0, 1, 2, 3};
  return Stack().Path("kernel-" + std::to_string(kKernelOf[std::hash<std::string>{}(value) % 8]));
}

// (kernel X), (ramdisk X), (loader X) anywhere in a config name sandbox files.
void ConfineConfig(sxp::Value& v) {
  if (!v.is_list()) return;
  auto& items = v.items();
  std::string head = items.empty() || !items[0].is_atom() ? "" : items[0].atom();
  if ((head == "kernel" || head == "ramdisk" || head == "loader") && items.size() > 1 &&
      items[1].is_atom()) {
    items[1] = sxp::Value(SandboxKernel(items[1].atom()));
    return;
  }
  for (auto& item : items) ConfineConfig(item);
}

// The request with every path and peer it names confined to the sandbox.
http::HttpRequest Confine(const http::HttpRequest& req) {
  http::HttpRequest out = req;
  out.params = http::Params();
  for (const auto& [name, value] : req.params.entries()) {
    if (name == "file") {
      out.params.Add(name, SandboxFile("file", value, 4));
    } else if (name == "destination") {
      out.params.Add(name, "127.0.0.1");
    } else if (name == "port") {
      continue;  // added below
    } else if (name == "config") {
      auto config = sxp::Parse(value);
      if (config.ok()) ConfineConfig(*config);
      out.params.Add(name, config.ok() ? sxp::ToString(*config) : value);
    } else {
      out.params.Add(name, value);
    }
  }
  out.params.Add("port", std::to_string(Stack().closed_port()));
  return out;
}

void CheckConfig(const std::string& text) {
  auto vm = sxp::Parse(text);
  if (!vm.ok()) return;
  auto config = toolstack::FromSxp(*vm, toolstack::SeededRandomBytes(1));
  if (!config.ok()) return;
  sxp::Value stored = toolstack::ToSxp(*config);
  auto reloaded = toolstack::FromSxp(stored, toolstack::SeededRandomBytes(2));
  if (reloaded.ok() && *reloaded == *config) return;
  Die("config does not survive ToSxp -> FromSxp (" +
      (reloaded.ok() ? std::string("changed") : reloaded.status().ToString()) + "):\n" +
      sxp::ToString(stored));
}

void CheckReply(const http::HttpRequest& req, const http::HttpResponse& reply) {
  std::string what = req.method + " " + req.path + ": HTTP " + std::to_string(reply.status);
  if (reply.status < 200 || reply.status > 599) Die("status out of range: " + what);
  bool sxp_reply = reply.content_type == "application/sxp" && !reply.body.empty();
  auto body = sxp::Parse(reply.body);
  if ((reply.status >= 400 || sxp_reply) && !body.ok())
    Die("reply is not SXP: " + what + "\n" + reply.body);
  if (reply.status >= 400 && sxp::Name(*body) != "xend.err")
    Die("error reply is not (xend.err ...): " + what + "\n" + reply.body);
}

// The reply, a deferred one as if its wait had timed out.
http::HttpResponse Now(http::HandlerReply reply) {
  if (auto* later = std::get_if<http::DeferredReply>(&reply)) return later->answer();
  return std::get<http::HttpResponse>(std::move(reply));
}

}  // namespace

// Up to this many requests per input, as a keep-alive client sends them: a
// create, then ops on the domain it made.
constexpr int kMaxRequests = 8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < kMaxRequests && !bytes.empty(); ++i) {
    auto req = ParseHttp(bytes);
    if (!req) break;
    auto decoded = http::DecodeRequest(*req, "unix");
    if (!decoded.ok()) {
      (void)http::XendError(400, decoded.status().message());
      continue;
    }
    http::HttpRequest confined = Confine(*decoded);
    for (const std::string& config : confined.params.GetAll("config")) CheckConfig(config);
    CheckReply(confined, Now(Stack().api().Handle(confined)));
  }
  Stack().Reset();
  return 0;
}
