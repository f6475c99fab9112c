#include "txend/migrations.h"

#include <cstdio>

#include "toolstack/domain/domain_sxp.h"
#include "toolstack/migration/migration.h"
#include "txend/xend_sxp.h"

namespace txend::daemon {
namespace {

sxp::Value Fields(std::string_view head,
                  std::initializer_list<std::pair<const char*, std::string>> fields) {
  sxp::Value out = sxp::Value::List({head});
  for (const auto& [key, value] : fields) out.Add(sxp::Value::List({key, value}));
  return out;
}

}  // namespace

Migrations::Migrations(toolstack::MigrateRequest defaults, Log log)
    : defaults_(std::move(defaults)), log_(log ? std::move(log) : [](const std::string&) {}) {}

Result<toolstack::MigrateRequest> Migrations::Request(const OpArgs& args) const {
  toolstack::MigrateRequest request = defaults_;
  TXEND_ASSIGN_OR_RETURN(request.host, args.Required("destination"));
  request.live = args.Flag("live");
  request.port = toolstack::kRelocationPort;
  if (args.Flag("ssl")) {
    request.tls = request.tls.value_or(toolstack::TlsOptions{});
    request.port = toolstack::kRelocationSslPort;
  } else {
    request.tls.reset();
  }
  if (args.Has("port")) {
    TXEND_ASSIGN_OR_RETURN(int64_t port, args.Integer("port"));
    if (port < 0 || port > 65535)
      return Status::Error(kBadRequest, "Invalid parameter: port " + std::to_string(port));
    if (port != 0) request.port = static_cast<uint16_t>(port);
  }
  return request;
}

Result<sxp::Value> Migrations::Migrate(toolstack::Toolstack& toolstack, const std::string& dom,
                                       const std::string& name, toolstack::MigrateRequest request) {
  request.progress = [this, name](const toolstack::MigrationProgress& progress) {
    MutexLock lock(&mu_);
    in_flight_[name] = progress;
  };
  std::string where = request.host + ":" + std::to_string(request.port);
  log_("migrating '" + name + "' to " + where + (request.live ? " (live)" : "") +
       (request.tls ? " over SSL" : ""));
  auto result = toolstack.migration().Migrate(dom, request);
  {
    MutexLock lock(&mu_);
    in_flight_.erase(name);
  }
  if (!result.ok()) {
    log_(result.status().message());
    return result.status();
  }
  char line[256];
  snprintf(line, sizeof line,
           "migrated '%s' to %s as domain %u: %u rounds, %.1f MB in %.3f s, downtime %.1f ms",
           name.c_str(), where.c_str(), result->remote_domid, result->rounds,
           static_cast<double>(result->bytes_sent) / 1e6, result->total_s,
           result->downtime_s * 1e3);
  log_(line);
  return Fields("migrate", {{"destination", request.host},
                            {"port", std::to_string(request.port)},
                            {"live", request.live ? "1" : "0"},
                            {"ssl", request.tls ? "1" : "0"},
                            {"remote_domid", std::to_string(result->remote_domid)},
                            {"rounds", std::to_string(result->rounds)},
                            {"bytes_sent", std::to_string(result->bytes_sent)},
                            {"total_time", toolstack::Seconds(result->total_s)},
                            {"downtime", toolstack::Seconds(result->downtime_s)}});
}

sxp::Value Migrations::Progress(const std::string& name) {
  std::optional<toolstack::MigrationProgress> now;
  {
    MutexLock lock(&mu_);
    if (auto it = in_flight_.find(name); it != in_flight_.end()) now = it->second;
  }
  if (!now) return Fields("migrate_progress", {{"phase", "none"}});
  return Fields("migrate_progress", {{"phase", now->phase},
                                     {"round", std::to_string(now->round)},
                                     {"bytes_sent", std::to_string(now->bytes_sent)},
                                     {"dirty_pages", std::to_string(now->dirty_pages)},
                                     {"elapsed", toolstack::Seconds(now->elapsed_s)}});
}

}  // namespace txend::daemon
