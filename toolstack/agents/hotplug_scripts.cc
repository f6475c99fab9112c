#include "toolstack/agents/hotplug_scripts.h"

#include <unistd.h>

#include <cstdlib>
#include <sys/wait.h>
#include <vector>

#include "toolstack/agents/device_state.h"
#include "toolstack/layout/xenstore_layout.h"
#include "toolstack/xs/plain.h"

namespace txend::toolstack {
namespace {

// "/local/domain/0/backend/vif/3/0" -> {"vif", "3", "0"}.
std::vector<std::string> DirParts(const std::string& dir) {
  std::vector<std::string> parts;
  std::string rest = dir.substr(std::string(kBackendRoot).size() + 1);
  for (size_t start = 0; start <= rest.size();) {
    size_t slash = rest.find('/', start);
    if (slash == std::string::npos) slash = rest.size();
    parts.push_back(rest.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

Result<std::unique_ptr<HotplugScripts>> HotplugScripts::Start(const std::string& xenstored_socket,
                                                              std::string scripts_dir) {
  TXEND_ASSIGN_OR_RETURN(auto conn, xs::Connection::Open(xenstored_socket));
  std::unique_ptr<HotplugScripts> h(
      new HotplugScripts(std::move(conn), xenstored_socket, std::move(scripts_dir)));
  HotplugScripts* raw = h.get();
  TXEND_ASSIGN_OR_RETURN(
      xs::Watch w,
      h->conn_->AddWatch(kBackendRoot, [raw](const std::string& path, const std::string&) {
        std::string dir = BackendDeviceDir(path);
        if (!dir.empty()) raw->Enqueue(dir);
      }));
  h->watch_.emplace(std::move(w));
  return h;
}

HotplugScripts::HotplugScripts(std::unique_ptr<xs::Connection> conn, std::string socket,
                               std::string scripts_dir)
    : conn_(std::move(conn)), socket_(std::move(socket)), scripts_dir_(std::move(scripts_dir)) {
  worker_ = std::thread([this] { Worker(); });
}

HotplugScripts::~HotplugScripts() {
  watch_.reset();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void HotplugScripts::Enqueue(const std::string& device_dir) {
  std::lock_guard lock(mu_);
  for (const auto& queued : queue_)
    if (queued == device_dir) return;
  queue_.push_back(device_dir);
  cv_.notify_one();
}

void HotplugScripts::Worker() {
  while (true) {
    std::string dir;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      dir = queue_.front();
      queue_.pop_front();
    }
    Step(dir);
  }
}

void HotplugScripts::Step(const std::string& dir) {
  std::string type = DirParts(dir).at(0);
  if (type != "vbd" && type != "vif") return;            // vfb and vkbd have no scripts
  auto state = ReadDeviceState(*conn_, dir + "/state");  // nullopt: the device is gone
  bool added = added_.count(dir) != 0;
  if (!added && state && *state >= XenbusState::kInitWait && *state < XenbusState::kClosing) {
    added_.insert(dir);
    if (!Run(dir, type == "vif" ? "online" : "add") &&
        !xs::PlainRead(*conn_, dir + "/hotplug-status").ok())
      (void)xs::PlainWrite(*conn_, dir + "/hotplug-status", "error");
  } else if (added && (!state || *state >= XenbusState::kClosed)) {
    added_.erase(dir);
    (void)Run(dir, type == "vif" ? "offline" : "remove");
  }
}

bool HotplugScripts::Run(const std::string& dir, const std::string& command) {
  auto parts = DirParts(dir);
  std::string type = parts.at(0);
  std::string script = scripts_dir_ + "/" + (type == "vif" ? "vif-bridge" : "block");
  if (auto named = xs::PlainRead(*conn_, dir + "/script"); named.ok() && !named->empty())
    script = named->front() == '/' ? *named : scripts_dir_ + "/" + *named;
  std::string vif = "vif" + parts.at(1) + "." + parts.at(2);
  if (auto name = xs::PlainRead(*conn_, dir + "/vifname");
      type == "vif" && name.ok() && !name->empty())
    vif = *name;
  const char* path = std::getenv("PATH");  // read once per run, on the worker thread
  std::vector<std::string> env = {
      std::string("PATH=") + (path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"),
      "XENBUS_PATH=" + dir,
      "XENBUS_TYPE=" + type,
      "XENBUS_BASE_PATH=backend",
      "XENSTORED_PATH=" + socket_,
      "script=" + script};
  if (type == "vif") {
    env.push_back("vif=" + vif);
    env.push_back("netdev=");
  }
  std::vector<char*> envp;  // built before fork: the child may only exec
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    execle(script.c_str(), script.c_str(), command.c_str(), static_cast<char*>(nullptr),
           envp.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace txend::toolstack
