#include "txend/domain_socket_probe.h"

#include <chrono>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>

#include "base/unique_fd.h"

namespace txend::daemon {
namespace {

// The highest domain id Xen hands out (DOMID_FIRST_RESERVED - 1): the simulator reaches it last.
constexpr uint32_t kProbeDomid = 0x7FEF;

bool SocketAnswers(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd.get() >= 0 &&
         ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

// xsd opens the socket while it handles INTRODUCE; a short, bounded grace covers the rest.
bool SocketAnswersSoon(const std::string& path) {
  for (int i = 0; i < 20; ++i) {
    if (SocketAnswers(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

Status Unreachable(const std::string& xenstored, const std::string& dir, const std::string& why) {
  return Status::Error(
      EHOSTUNREACH,
      "the xenstored at " + xenstored + " " + why + ", so simulated guests could never connect " +
          "to xenstore (their devices would never come up and `xm shutdown -w` would wait " +
          "forever). Start xsd with `--domain-sockets " + dir +
          "`, or give txend `--domain-sockets DIR` naming the directory that xsd serves.");
}

}  // namespace

Status ProbeDomainSockets(xs::Connection& conn, const std::string& xenstored,
                          const std::string& domain_sockets) {
  auto leftover = conn.IsDomainIntroduced(kProbeDomid);
  if (leftover.ok() && *leftover) (void)conn.Release(kProbeDomid);  // a probe cut off earlier
  Status introduced = conn.Introduce(kProbeDomid, 0, 0);
  if (!introduced.ok())
    return Unreachable(xenstored, domain_sockets,
                       "refused to introduce a simulated domain (" + introduced.ToString() + ")");
  std::string path = domain_sockets + "/" + std::to_string(kProbeDomid);
  bool answers = SocketAnswersSoon(path);
  Status released = conn.Release(kProbeDomid);
  if (!answers)
    return Unreachable(xenstored, domain_sockets, "opens no per-domain socket at " + path);
  return released;
}

}  // namespace txend::daemon
