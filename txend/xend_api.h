// XendApi: xend's HTTP/SXP resource tree (/xend/node, /xend/domain, ...) over
// a Toolstack. Each request is one toolstack operation; reads run in one
// xenstore snapshot; POST ops are looked up in xend_ops.h's tables. Replies
// and status codes follow docs/reference/xend-http-api.md, so libvirt's xend
// driver and xm work.
#pragma once

#include <functional>
#include <string>

#include "http/deferred_reply.h"
#include "http/http_message.h"
#include "toolstack/toolstack.h"
#include "txend/migrations.h"
#include "txend/xend_ops.h"
#include "txend/xend_sxp.h"

namespace txend::daemon {

class XendApi {
 public:
  using Log = std::function<void(const std::string& line)>;
  // `log` receives notable events (migrations and their figures). op=migrate
  // starts from `migrate_defaults` (timeouts; its tls is used for ssl=1).
  XendApi(toolstack::Toolstack& toolstack, xs::Connection& xs, HostFacts host, std::string log_file,
          Log log = {}, toolstack::MigrateRequest migrate_defaults = {});
  // Never throws: every failure is an (xend.err ...) reply. A browser's cross-site request
  // (`cross_site`) may only read: anything else is a 403. A long poll's reply is deferred.
  http::HandlerReply Handle(const http::HttpRequest& req);
  // Whether Handle answers `req` at once, asking xenstore nothing: a plain read of one
  // domain whose nodes are cached and unchanged (HttpServer's answers_at_once). A hint.
  bool AnswersAtOnce(const http::HttpRequest& req) const;

 private:
  http::HandlerReply Route(const http::HttpRequest& req);
  // A browser's GET (xend's use_sxp rule said HTML): the status page for /, /xend,
  // /xend/node and /xend/domain; any other reply's SXP in a page.
  http::HandlerReply ForBrowser(const http::HttpRequest& req);
  http::HttpResponse StatusPage();
  http::HttpResponse GetNode(const std::string& what);
  http::HttpResponse PostNode(const std::string& what, const http::HttpRequest& req);
  http::HttpResponse GetDomain(const std::string& dom, const http::HttpRequest& req);
  // GET /xend/events?since=N&wait=S: the domain changes from N on, waiting up
  // to S seconds (decimal, at most kMaxEventWaitSeconds) for the first (a
  // deferred reply: no thread waits); without since, none and the number to
  // start from.
  http::HandlerReply GetEvents(const http::HttpRequest& req);
  // POST /xend/domain[/<dom>]: exactly one op, found in `find`'s table.
  http::HttpResponse Post(const std::string& dom, const http::HttpRequest& req,
                          const XendOp* (*find)(std::string_view));

  toolstack::Toolstack& toolstack_;
  xs::Connection& xs_;
  HostFacts host_;
  std::string log_file_;
  Migrations migrations_;
};

// The longest a GET /xend/events may wait, and where such waits are served.
constexpr int kMaxEventWaitSeconds = 30;
constexpr const char* kEventsPath = "/xend/events";

// Maps an error to xend's reply: an unknown domain is 404, a bad parameter
// (kBadRequest) 400, every other failure 500; the body is (xend.err '...').
http::HttpResponse Failure(const Status& st);

}  // namespace txend::daemon
