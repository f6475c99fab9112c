// txend-sim-qemu: the simulator's device model. It takes the command line
// txend gives Debian's qemu-system-xen (the part that matters here: the
// domain, QMP socket, VNC, -incoming), writes device-model/<domid>/state =
// running to xenstore as qemu does, serves QMP (the commands txend uses) and
// a VNC listener that answers the RFB 3.8 handshake up to ServerInit.
#include <poll.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/numbers.h"
#include "base/unique_fd.h"
#include "toolstack/layout/xenstore_layout.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::toolstack {
namespace {

using nlohmann::json;
constexpr char kStateMagic[] = "TXSIMQEMU 1\n";
constexpr int kStepMs = 2000;       // each step of a client exchange
constexpr int kHostCheckMs = 1000;  // how often an idle device model checks its QMP socket exists

struct Args {
  uint32_t domid = 0;
  std::string name, qmp_path, vnc_host;
  int vnc_display = -1, vnc_to = 0;  // display -1: no VNC
  int incoming_fd = -1;
};

// "key=value,key=value" -> map; the first item may be a bare word.
std::map<std::string, std::string> Options(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = item.find('=');
    out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "-xen-domid") {
      TXEND_ASSIGN_OR_RETURN(a.domid, ParseInteger<uint32_t>(value));
    } else if (flag == "-name") {
      a.name = value;
    } else if (flag == "-chardev" && Options(value).count("path")) {
      a.qmp_path = Options(value)["path"];
    } else if (flag == "-vnc" && value != "none") {
      auto o = Options(value);
      std::string where = value.substr(0, value.find(','));
      size_t colon = where.rfind(':');
      if (colon == std::string::npos) return Status::Error(EINVAL, "-vnc " + value);
      a.vnc_host = where.substr(0, colon);
      TXEND_ASSIGN_OR_RETURN(a.vnc_display, ParseInteger<int>(where.substr(colon + 1)));
      if (o.count("to")) {
        TXEND_ASSIGN_OR_RETURN(a.vnc_to, ParseInteger<int>(o["to"]));
      }
    } else if (flag == "-incoming" && value.starts_with("fd:")) {
      TXEND_ASSIGN_OR_RETURN(a.incoming_fd, ParseInteger<int>(value.substr(3)));
    } else {
      continue;
    }
    ++i;
  }
  if (a.qmp_path.empty()) return Status::Error(EINVAL, "no QMP socket (-chardev ...,path=)");
  return a;
}

// The first display from `first` to `first + to` whose port 5900+N binds.
Result<std::pair<UniqueFd, int>> ListenVnc(const std::string& host, int first, int to) {
  for (int d = first; d <= first + to && 5900 + d <= 65535; ++d) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(5900 + d));
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
      return Status::Error(EINVAL, "vnc: bad address " + host);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        listen(fd.get(), 8) == 0)
      return std::make_pair(std::move(fd), d);
  }
  return Status::Error(EADDRINUSE, "vnc: no free display in " + host + ":" + std::to_string(first) +
                                       ".." + std::to_string(first + to));
}

Result<UniqueFd> ListenUnix(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return Status::Error(ENAMETOOLONG, path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd.get(), 4) != 0)
    return Status::Error(errno, "qmp: cannot listen on " + path + ": " + strerror(errno));
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool ReadExactly(int fd, size_t n, std::string& out) {
  out.clear();
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kStepMs) <= 0) return false;
    char buf[64];
    ssize_t got = read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (got <= 0) return false;
    out.append(buf, static_cast<size_t>(got));
  }
  return true;
}

// RFB 3.8: version, security type None, SecurityResult OK, ClientInit, ServerInit.
void ServeVncClient(int fd, const std::string& name) {
  std::string got;
  if (!SendAll(fd, "RFB 003.008\n") || !ReadExactly(fd, 12, got) || !got.starts_with("RFB 003."))
    return;
  if (!SendAll(fd, std::string("\x01\x01", 2)) || !ReadExactly(fd, 1, got) || got[0] != 1) return;
  if (!SendAll(fd, std::string(4, '\0')) || !ReadExactly(fd, 1, got)) return;  // ClientInit
  std::string init = {0x04, 0x00, 0x03, 0x00};                                 // 1024 x 768
  init += std::string("\x20\x18\x00\x01\x00\xff\x00\xff\x00\xff\x10\x08\x00\x00\x00\x00", 16);
  uint32_t len = htonl(static_cast<uint32_t>(name.size()));
  init.append(reinterpret_cast<const char*>(&len), 4);
  SendAll(fd, init + name);
}

class SimQemu {
 public:
  explicit SimQemu(Args args) : a_(std::move(args)) {}

  int Run() {
    if (a_.incoming_fd >= 0 && !LoadState()) return 1;
    auto qmp = ListenUnix(a_.qmp_path);
    if (!qmp.ok()) return Fail(qmp.status().message());
    UniqueFd vnc;
    if (a_.vnc_display >= 0) {
      auto listening = ListenVnc(a_.vnc_host, a_.vnc_display, a_.vnc_to);
      if (!listening.ok()) return Fail(listening.status().message());
      vnc = std::move(listening->first);
      vnc_port_ = 5900 + listening->second;
      std::printf("VNC server running on %s:%d\n", a_.vnc_host.c_str(), vnc_port_);
    }
    auto xs = xs::Connection::Open();
    if (!xs.ok()) return Fail("xenstore: " + xs.status().message());
    std::string state = DomainHome(0) + "/device-model/" + std::to_string(a_.domid) + "/state";
    Status wrote =
        xs::RunTransaction(**xs, [&](xs::Transaction& tx) { return tx.Write(state, "running"); });
    if (!wrote.ok()) return Fail("xenstore: " + wrote.message());
    std::printf("domain %u: running\n", a_.domid);
    std::fflush(stdout);
    return Serve(qmp->get(), vnc.get());
  }

