// xsd: the txend xenstore daemon.
#include <syslog.h>
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

// The daemon's log: stderr (the terminal with -N) and syslog.
void Log(const std::string& line) {
  fprintf(stderr, "xsd: %s\n", line.c_str());
  syslog(LOG_WARNING, "%s", line.c_str());
}

int Fail(const std::string& what) {
  Log(what);
  return 1;
}

// Says what start-up had to step over or cut off in the journal.
void LogReplay(const txend::xsd::JournalReplay& replay) {
  if (replay.skipped_bytes)
    Log("journal: stepped over " + std::to_string(replay.skipped_bytes) +
        " bytes of failed writes between records");
  if (replay.dropped_bytes)
    Log("journal: cut off " + std::to_string(replay.dropped_bytes) +
        " bytes at its end (a torn or unacknowledged record, or records after a damaged one); " +
        (replay.cut_to.empty() ? "could not keep them" : "kept in " + replay.cut_to));
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
  openlog("xsd", LOG_PID, LOG_DAEMON);

  std::unique_ptr<Journal> journal;
  std::optional<Tree> tree;
  if (!opts->persist_dir.empty()) {
    tree.emplace();
    auto j = Journal::Open(opts->persist_dir, *tree);
    if (!j.ok()) return Fail(j.status().ToString());
    journal = std::move(*j);
    LogReplay(journal->replay());
  }
  Xenstore store(opts->quota, std::move(journal), std::move(tree));
  store.set_log(Log);
  auto rings = Rings(*opts);
  bool on_xen = rings != nullptr;
  auto server = Server::Create(opts->server, store, std::move(rings));
  if (!server.ok()) return Fail(server.status().ToString());
  auto pid_file = txend::PidFile::Write(opts->pid_file);
  if (!pid_file.ok()) return Fail(pid_file.status().message());
  if (opts->no_fork && opts->output_pid) printf("%d\n", getpid()), fflush(stdout);

  txend::StopSignals signals;
  Server* serving = server->get();
  signals.OnStop([serving] { serving->RequestStop(); });
  if (opts->verbose)
    fprintf(stderr, "xsd: serving %s%s%s\n", opts->server.socket_path.c_str(),
            on_xen ? " and Xen rings" : "",
            store.persistent() ? (" with persistence in " + opts->persist_dir).c_str() : "");
  if (auto ready = daemon.Ready(true); !ready.ok()) Log(ready.ToString());

  txend::Status st = (*server)->Run();
  if (!st.ok()) return Fail(st.ToString());
  return 0;
}
