#include "bench/timed_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <sys/wait.h>

#include "base/unique_fd.h"

extern char** environ;

namespace txend::bench {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<CommandRun> RunTimed(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env) {
  std::vector<std::string> args = argv, envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> c_args = CStrings(args), c_env = CStrings(envs);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::Error(errno, "pipe");
  UniqueFd out_read(pipe_fds[0]), out_write(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  int err = posix_spawn(&pid, c_args[0], &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  out_write.reset();  // the child's copy is the only writer: EOF when it exits
  if (err != 0) return Status::Error(err, "cannot run " + argv[0]);
  CommandRun run;
  char buf[65536];
  ssize_t n;
  while ((n = read(out_read.get(), buf, sizeof buf)) > 0)
    run.out.append(buf, static_cast<size_t>(n));
  out_read.reset();
  int status = 0;
  waitpid(pid, &status, 0);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace txend::bench
