#include "xsd/options.h"

#include <CLI/CLI.hpp>

#include "base/numbers.h"

namespace txend::xsd {
namespace {

// "-Q what=nb" and "-w what=seconds": the quotas and timeouts the stock daemon
// names, plus ours.
struct NamedLimit {
  const char* name;
  size_t Quota::*field;  // nullptr: accepted for compatibility, ignored
};
constexpr NamedLimit kQuotas[] = {
    {"transaction-nodes", &Quota::transaction_nodes},
    {"outstanding", &Quota::outstanding},
    {"connections", &Quota::connections},
    {"queued-bytes", &Quota::queued_bytes},
    {"rate", &Quota::request_rate},
    {"burst", &Quota::request_burst},
    {"transaction-bytes", &Quota::transaction_bytes},
};
constexpr NamedLimit kTimeouts[] = {
    {"transaction", &Quota::transaction_seconds},
    {"watch-event", nullptr},
};

template <size_t N>
Status ApplyLimit(const std::string& spec, const NamedLimit (&table)[N], const char* kind,
                  const char* unit, Quota& q) {
  auto eq = spec.find('=');
  if (eq == std::string::npos)
    return Status::Error(EINVAL, std::string("expected <what>=<") + unit + ">: " + spec);
  std::string what = spec.substr(0, eq);
  auto n = ParseInteger<size_t>(std::string_view(spec).substr(eq + 1));
  if (!n.ok()) return Status::Error(EINVAL, "bad value in " + spec);
  std::string known;
  for (const auto& limit : table) {
    if (what == limit.name) {
      if (limit.field) q.*limit.field = *n;
      return Status::Ok();
    }
    known += std::string(known.empty() ? "" : ", ") + limit.name;
  }
  return Status::Error(EINVAL, std::string("unknown ") + kind + " '" + what + "' (" + known + ")");
}

}  // namespace

Result<XsdOptions> ParseOptions(int argc, const char* const* argv, std::string* help) {
  XsdOptions o;
  CLI::App app{"xsd: the txend xenstore daemon", "xsd"};
  app.set_help_flag("-H,--help", "print this help and exit");
  std::vector<std::string> quotas, soft_quotas, timeouts;
  std::string internal_db;
  bool ignored = false;
  app.add_flag("-N,--no-fork", o.no_fork, "stay in the foreground");
  app.add_flag("-P,--output-pid", o.output_pid, "print the daemon's pid on stdout");
  app.add_option("-F,--pid-file", o.pid_file, "write the daemon's pid to this file");
  app.add_option("-T,--trace-file", o.server.trace_file, "log every message to this file");
  app.add_option("-E,--entry-nb", o.quota.entries, "nodes a domain may own")->capture_default_str();
  app.add_option("-S,--entry-size", o.quota.node_size, "bytes in one node's value")
      ->capture_default_str();
  app.add_option("-W,--watch-nb", o.quota.watches, "watches per domain")->capture_default_str();
  app.add_option("-t,--transaction", o.quota.transactions, "open transactions per domain")
      ->capture_default_str();
  app.add_option("-A,--perm-nb", o.quota.perms, "ACL entries per node")->capture_default_str();
  app.add_option("-M,--path-max", o.quota.path_length, "path length below a domain's home")
      ->capture_default_str();
  app.add_option("-Q,--quota", quotas,
                 "<what>=<nb>: transaction-nodes, outstanding, connections, queued-bytes, rate, "
                 "burst, transaction-bytes");
  app.add_option("-q,--quota-soft", soft_quotas,
                 "accepted for compatibility; soft quotas only warn");
  app.add_option("-w,--timeout", timeouts,
                 "<what>=<seconds>: transaction (watch-event accepted and ignored)");
  app.add_option("-I,--internal-db", internal_db, "accepted: the store is always in memory")
      ->expected(0, 1);
  app.add_flag("-V,--verbose", o.verbose, "log to stderr");
  bool no_domain_init = false;
  app.add_flag("-D,--no-domain-init", no_domain_init,
               "do not serve dom0's kernel ring (/proc/xen/xsd_kva)");
  app.add_flag("-R,--no-recovery,-K,--keep-orphans", ignored, "accepted for compatibility");
  app.add_option("--socket", o.server.socket_path, "the dom0 socket")->capture_default_str();
  app.add_option("--domain-sockets", o.server.domain_socket_dir,
                 "directory for per-domain sockets (DIR/<domid>), created at INTRODUCE");
  app.add_option("--persist", o.persist_dir, "keep a journal and snapshot in this directory");
  app.add_flag("--sockets-only", o.sockets_only,
               "serve unix sockets only, even on Xen (no shared rings)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (help) *help = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return Status::Error(EINVAL, e.what());
  }
  for (const auto& q : quotas)
    TXEND_RETURN_IF_ERROR(ApplyLimit(q, kQuotas, "quota", "nb", o.quota));
  for (const auto& t : timeouts)
    TXEND_RETURN_IF_ERROR(ApplyLimit(t, kTimeouts, "timeout", "seconds", o.quota));
  o.server.dom0_ring = !no_domain_init;
  return o;
}

}  // namespace txend::xsd
