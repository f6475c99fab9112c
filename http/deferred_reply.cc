#include "http/deferred_reply.h"

namespace txend::http {

HandlerReply Then(HandlerReply reply, std::function<HttpResponse(HttpResponse)> edit) {
  if (auto* now = std::get_if<HttpResponse>(&reply)) return edit(std::move(*now));
  auto& later = std::get<DeferredReply>(reply);
  later.answer = [answer = std::move(later.answer), edit = std::move(edit)] {
    return edit(answer());
  };
  return reply;
}

}  // namespace txend::http
