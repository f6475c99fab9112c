#include "toolstack/devicemodel/qmp_client.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

namespace txend::toolstack {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxMessage = 1 << 20;

// Waits until `fd` is ready for `events` or the deadline passes (ETIMEDOUT).
Status WaitReady(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Status::Error(ETIMEDOUT, "QMP: no answer in time");
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return Status::Ok();
    if (n < 0 && errno != EINTR) return Status::Error(errno, "QMP: poll failed");
  }
}

}  // namespace

Result<QmpClient> QmpClient::Connect(const std::string& socket_path,
                                     std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path)
    return Status::Error(ENAMETOOLONG, "QMP socket path too long: " + socket_path);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::Error(errno, "QMP: socket failed");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Status::Error(errno, "QMP: cannot connect to " + socket_path + ": " + strerror(errno));
  QmpClient client(std::move(fd), timeout);
  TXEND_ASSIGN_OR_RETURN(nlohmann::json greeting, client.ReadMessage());
  if (!greeting.contains("QMP"))
    return Status::Error(EPROTO, "QMP: " + socket_path + " did not greet with QMP");
  TXEND_RETURN_IF_ERROR(client.Execute("qmp_capabilities").status());
  return client;
}

Status QmpClient::WriteAll(const std::string& text) {
  auto deadline = Clock::now() + timeout_;
  for (size_t done = 0; done < text.size();) {
    TXEND_RETURN_IF_ERROR(WaitReady(fd_.get(), POLLOUT, deadline));
    ssize_t n = send(fd_.get(), text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(errno, std::string("QMP: write failed: ") + strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// One JSON object per line (qemu ends them with \r\n).
Result<nlohmann::json> QmpClient::ReadMessage() {
  auto deadline = Clock::now() + timeout_;
  while (true) {
    if (size_t end = buffer_.find('\n'); end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      auto message = nlohmann::json::parse(line, nullptr, false);
      if (message.is_discarded() || !message.is_object())
        return Status::Error(EPROTO, "QMP: not a JSON object: " + line.substr(0, 200));
      return message;
    }
    if (buffer_.size() > kMaxMessage) return Status::Error(EPROTO, "QMP: message over 1 MiB");
    TXEND_RETURN_IF_ERROR(WaitReady(fd_.get(), POLLIN, deadline));
    char chunk[4096];
    ssize_t n = read(fd_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(errno, std::string("QMP: read failed: ") + strerror(errno));
    if (n == 0) return Status::Error(ECONNRESET, "QMP: the device model closed the connection");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

Result<nlohmann::json> QmpClient::Execute(const std::string& command,
                                          const nlohmann::json& arguments) {
  nlohmann::json request = {{"execute", command}};
  if (!arguments.empty()) request["arguments"] = arguments;
  TXEND_RETURN_IF_ERROR(WriteAll(request.dump() + "\r\n"));
  while (true) {
    TXEND_ASSIGN_OR_RETURN(nlohmann::json reply, ReadMessage());
    if (reply.contains("event")) continue;
    if (reply.contains("return")) return reply["return"];
    if (reply.contains("error")) {
      const auto& error = reply["error"];
      std::string desc = error.is_object() && error.contains("desc") && error["desc"].is_string()
                             ? error["desc"].get<std::string>()
                             : error.dump();
      return Status::Error(EIO, "QMP " + command + ": " + desc);
    }
    return Status::Error(EPROTO,
                         "QMP " + command + ": unexpected reply " + reply.dump().substr(0, 200));
  }
}

}  // namespace txend::toolstack
