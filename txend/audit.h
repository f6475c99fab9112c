// The audit trail: one log line per request that may change something (any
// method but GET and HEAD), naming who asked (the request's authenticated
// identity), the op and its result.
#pragma once

#include <optional>
#include <string>

#include "http/http_message.h"

namespace txend::daemon {

// "audit: CN=admin POST /xend/domain/demo op=destroy: 200 ok", or nullopt for a read.
std::optional<std::string> AuditLine(const http::HttpRequest& request,
                                     const http::HttpResponse& response);

}  // namespace txend::daemon
