#include "toolstack/hypervisor.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace txend::toolstack {

std::string_view ShutdownReasonName(ShutdownReason r) {
  switch (r) {
    case ShutdownReason::kPoweroff: return "poweroff";
    case ShutdownReason::kReboot: return "reboot";
    case ShutdownReason::kSuspend: return "suspend";
    case ShutdownReason::kCrash: return "crash";
    case ShutdownReason::kWatchdog: return "watchdog";
  }
  return "unknown";
}

std::string DomainInfo::StateString() const {
  std::string s = "------";
  if (running) s[0] = 'r';
  if (blocked) s[1] = 'b';
  if (paused) s[2] = 'p';
  if (shutdown && !crashed()) s[3] = 's';
  if (crashed()) s[4] = 'c';
  if (dying) s[5] = 'd';
  return s;
}

namespace {
Result<int> CpuNumber(std::string_view text, int nr_cpus) {
  int v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0)
    return Status::Error(EINVAL, "bad CPU number '" + std::string(text) + "'");
  if (v >= nr_cpus)
    return Status::Error(EINVAL, "CPU " + std::to_string(v) + " does not exist (this host has " +
                                     std::to_string(nr_cpus) + ")");
  return v;
}
}  // namespace

Result<std::vector<int>> ParseCpuList(std::string_view text, int nr_cpus) {
  std::set<int> in, out;
  if (text == "all" || text == "any cpu") {
    std::vector<int> all(nr_cpus);
    for (int i = 0; i < nr_cpus; ++i) all[i] = i;
    return all;
  }
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    bool exclude = !part.empty() && part[0] == '^';
    if (exclude) part.remove_prefix(1);
    size_t dash = part.find('-');
    TXEND_ASSIGN_OR_RETURN(int lo, CpuNumber(part.substr(0, dash), nr_cpus));
    int hi = lo;
    if (dash != std::string_view::npos) {
      TXEND_ASSIGN_OR_RETURN(hi, CpuNumber(part.substr(dash + 1), nr_cpus));
    }
    if (hi < lo) return Status::Error(EINVAL, "bad CPU range '" + std::string(part) + "'");
    for (int c = lo; c <= hi; ++c) (exclude ? out : in).insert(c);
  }
  std::vector<int> cpus;
  for (int c : in)
    if (!out.count(c)) cpus.push_back(c);
  if (cpus.empty()) return Status::Error(EINVAL, "CPU list selects no CPU");
  return cpus;
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::vector<int> sorted = cpus;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(sorted[i]);
    if (j > i) out += "-" + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace txend::toolstack
