#include "toolstack/config/cpu_affinity.h"

#include <algorithm>
#include <string>

#include "base/numbers.h"

namespace txend::toolstack {
namespace {

// Bounds memory for hostile input such as "0-4095,0-4095,...".
constexpr size_t kMaxListLength = 4 * (kMaxPhysicalCpu + 1);

Status Bad(std::string_view text, std::string_view item, std::string_view why) {
  return Status::Error(EINVAL, "cpus: '" + std::string(text) + "': " + std::string(why) + " '" +
                                   std::string(item) + "'");
}

Result<int> Cpu(std::string_view text, std::string_view item) {
  auto value = ParseInteger<int>(TrimBlanks(item));
  if (!value.ok()) return Bad(text, item, "not a cpu number:");
  if (*value < 0 || *value > kMaxPhysicalCpu)
    return Bad(text, item, "cpu number out of range (0-4095):");
  return value;
}

}  // namespace

Result<std::vector<int>> ParseCpuList(std::string_view text) {
  std::vector<int> cpus;
  if (text.empty()) return cpus;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (auto dash = item.find('-'); dash != std::string_view::npos) {
      TXEND_ASSIGN_OR_RETURN(int from, Cpu(text, item.substr(0, dash)));
      TXEND_ASSIGN_OR_RETURN(int to, Cpu(text, item.substr(dash + 1)));
      for (int c = from; c <= to; ++c) cpus.push_back(c);
    } else if (!item.empty() && item[0] == '^') {
      TXEND_ASSIGN_OR_RETURN(int drop, Cpu(text, item.substr(1)));
      cpus.erase(std::remove(cpus.begin(), cpus.end(), drop), cpus.end());
    } else {
      TXEND_ASSIGN_OR_RETURN(int cpu, Cpu(text, item));
      cpus.push_back(cpu);
    }
    if (cpus.size() > kMaxListLength) return Bad(text, item, "list too long at");
    if (comma == std::string_view::npos) return cpus;
    start = comma + 1;
  }
}

}  // namespace txend::toolstack
