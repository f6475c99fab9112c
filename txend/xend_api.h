// XendApi: xend's HTTP/SXP resource tree (/xend/node, /xend/domain, ...) over
// a Toolstack. Each request is one toolstack operation; reads run in one
// xenstore snapshot. Replies and status codes follow
// docs/reference/xend-http-api.md, so libvirt's xend driver and xm work.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "http/http_message.h"
#include "toolstack/migration/migration.h"
#include "toolstack/toolstack.h"
#include "txend/xend_sxp.h"

namespace txend::http {

class XendApi {
 public:
  using Log = std::function<void(const std::string& line)>;
  // `log` receives notable events (migrations and their figures). op=migrate
  // starts from `migrate_defaults` (timeouts; its tls is used for ssl=1).
  XendApi(toolstack::Toolstack& toolstack, xs::Connection& xs, HostFacts host, std::string log_file,
          Log log = {}, toolstack::MigrateRequest migrate_defaults = {});
  HttpResponse Handle(const HttpRequest& req);

 private:
  HttpResponse GetDomains(const HttpRequest& req);
  HttpResponse GetDomain(const std::string& dom, const HttpRequest& req);
  HttpResponse PostDomains(const HttpRequest& req);
  HttpResponse PostDomain(const std::string& dom, const HttpRequest& req);
  HttpResponse GetNode(const std::string& what);
  HttpResponse PostNode(const std::string& what, const HttpRequest& req);
  // The created domain's SXP as the 201 reply, from the record create returned.
  HttpResponse Created(const toolstack::DomainRecord& record);
  // op=migrate: returns once the domain runs on the destination (or stayed here).
  HttpResponse Migrate(const std::string& dom, const Params& params);
  // op=migrate_progress: where the domain's migration in flight is.
  HttpResponse MigrateProgress(const std::string& name);

  toolstack::Toolstack& toolstack_;
  xs::Connection& xs_;
  HostFacts host_;
  std::string log_file_;
  Log log_;
  toolstack::MigrateRequest migrate_defaults_;
  std::mutex migrating_mu_;
  std::map<std::string, toolstack::MigrationProgress> migrating_;  // by domain name
};

// Maps a toolstack error to xend's reply: unknown domains are 404, every
// other failure 500, both with an (xend.err '...') body.
HttpResponse Failure(const Status& st);

}  // namespace txend::http
