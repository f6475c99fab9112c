// A QMP (QEMU Machine Protocol) client over a unix socket: the greeting,
// qmp_capabilities, then one command at a time. Every read and write has a
// deadline; events qemu sends in between are skipped.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "base/unique_fd.h"

namespace txend::toolstack {

class QmpClient {
 public:
  // Connects, reads the greeting and negotiates capabilities within `timeout`.
  static Result<QmpClient> Connect(const std::string& socket_path,
                                   std::chrono::milliseconds timeout);

  // The command's "return" value; an {"error": ...} reply is EIO with qemu's
  // description; a reply over 1 MiB or not JSON is EPROTO.
  Result<nlohmann::json> Execute(const std::string& command,
                                 const nlohmann::json& arguments = nlohmann::json::object());

 private:
  QmpClient(UniqueFd fd, std::chrono::milliseconds timeout)
      : fd_(std::move(fd)), timeout_(timeout) {}
  Result<nlohmann::json> ReadMessage();
  Status WriteAll(const std::string& text);

  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

}  // namespace txend::toolstack
