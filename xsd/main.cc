// xsd: the txend xenstore daemon.
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/daemon.h"
#include "base/stop_signals.h"
#include "xsd/journal.h"
#include "xsd/options.h"
#include "xsd/server.h"
#include "xsd/xen_transport.h"
#include "xsd/xenstore.h"

namespace {

int Fail(const std::string& what) {
  fprintf(stderr, "xsd: %s\n", what.c_str());
  return 1;
}

// Xen's shared rings when running on Xen (and not told otherwise); else none.
std::unique_ptr<txend::xsd::RingTransport> Rings(const txend::xsd::XsdOptions& opts) {
  using txend::xsd::XenTransport;
  if (opts.sockets_only || !XenTransport::Available()) return nullptr;
  auto xen = XenTransport::Create();
  if (!xen.ok()) {
    fprintf(stderr, "xsd: Xen rings unavailable, serving sockets only: %s\n",
            xen.status().ToString().c_str());
    return nullptr;
  }
  return std::move(*xen);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace txend::xsd;
  std::string help;
  auto opts = ParseOptions(argc, argv, &help);
  if (!opts.ok()) return Fail(opts.status().message() + " (try --help)");
  if (!help.empty()) {
    fputs(help.c_str(), stdout);
    return 0;
  }
  txend::Daemonizer daemon(opts->no_fork, opts->output_pid);

  std::unique_ptr<Journal> journal;
  std::optional<Tree> tree;
  if (!opts->persist_dir.empty()) {
    tree.emplace();
    auto j = Journal::Open(opts->persist_dir, *tree);
    if (!j.ok()) return Fail(j.status().ToString());
    journal = std::move(*j);
  }
  Xenstore store(opts->quota, std::move(journal), std::move(tree));
  store.set_log([](const std::string& line) { fprintf(stderr, "xsd: %s\n", line.c_str()); });
  auto rings = Rings(*opts);
  bool on_xen = rings != nullptr;
  auto server = Server::Create(opts->server, store, std::move(rings));
  if (!server.ok()) return Fail(server.status().ToString());
  txend::PidFile pid_file(opts->pid_file);
  if (opts->no_fork && opts->output_pid) printf("%d\n", getpid()), fflush(stdout);

  txend::StopSignals signals;
  Server* serving = server->get();
  signals.OnStop([serving] { serving->RequestStop(); });
  if (opts->verbose)
    fprintf(stderr, "xsd: serving %s%s%s\n", opts->server.socket_path.c_str(),
            on_xen ? " and Xen rings" : "",
            store.persistent() ? (" with persistence in " + opts->persist_dir).c_str() : "");
  daemon.Ready(true);

  txend::Status st = (*server)->Run();
  if (!st.ok()) return Fail(st.ToString());
  return 0;
}
