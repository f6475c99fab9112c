#include "cli/xm_format.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "base/numbers.h"

namespace txend::xm {
namespace {

// printf into a std::string; xm's formats are Python %-formats with the same meaning.
std::string Fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* format, ...) {
  va_list ap, copy;
  va_start(ap, format);
  va_copy(copy, ap);
  int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string out(static_cast<size_t>(std::max(n, 0)) + 1, '\0');
  std::vsnprintf(out.data(), out.size(), format, ap);
  va_end(ap);
  out.resize(out.size() - 1);
  return out;
}

// xend's number, read leniently for display: an integer, else a float cut to one, else 0.
int64_t IntOr(std::optional<std::string_view> s, int64_t fallback) {
  if (!s || s->empty()) return fallback;
  std::string_view text = TrimBlanks(*s);
  if (auto n = ParseInteger<int64_t>(text); n.ok()) return *n;
  return static_cast<int64_t>(ParseDouble(text).value_or(0));
}

double DoubleOr(std::optional<std::string_view> s, double fallback) {
  if (!s || s->empty()) return fallback;
  return ParseDouble(TrimBlanks(*s)).value_or(0);
}

// The nodes of one op=devices entry (devid ((k v) ...)) as k -> v.
struct DeviceEntry {
  int64_t devid = 0;
  sxp::Value nodes = sxp::Value::List({"dev"});  // named, so FindChildValue sees every node
  int64_t Int(std::string_view key, int64_t fallback) const {
    return IntOr(sxp::FindChildValue(nodes, key), fallback);
  }
  std::string Str(std::string_view key, std::string fallback) const {
    return sxp::ChildValue(nodes, key, fallback);
  }
};

std::vector<DeviceEntry> DeviceEntries(const sxp::Value& devices) {
  std::vector<DeviceEntry> out;
  if (!devices.is_list()) return out;
  for (const auto& d : devices.items()) {
    if (!d.is_list() || d.items().empty() || !d.items()[0].is_atom()) continue;
    DeviceEntry e;
    e.devid = IntOr(d.items()[0].atom(), 0);
    if (d.items().size() > 1 && d.items()[1].is_list())
      for (const auto& node : d.items()[1].items()) e.nodes.Add(node);
    out.push_back(e);
  }
  return out;
}

std::string DaysPart(int64_t days) {
  if (days <= 0) return "";
  return std::to_string(days) + (days == 1 ? " day, " : " days, ");
}

// A row from `find(key)`: the atom of a domain's `(key atom ...)`, or nullopt.
template <typename Find>
DomainRow RowFrom(const Find& find) {
  DomainRow r;
  r.name = find("name").value_or("");
  r.domid = find("domid").value_or("");
  r.memory_mib = IntOr(find("memory"), 0);
  auto online = find("online_vcpus");
  r.vcpus = IntOr(online ? online : find("vcpus"), 0);
  r.state = find("state").value_or("");
  r.cpu_time = DoubleOr(find("cpu_time"), 0);
  r.start_time = DoubleOr(find("start_time"), 0);
  r.cpu_weight = IntOr(find("cpu_weight"), -1);
  r.cpu_cap = IntOr(find("cpu_cap"), -1);
  return r;
}

}  // namespace

DomainRow ParseDomainRow(const sxp::Value& d) {
  return RowFrom([&](std::string_view key) -> std::optional<std::string_view> {
    const sxp::Value* kid = sxp::Child(d, key);
    const sxp::Value* first = kid ? sxp::ChildAt(*kid, 0) : nullptr;
    if (first == nullptr || !first->is_atom()) return std::nullopt;
    return first->atom();
  });
}

DomainRow ParseDomainRow(const sxp::Tape& tape, sxp::Tape::Index d) {
  return RowFrom([&](std::string_view key) { return tape.FindChildValue(d, key); });
}

