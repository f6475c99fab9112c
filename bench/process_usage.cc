#include "bench/process_usage.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/numbers.h"

namespace txend::bench {
namespace {

Result<std::string> ReadProcFile(pid_t pid, const char* name) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  std::ifstream in(path);
  if (!in) return Status::Error(ENOENT, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The number after "key" at the start of a line of `text` ("key: value" or "key value").
uint64_t Field(const std::string& text, const std::string& key) {
  size_t pos = ("\n" + text).find("\n" + key);
  if (pos == std::string::npos) return 0;
  pos += key.size();
  while (pos < text.size() && (text[pos] == ':' || text[pos] == ' ' || text[pos] == '\t')) ++pos;
  std::string_view rest = std::string_view(text).substr(pos);
  return ParseInteger<uint64_t>(rest.substr(0, rest.find_first_not_of("0123456789"))).value_or(0);
}

// utime + stime from /proc/<pid>/stat: fields 14 and 15, counted after the
// parenthesised command name (which may hold spaces).
Result<double> CpuSeconds(const std::string& stat) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return Status::Error(EINVAL, "unreadable /proc stat line");
  std::istringstream fields(stat.substr(close + 1));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;
  uint64_t utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return Status::Error(EINVAL, "short /proc stat line");
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The first field of each /proc/<pid>/task/<tid>/schedstat: nanoseconds on a CPU.
double ThreadCpuSeconds(pid_t pid) {
  uint64_t ns = 0;
  std::error_code ec;
  std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "schedstat");
    uint64_t on_cpu = 0;
    if (in >> on_cpu) ns += on_cpu;  // a thread that just ended has no file
  }
  return static_cast<double>(ns) / 1e9;
}

// Adds up the context switches of every thread of `pid` (a thread that ends meanwhile is skipped).
void AddSwitches(pid_t pid, ProcessUsage& u) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  for (; !ec && tasks != std::filesystem::directory_iterator(); tasks.increment(ec)) {
    std::ifstream in(tasks->path() / "status");
    std::stringstream text;
    text << in.rdbuf();
    u.voluntary_switches += Field(text.str(), "voluntary_ctxt_switches");
    u.involuntary_switches += Field(text.str(), "nonvoluntary_ctxt_switches");
  }
}

}  // namespace

Result<ProcessUsage> ReadProcessUsage(pid_t pid) {
  TXEND_ASSIGN_OR_RETURN(std::string stat, ReadProcFile(pid, "stat"));
  TXEND_ASSIGN_OR_RETURN(std::string status, ReadProcFile(pid, "status"));
  TXEND_ASSIGN_OR_RETURN(std::string io, ReadProcFile(pid, "io"));
  ProcessUsage u;
  TXEND_ASSIGN_OR_RETURN(u.cpu_seconds, CpuSeconds(stat));
  u.thread_cpu_seconds = ThreadCpuSeconds(pid);
  u.rss_bytes = Field(status, "VmRSS") * 1024;
  u.write_bytes = Field(io, "write_bytes");
  u.wchar = Field(io, "wchar");
  AddSwitches(pid, u);
  return u;
}

}  // namespace txend::bench
