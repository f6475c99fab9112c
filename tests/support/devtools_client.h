// Test support: a client of the Chrome DevTools protocol over its websocket (Boost.Beast,
// nlohmann-json): commands to the browser or, with a session id, to one page attached in
// flat mode. Every call is bounded in time; events are read and dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace txend::testing {

class DevToolsClient {
 public:
  using Json = nlohmann::json;
  static constexpr std::chrono::milliseconds kCallTimeout{15000};

  // Connects to ws://127.0.0.1:<port><path> (the browser endpoint).
  static Result<std::unique_ptr<DevToolsClient>> Connect(uint16_t port, const std::string& path);
  ~DevToolsClient();

  // The command's result, or its protocol error / ETIMEDOUT. `session` "" is the browser.
  Result<Json> Call(const std::string& method, Json params = Json::object(),
                    const std::string& session = "",
                    std::chrono::milliseconds timeout = kCallTimeout);
  // A new page target at `url`, attached in flat mode: its session id.
  Result<std::string> OpenPage(const std::string& url);
  // Runtime.evaluate in the page (promises awaited): the value, or the exception's text.
  Result<Json> Evaluate(const std::string& session, const std::string& expression);
  // A left click at page coordinates (mouse pressed and released, as a user's).
  Status Click(const std::string& session, double x, double y);
  // Page.captureScreenshot as PNG bytes.
  Result<std::vector<uint8_t>> Screenshot(const std::string& session);

 private:
  struct Socket;
  explicit DevToolsClient(std::unique_ptr<Socket> socket);
  std::unique_ptr<Socket> socket_;
  int next_id_ = 1;
};

}  // namespace txend::testing