std::string FormatDomainList(const std::vector<DomainRow>& rows) {
  std::string out =
      Fmt("%-40s %5s %5s %5s %10s %9s\n", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
  for (const auto& r : rows)
    out += Fmt("%-40s %5s %5lld %5lld %10s %8.1f\n", r.name.c_str(), r.domid.c_str(),
               static_cast<long long>(r.memory_mib), static_cast<long long>(r.vcpus),
               r.state.c_str(), r.cpu_time);
  return out;
}

std::string FormatDomainLong(const sxp::Value& domain) {
  sxp::Value copy = domain;
  if (copy.is_list()) {
    auto& items = copy.items();
    std::erase_if(items, [](const sxp::Value& v) { return sxp::Name(v) == "vcpu_avail"; });
  }
  return sxp::PrettyPrint(copy);
}

std::string VcpuListHeader() {
  return Fmt("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
             "CPU Affinity");
}

std::string FormatCpuAffinity(std::vector<int> cpus, int nr_cpus) {
  std::erase_if(cpus, [&](int c) { return c < 0 || c >= nr_cpus; });
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  if (cpus.empty()) return "no cpus";
  if (static_cast<int>(cpus.size()) == nr_cpus) return "any cpu";
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

std::string FormatVcpuRows(const DomainRow& row, const sxp::Value& vcpuinfo, int nr_cpus) {
  std::string out;
  for (const sxp::Value* v : sxp::Children(vcpuinfo, "vcpu")) {
    int64_t number = IntOr(sxp::FindChildValue(*v, "number"), 0);
    int64_t cpu = IntOr(sxp::FindChildValue(*v, "cpu"), -1);
    bool online = sxp::ChildValue(*v, "online") == "1";
    std::string cpu_text, state;
    if (cpu >= 0 && online) {
      cpu_text = std::to_string(cpu);
      state = std::string(sxp::ChildValue(*v, "running") == "1" ? "r" : "-") +
              (sxp::ChildValue(*v, "blocked") == "1" ? "b" : "-") + "-";
    } else if (cpu >= 0 || !row.domid.empty()) {
      cpu_text = "-";
      state = "--p";
    }
    std::vector<int> cpus;
    if (const sxp::Value* map = sxp::Child(*v, "cpumap");
        map && map->items().size() > 1 && map->items()[1].is_list())
      for (const auto& c : map->items()[1].items())
        if (c.is_atom()) cpus.push_back(static_cast<int>(IntOr(c.atom(), -1)));
    out += Fmt("%-32s %5s %5lld %5s %5s  %8.1f %s\n", row.name.c_str(), row.domid.c_str(),
               static_cast<long long>(number), cpu_text.c_str(), state.c_str(),
               DoubleOr(sxp::FindChildValue(*v, "cpu_time"), 0),
               FormatCpuAffinity(cpus, nr_cpus).c_str());
  }
  return out;
}

std::string FormatUptime(const std::vector<DomainRow>& rows, bool short_form, time_t now,
                         double host_uptime) {
  std::string out;
  if (!short_form) out = Fmt("%-33s %4s %s \n", "Name", "ID", "Uptime");
  for (const auto& r : rows) {
    double up = 0;
    if (r.domid == "0")
      up = host_uptime;
    else if (!r.domid.empty())
      up = static_cast<double>(now) - r.start_time;
    int64_t secs = std::max<int64_t>(0, std::llround(up));
    int64_t days = secs / 86400, hours = secs % 86400 / 3600, mins = secs % 3600 / 60;
    if (short_form) {
      char clock[16];
      struct tm local;
      localtime_r(&now, &local);
      std::strftime(clock, sizeof clock, " %H:%M:%S", &local);
      out += std::string(clock) + " up " + DaysPart(days) +
             Fmt("%2lld:%02lld", static_cast<long long>(hours), static_cast<long long>(mins)) +
             ", " + r.name + " (" + r.domid + ")\n";
    } else {
      out += Fmt("%-32s %5s ", r.name.c_str(), r.domid.c_str()) + DaysPart(days) +
             Fmt("%2lld:%02lld:%02lld\n", static_cast<long long>(hours),
                 static_cast<long long>(mins), static_cast<long long>(secs % 60));
    }
  }
  return out;
}

std::string FormatNodeInfo(const sxp::Value& node, bool numa) {
  std::string out;
  if (!node.is_list()) return out;
  for (const auto& field : node.items()) {
    if (!field.is_list() || field.items().empty()) continue;
    std::string name(sxp::Name(field));
    if (name == "system" || name == "node_to_cpu") continue;
    if (!numa && (name == "cpu_topology" || name == "numa_info")) continue;
    std::string value;
    for (size_t i = 1; i < field.items().size(); ++i) {
      const auto& item = field.items()[i];
      value += (i > 1 ? " " : "") + (item.is_atom() ? item.atom() : sxp::ToString(item));
    }
    out += Fmt("%-23s: ", name.c_str()) + (value.empty() ? "(none)" : value) + "\n";
  }
  return out;
}

std::string FormatBlockList(const sxp::Value& devices) {
  auto entries = DeviceEntries(devices);
  if (entries.empty()) return "";
  std::string out = "Vdev  BE handle state evt-ch ring-ref BE-path\n";
  for (const auto& e : entries)
    out +=
        Fmt("%-5lld  %-3lld  %-3lld   %-3lld    %-3lld    %-5lld %-30s  \n",
            static_cast<long long>(e.devid), static_cast<long long>(e.Int("backend-id", -1)),
            static_cast<long long>(e.Int("handle", 0)), static_cast<long long>(e.Int("state", -1)),
            static_cast<long long>(e.Int("event-channel", -1)),
            static_cast<long long>(e.Int("ring-ref", -1)), e.Str("backend", "??").c_str());
  return out;
}

std::string FormatNetworkList(const sxp::Value& devices) {
  auto entries = DeviceEntries(devices);
  if (entries.empty()) return "";
  std::string out = "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n";
  for (const auto& e : entries)
    out += Fmt("%-3lld %-3lld%-17s    %-3lld   %-3lld    %-3lld   %-5lld/%-5lld   %-30s  \n",
               static_cast<long long>(e.devid), static_cast<long long>(e.Int("backend-id", -1)),
               e.Str("mac", "??").c_str(), static_cast<long long>(e.Int("handle", 0)),
               static_cast<long long>(e.Int("state", -1)),
               static_cast<long long>(e.Int("event-channel", -1)),
               static_cast<long long>(e.Int("tx-ring-ref", -1)),
               static_cast<long long>(e.Int("rx-ring-ref", -1)), e.Str("backend", "??").c_str());
  return out;
}

std::string FormatSchedCredit(const std::vector<DomainRow>& rows) {
  std::string out = Fmt("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
  for (const auto& r : rows)
    out += Fmt("%-32s %5s %6lld %4lld\n", r.name.c_str(), r.domid.c_str(),
               static_cast<long long>(r.cpu_weight), static_cast<long long>(r.cpu_cap));
  return out;
}

std::string DomainStateWord(const std::string& state) {
  if (state.empty()) return "shutoff";
  // xm tests find(flag) > 0, so a flag in the first column is never seen.
  static const std::pair<char, const char*> kWords[] = {{'s', "shutoff"},  {'b', "idle"},
                                                        {'d', "shutdown"}, {'r', "running"},
                                                        {'c', "crashed"},  {'p', "paused"}};
  for (const auto& [flag, word] : kWords) {
    auto pos = state.find(flag);
    if (pos != std::string::npos && pos > 0) return word;
  }
  return "";
}

Result<int64_t> ParseMemoryMib(const std::string& text) {
  if (text.empty()) return Status::Error(EINVAL, "Invalid argument.");
  std::string digits = text;
  char unit = text.back();
  int64_t scale_kib = 1024;  // no unit: MiB
  if (!std::isdigit(static_cast<unsigned char>(unit))) {
    digits.pop_back();
    switch (unit) {
      case 'k':
      case 'K':
        scale_kib = 1;
        break;
      case 'm':
      case 'M':
        scale_kib = 1024;
        break;
      case 'g':
      case 'G':
        scale_kib = 1024 * 1024;
        break;
      default:
        return Status::Error(EINVAL, "Invalid argument.");
    }
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit) || digits.size() > 15)
    return Status::Error(EINVAL, "Invalid argument.");
  TXEND_ASSIGN_OR_RETURN(int64_t amount, ParseInteger<int64_t>(digits));
  return amount * scale_kib / 1024;
}

Result<std::string> ParseCpuList(const std::string& text) {
  std::vector<int> cpus;
  if (text == "all") {
    for (int c = 0; c < 64; ++c) cpus.push_back(c);
  } else {
    auto number = [](const std::string& s) -> std::optional<int> {
      if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), ::isdigit))
        return std::nullopt;
      return ParseInteger<int>(s).value_or(0);
    };
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      std::string item =
          text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? text.size() + 1 : comma + 1;
      auto dash = item.find('-');
      if (item.starts_with("^")) {
        auto n = number(item.substr(1));
        if (!n) return Status::Error(EINVAL, "Invalid argument.");
        std::erase(cpus, *n);
      } else if (dash != std::string::npos) {
        auto lo = number(item.substr(0, dash)), hi = number(item.substr(dash + 1));
        if (!lo || !hi || *lo > *hi) return Status::Error(EINVAL, "Invalid argument.");
        for (int c = *lo; c <= *hi; ++c) cpus.push_back(c);
      } else {
        auto n = number(item);
        if (!n) return Status::Error(EINVAL, "Invalid argument.");
        cpus.push_back(*n);
      }
    }
    std::sort(cpus.begin(), cpus.end());
  }
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

}  // namespace txend::xm
