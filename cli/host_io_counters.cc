#include "cli/host_io_counters.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/numbers.h"

namespace txend::xm {
namespace {

void AddTo(std::optional<uint64_t>& sum, uint64_t value) { sum = sum.value_or(0) + value; }

// "  vif3.0: rx_bytes rx_packets ... (8 fields) tx_bytes ...": dom0's receive is the guest's
// transmit.
void AddNetDevLine(const std::string& line, const std::vector<std::string>& domids,
                   std::map<std::string, DomainIo>& io) {
  auto colon = line.find(':');
  if (colon == std::string::npos) return;
  std::string name(TrimBlanks(std::string_view(line).substr(0, colon)));
  if (!name.starts_with("vif")) return;
  std::string domid = name.substr(3, name.find('.') - 3);
  if (std::find(domids.begin(), domids.end(), domid) == domids.end()) return;
  std::istringstream fields(line.substr(colon + 1));
  std::vector<uint64_t> v;
  for (uint64_t n; v.size() < 9 && fields >> n;) v.push_back(n);
  if (v.size() < 9) return;
  AddTo(io[domid].net_tx_bytes, v[0]);
  AddTo(io[domid].net_rx_bytes, v[8]);
}

uint64_t ReadCounter(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  in >> text;
  return ParseInteger<uint64_t>(text).value_or(0);
}

void AddVbds(const std::string& backend_dir, const std::string& domid, DomainIo& io) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(backend_dir, ec)) {
    if (!entry.path().filename().string().starts_with("vbd-" + domid + "-")) continue;
    auto stats = entry.path() / "statistics";
    if (!std::filesystem::exists(stats / "rd_req", ec)) continue;
    AddTo(io.vbd_reads, ReadCounter(stats / "rd_req"));
    AddTo(io.vbd_writes, ReadCounter(stats / "wr_req"));
  }
}

}  // namespace

std::map<std::string, DomainIo> HostDomainIo(const std::vector<std::string>& domids,
                                             const std::string& net_dev_text,
                                             const std::string& backend_dir) {
  std::map<std::string, DomainIo> io;
  std::istringstream lines(net_dev_text);
  for (std::string line; std::getline(lines, line);) AddNetDevLine(line, domids, io);
  for (const auto& domid : domids) AddVbds(backend_dir, domid, io[domid]);
  return io;
}

std::map<std::string, DomainIo> ReadHostDomainIo(const std::vector<std::string>& domids) {
  std::ifstream in("/proc/net/dev");
  std::stringstream text;
  text << in.rdbuf();
  return HostDomainIo(domids, text.str(), "/sys/devices/xen-backend");
}

}  // namespace txend::xm
