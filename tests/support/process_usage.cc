#include "tests/support/process_usage.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/files.h"

namespace txend::testing {
namespace {

std::string Proc(pid_t pid, const char* what) {
  return "/proc/" + std::to_string(pid) + "/" + what;
}

// A "Name:   123 kB" line of /proc/<pid>/status, in KiB.
long StatusKiB(pid_t pid, const std::string& name) {
  std::ifstream in(Proc(pid, "status"));
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(name)) return std::stol(line.substr(name.size()));
  return -1;
}

}  // namespace

long RssKiB(pid_t pid) { return StatusKiB(pid, "VmRSS:"); }

long PeakRssKiB(pid_t pid) { return StatusKiB(pid, "VmHWM:"); }

int FdCount(pid_t pid) {
  DIR* d = opendir(Proc(pid, "fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

std::chrono::milliseconds CpuTime(pid_t pid) {
  std::string stat = ReadFile(Proc(pid, "stat"));
  // Fields after the command (which may hold spaces) start past the last ')';
  // utime and stime are the 12th and 13th of them.
  size_t command_end = stat.rfind(')');
  if (command_end == std::string::npos) return std::chrono::milliseconds(0);  // gone
  std::istringstream fields(stat.substr(command_end + 1));
  std::string field;
  long long ticks = 0;
  for (int i = 1; i <= 13 && fields >> field; ++i)
    if (i >= 12) ticks += std::stoll(field);
  return std::chrono::milliseconds(ticks * 1000 / sysconf(_SC_CLK_TCK));
}

}  // namespace txend::testing