 private:
  int Fail(const std::string& message) {
    std::fprintf(stderr, "txend-sim-qemu: %s\n", message.c_str());
    return 1;
  }

  bool LoadState() {
    std::string data;
    char buf[4096];
    for (ssize_t n; (n = read(a_.incoming_fd, buf, sizeof buf)) > 0;)
      data.append(buf, static_cast<size_t>(n));
    close(a_.incoming_fd);
    if (!data.starts_with(kStateMagic)) {
      Fail("-incoming: not a saved device state");
      return false;
    }
    std::printf("restored %zu bytes of device state\n", data.size());
    media_ = data.substr(sizeof kStateMagic - 1);
    return true;
  }

  int Serve(int qmp_listener, int vnc_listener) {
    while (true) {
      std::vector<pollfd> fds = {{qmp_listener, POLLIN, 0}};
      if (vnc_listener >= 0) fds.push_back({vnc_listener, POLLIN, 0});
      if (poll(fds.data(), fds.size(), kHostCheckMs) <= 0) {
        // The simulated host is gone (its run directory removed without a
        // destroy): nobody can reach or stop this device model any more.
        if (access(a_.qmp_path.c_str(), F_OK) != 0 && errno == ENOENT) {
          std::printf("QMP socket %s removed: exiting\n", a_.qmp_path.c_str());
          std::fflush(stdout);
          _exit(0);
        }
        continue;
      }
      if (fds.size() > 1 && (fds[1].revents & POLLIN)) {
        UniqueFd client(accept4(vnc_listener, nullptr, nullptr, SOCK_CLOEXEC));
        if (client) ServeVncClient(client.get(), a_.name);
      }
      if (fds[0].revents & POLLIN) {
        UniqueFd client(accept4(qmp_listener, nullptr, nullptr, SOCK_CLOEXEC));
        if (client && ServeQmpClient(client.get())) {  // quit: at once, as qemu does
          std::fflush(stdout);
          _exit(0);
        }
      }
    }
  }

  // True when the client asked to quit.
  bool ServeQmpClient(int fd) {
    json greeting = {{"QMP",
                      {{"version", {{"qemu", {{"major", 7}, {"minor", 2}, {"micro", 0}}}}},
                       {"capabilities", json::array()}}}};
    if (!SendAll(fd, greeting.dump() + "\r\n")) return false;
    std::string buffer;
    while (true) {
      size_t end;
      while ((end = buffer.find('\n')) == std::string::npos) {
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0 || buffer.size() > (1 << 20)) return false;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      json request = json::parse(buffer.substr(0, end), nullptr, false);
      buffer.erase(0, end + 1);
      bool quit = false;
      json reply = Answer(request, quit);
      if (!SendAll(fd, reply.dump() + "\r\n") || quit) return quit;
    }
  }

  json Answer(const json& request, bool& quit) {
    if (!request.is_object() || !request.contains("execute") || !request["execute"].is_string())
      return Error("GenericError", "not a QMP command");
    std::string command = request["execute"];
    json args = request.value("arguments", json::object());
    if (command == "qmp_capabilities" || command == "change-vnc-password") return Ok({});
    if (command == "quit") return quit = true, Ok({});
    if (command == "stop" || command == "cont") return running_ = command == "cont", Ok({});
    if (command == "query-status")
      return Ok({{"running", running_}, {"status", running_ ? "running" : "paused"}});
    if (command == "query-chardev") return Ok(json::array());
    if (command == "query-vnc") {
      if (vnc_port_ == 0) return Ok({{"enabled", false}});
      return Ok({{"enabled", true},
                 {"host", a_.vnc_host},
                 {"service", std::to_string(vnc_port_)},
                 {"family", "ipv4"},
                 {"auth", "none"},
                 {"clients", json::array()}});
    }
    if (command == "xen-save-devices-state") return SaveState(args.value("filename", ""));
    if (command == "xen-set-global-dirty-log") {
      std::printf("dirty log %s\n", args.value("enable", false) ? "on" : "off");
      std::fflush(stdout);
      return Ok({});
    }
    if (command == "blockdev-change-medium" || command == "eject") {
      media_ = args.value("id", "") + "=" + args.value("filename", "") + "\n";
      std::printf("media %s", media_.c_str());
      std::fflush(stdout);
      return Ok({});
    }
    return Error("CommandNotFound", "The command " + command + " has not been found");
  }

  json SaveState(const std::string& file) {
    std::FILE* f = file.empty() ? nullptr : std::fopen(file.c_str(), "wb");
    if (!f) return Error("GenericError", "cannot open " + file);
    std::string data = std::string(kStateMagic) + media_;
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
    return Ok({});
  }

  static json Ok(json value) { return {{"return", std::move(value)}}; }
  static json Error(const std::string& cls, const std::string& desc) {
    return {{"error", {{"class", cls}, {"desc", desc}}}};
  }

  Args a_;
  int vnc_port_ = 0;
  bool running_ = true;
  std::string media_;
};

}  // namespace
}  // namespace txend::toolstack

int main(int argc, char** argv) {
  auto args = txend::toolstack::ParseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "txend-sim-qemu: %s\n", args.status().message().c_str());
    return 2;
  }
  std::printf("txend-sim-qemu: domain %u (%s)\n", args->domid, args->name.c_str());
  std::fflush(stdout);
  return txend::toolstack::SimQemu(std::move(*args)).Run();
}
