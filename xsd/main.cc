// xsd: the txend xenstore daemon.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "xsd/journal.h"
#include "xsd/options.h"
#include "xsd/server.h"
#include "xsd/xenstore.h"

namespace {

txend::xsd::Server* g_server_for_signals = nullptr;  // only the signal handler needs it

void OnSignal(int) {
  if (g_server_for_signals) g_server_for_signals->RequestStop();
}

int Fail(const std::string& what) {
  fprintf(stderr, "xsd: %s\n", what.c_str());
  return 1;
}

// Forks; the parent waits until the child reports readiness (or failure) on a
// pipe and exits with the child's verdict, so callers may use the socket at once.
int DaemonizeOrExit(bool output_pid, int* ready_fd) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid > 0) {
    close(fds[1]);
    char verdict = 1;
    ssize_t n = read(fds[0], &verdict, 1);
    if (n == 1 && verdict == 0 && output_pid) printf("%d\n", pid);
    _exit(n == 1 && verdict == 0 ? 0 : 1);
  }
  close(fds[0]);
  setsid();
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (null > 2) close(null);
  }
  *ready_fd = fds[1];
  return 0;
}

void ReportReady(int ready_fd, bool ok) {
  if (ready_fd < 0) return;
  char verdict = ok ? 0 : 1;
  ssize_t ignored = write(ready_fd, &verdict, 1);
  (void)ignored;
  close(ready_fd);
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
  int ready_fd = -1;
  if (!opts->no_fork && DaemonizeOrExit(opts->output_pid, &ready_fd) != 0) return Fail("cannot fork");

  std::unique_ptr<Journal> journal;
  std::optional<Tree> tree;
  if (!opts->persist_dir.empty()) {
    tree.emplace();
    auto j = Journal::Open(opts->persist_dir, *tree);
    if (!j.ok()) {
      ReportReady(ready_fd, false);
      return Fail(j.status().ToString());
    }
    journal = std::move(*j);
  }
  Xenstore store(opts->quota, std::move(journal), std::move(tree));
  store.set_log([](const std::string& line) { fprintf(stderr, "xsd: %s\n", line.c_str()); });
  auto server = Server::Create(opts->server, store);
  if (!server.ok()) {
    ReportReady(ready_fd, false);
    return Fail(server.status().ToString());
  }
  if (!opts->pid_file.empty()) std::ofstream(opts->pid_file) << getpid() << "\n";
  if (opts->no_fork && opts->output_pid) printf("%d\n", getpid()), fflush(stdout);

  g_server_for_signals = server->get();
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (opts->verbose)
    fprintf(stderr, "xsd: serving %s%s\n", opts->server.socket_path.c_str(),
            store.persistent() ? (" with persistence in " + opts->persist_dir).c_str() : "");
  ReportReady(ready_fd, true);

  txend::Status st = (*server)->Run();
  g_server_for_signals = nullptr;
  if (!opts->pid_file.empty()) unlink(opts->pid_file.c_str());
  if (!st.ok()) return Fail(st.ToString());
  return 0;
}
