// DeferredReply: a handler's answer "later" (a long poll). The server parks
// the connection, holding no thread, until the handler's source wakes it, its
// timeout passes, or the client goes away (then nothing is sent).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <variant>

#include "http/http_message.h"

namespace txend::http {

struct DeferredReply {
  std::chrono::milliseconds timeout{0};
  // Arranges for `wake` to be called once, from any thread (at once if the
  // news is already there); dropping the returned handle cancels that.
  std::function<std::shared_ptr<void>(std::function<void()> wake)> watch;
  // The reply, computed once after a wake or when the timeout passes, on the
  // worker pool the request ran on.
  std::function<HttpResponse()> answer;
};

// What a handler returns: the reply now, or one to come.
using HandlerReply = std::variant<HttpResponse, DeferredReply>;

// `reply` with `edit` applied to its response: now, or when it is due.
HandlerReply Then(HandlerReply reply, std::function<HttpResponse(HttpResponse)> edit);

}  // namespace txend::http
