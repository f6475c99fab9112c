// Migrations: the daemon's side of op=migrate — starts each migration from the
// configured defaults, logs it, and keeps where every migration in flight is
// for op=migrate_progress.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "base/mutex.h"
#include "base/result.h"
#include "sxp/sxp.h"
#include "toolstack/migration/migration.h"
#include "toolstack/toolstack.h"
#include "txend/op_args.h"

namespace txend::daemon {

class Migrations {
 public:
  using Log = std::function<void(const std::string& line)>;
  // op=migrate starts from `defaults` (timeouts; its tls is used for ssl=1).
  Migrations(toolstack::MigrateRequest defaults, Log log);

  // op=migrate's parameters over the defaults. libvirt sends destination,
  // live, port (0: the default), node, ssl, change_home_server and resource;
  // xm the first four and ssl.
  Result<toolstack::MigrateRequest> Request(const OpArgs& args) const;
  // Migrates domain `dom` (called `name`); returns once it runs on the
  // destination (or stayed here), with the (migrate ...) reply.
  Result<sxp::Value> Migrate(toolstack::Toolstack& toolstack, const std::string& dom,
                             const std::string& name, toolstack::MigrateRequest request)
      LOCKS_EXCLUDED(mu_);
  // op=migrate_progress: (migrate_progress (phase none)) when nothing is in flight.
  sxp::Value Progress(const std::string& name) LOCKS_EXCLUDED(mu_);

 private:
  const toolstack::MigrateRequest defaults_;
  const Log log_;
  Mutex mu_;
  std::map<std::string, toolstack::MigrationProgress> in_flight_ GUARDED_BY(mu_);  // by domain name
};

}  // namespace txend::daemon
