#include "tests/support/devtools_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <openssl/evp.h>

namespace txend::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Clock = std::chrono::steady_clock;

// The websocket and the loop that runs its operations, each until done or a deadline.
struct DevToolsClient::Socket {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;

  // Runs the loop until the started operation sets `done` or `deadline` passes; then the
  // socket is closed (the client is unusable) and its operation ends aborted.
  Status Await(const bool& done, const beast::error_code& ec, Clock::time_point deadline,
               const std::string& what) {
    while (!done && Clock::now() < deadline) {
      io.restart();
      io.run_for(deadline - Clock::now());
    }
    if (!done) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws).socket().close(ignored);
      io.restart();
      io.run();
      return Status::Error(ETIMEDOUT, "DevTools: no answer to " + what + " in time");
    }
    if (ec) return Status::Error(EIO, "DevTools: " + what + ": " + ec.message());
    return Status::Ok();
  }

  Status Write(const std::string& text, Clock::time_point deadline, const std::string& what) {
    bool done = false;
    beast::error_code ec;
    ws.async_write(asio::buffer(text), [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    return Await(done, ec, deadline, what);
  }

  Result<std::string> Read(Clock::time_point deadline, const std::string& what) {
    bool done = false;
    beast::error_code ec;
    buffer.clear();
    ws.async_read(buffer, [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    TXEND_RETURN_IF_ERROR(Await(done, ec, deadline, what));
    return beast::buffers_to_string(buffer.data());
  }
};

DevToolsClient::DevToolsClient(std::unique_ptr<Socket> socket) : socket_(std::move(socket)) {}

DevToolsClient::~DevToolsClient() {
  beast::error_code ignored;
  beast::get_lowest_layer(socket_->ws).socket().close(ignored);
}

Result<std::unique_ptr<DevToolsClient>> DevToolsClient::Connect(uint16_t port,
                                                                const std::string& path) {
  auto socket = std::make_unique<Socket>();
  auto deadline = Clock::now() + kCallTimeout;
  bool done = false;
  beast::error_code ec;
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  beast::get_lowest_layer(socket->ws).async_connect(endpoint, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  TXEND_RETURN_IF_ERROR(socket->Await(done, ec, deadline, "connect"));
  done = false;
  socket->ws.read_message_max(64 << 20);  // screenshots arrive as one base64 message
  socket->ws.async_handshake("127.0.0.1:" + std::to_string(port), path, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  TXEND_RETURN_IF_ERROR(socket->Await(done, ec, deadline, "the websocket handshake"));
  return std::unique_ptr<DevToolsClient>(new DevToolsClient(std::move(socket)));
}

Result<DevToolsClient::Json> DevToolsClient::Call(const std::string& method, Json params,
                                                  const std::string& session,
                                                  std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  int id = next_id_++;
  Json message = {{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (!session.empty()) message["sessionId"] = session;
  TXEND_RETURN_IF_ERROR(socket_->Write(message.dump(), deadline, method));
  for (;;) {  // events and other sessions' messages come in between: skip them
    TXEND_ASSIGN_OR_RETURN(std::string text, socket_->Read(deadline, method));
    Json reply = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object() || reply.value("id", -1) != id) continue;
    if (reply.contains("error"))
      return Status::Error(EIO, method + ": " + reply["error"].value("message", reply.dump()));
    return reply.value("result", Json::object());
  }
}

Result<std::string> DevToolsClient::OpenPage(const std::string& url) {
  TXEND_ASSIGN_OR_RETURN(Json target, Call("Target.createTarget", {{"url", url}}));
  TXEND_ASSIGN_OR_RETURN(Json attached,
                         Call("Target.attachToTarget",
                              {{"targetId", target.value("targetId", "")}, {"flatten", true}}));
  std::string session = attached.value("sessionId", "");
  if (session.empty()) return Status::Error(EIO, "Target.attachToTarget gave no session");
  return session;
}

Result<DevToolsClient::Json> DevToolsClient::Evaluate(const std::string& session,
                                                      const std::string& expression) {
  TXEND_ASSIGN_OR_RETURN(
      Json r,
      Call("Runtime.evaluate",
           {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}, session));
  if (r.contains("exceptionDetails")) {
    const Json& details = r["exceptionDetails"];
    std::string text = details.contains("exception")
                           ? details["exception"].value("description", details.dump())
                           : details.value("text", details.dump());
    return Status::Error(EINVAL, "the page threw: " + text);
  }
  return r["result"].value("value", Json());
}

Status DevToolsClient::Click(const std::string& session, double x, double y) {
  for (const char* type : {"mousePressed", "mouseReleased"}) {
    Json event = {{"type", type}, {"x", x}, {"y", y}, {"button", "left"}, {"clickCount", 1}};
    TXEND_RETURN_IF_ERROR(Call("Input.dispatchMouseEvent", event, session).status());
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> DevToolsClient::Screenshot(const std::string& session) {
  TXEND_ASSIGN_OR_RETURN(Json shot, Call("Page.captureScreenshot", {{"format", "png"}}, session));
  std::string base64 = shot.value("data", "");
  std::vector<uint8_t> bytes(base64.size() / 4 * 3 + 3);
  int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(base64.data()),
                          static_cast<int>(base64.size()));
  if (base64.empty() || n < 0) return Status::Error(EIO, "Page.captureScreenshot gave no image");
  bytes.resize(static_cast<size_t>(n) - (base64.ends_with("==") ? 2 : base64.ends_with("=")));
  return bytes;
}

}  // namespace txend::testing
