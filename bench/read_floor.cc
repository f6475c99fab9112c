// read_floor: the in-process floor of one detail read (issue 17): each part a
// `GET /xend/domain/<d>?detail=1` must do at least, measured on the real code in
// one process, at each domain count, and two sums: the floor of a read on a
// kept-alive connection and of a read on a new connection, in µs of CPU, while
// nothing is written (no xenstore round trip); and what a write adds.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "bench/read_floor_parts.h"

namespace txend::bench {
namespace {

struct Floor {
  int domains = 0;
  SxpFloor sxp;
  CpuFigure generation;
  XsdFloor xsd;
  HttpFloor http;
  SocketFloor xs_trip, http_trip, connection;
  size_t request_bytes = 0;

  CpuFigure KeepAlive() const { return generation + sxp.cpu + http_trip.server_end + http.cpu; }
  CpuFigure NewConnection() const { return KeepAlive() + connection.server_end; }
  CpuFigure CatchUpRoundTrip() const { return xsd.sync + xs_trip.both_ends; }
};

Result<Floor> Measure(int domains, const FloorSettings& s) {
  std::string dir = (std::filesystem::temp_directory_path() / "txend-read-floor-XXXXXX").string();
  if (!mkdtemp(dir.data())) return Status::Error(errno, "mkdtemp");
  Floor f;
  f.domains = domains;
  auto measured = [&]() -> Status {
    TXEND_ASSIGN_OR_RETURN(f.generation, MeasureWriteGenerationRead(dir, s));
    TXEND_ASSIGN_OR_RETURN(f.sxp, MeasureDomainSxp(domains, dir, s));
    TXEND_ASSIGN_OR_RETURN(f.xsd, MeasureXsd(f.sxp.store_paths, f.sxp.read_paths, s));
    std::string request = DetailReadRequest(f.sxp.name);
    f.request_bytes = request.size();
    TXEND_ASSIGN_OR_RETURN(f.http, MeasureHttpMessages(request, f.sxp.body, s));
    TXEND_ASSIGN_OR_RETURN(f.xs_trip,
                           MeasureRoundTrips(f.xsd.sync_request_bytes, f.xsd.sync_reply_bytes, s));
    TXEND_ASSIGN_OR_RETURN(f.http_trip, MeasureRoundTrips(request.size(), f.http.reply_bytes, s));
    TXEND_ASSIGN_OR_RETURN(f.connection, MeasureNewConnections(dir, s));
    return Status::Ok();
  }();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!measured.ok()) return measured;
  return f;
}

std::string Us(const CpuFigure& c) {
  char buf[96];
  snprintf(buf, sizeof buf, "%.2f (%.2f–%.2f)", c.median_us, c.min_us, c.max_us);
  return buf;
}

void Row(std::ostream& out, const std::string& part, const std::vector<Floor>& floors,
         CpuFigure (*cell)(const Floor&)) {
  out << "| " << part << " |";
  for (const auto& f : floors) out << " " << Us(cell(f)) << " |";
  out << "\n";
}

std::string Table(const std::vector<Floor>& floors) {
  const Floor& a = floors.front();
  std::ostringstream t;
  t << "| part (µs of CPU per read: median (min–max) of the batches) |";
  for (const auto& f : floors) t << " " << f.domains << " domains |";
  t << "\n| --- |";
  for (size_t i = 0; i < floors.size(); ++i) t << " ---: |";
  t << "\n";
  auto n = [](size_t v) { return std::to_string(v); };
  Row(t,
      "1. txend: xsd's write generation read (its page, no system call): "
      "nothing written since the last catch-up",
      floors, [](const Floor& f) { return f.generation; });
  Row(t,
      "2. txend: registry lookup, record, cached states, the domain's SXP printed (" +
          n(a.sxp.body.size()) + " B)",
      floors, [](const Floor& f) { return f.sxp.cpu; });
  Row(t,
      "3. one HTTP request and reply (" + n(a.request_bytes) + " B, " + n(a.http.reply_bytes) +
          " B back), the server's end",
      floors, [](const Floor& f) { return f.http_trip.server_end; });
  Row(t, "4. HTTP: Beast parses the request, DecodeRequest, the reply serialized", floors,
      [](const Floor& f) { return f.http.cpu; });
  Row(t, "5. a new connection: accept, peer credentials, the end read, close; the server's end",
      floors, [](const Floor& f) { return f.connection.server_end; });
  Row(t, "keep-alive floor (1 + 2 + 3 + 4)", floors, [](const Floor& f) { return f.KeepAlive(); });
  Row(t, "new-connection floor (1 + 2 + 3 + 4 + 5)", floors,
      [](const Floor& f) { return f.NewConnection(); });
  Row(t,
      "not in the floor: after a write, the catch-up round trip: xsd handles GET_DOMAIN_PATH "
      "(a), one xenstore round trip of " +
          n(a.xsd.sync_request_bytes) + " B, " + n(a.xsd.sync_reply_bytes) +
          " B back, both ends (b); a + b",
      floors, [](const Floor& f) { return f.CatchUpRoundTrip(); });
  Row(t,
      "not in the floor: a changed domain's read in xsd (" + n(a.xsd.changed_requests) +
          " requests: TRANSACTION_START, the reads, TRANSACTION_END)",
      floors, [](const Floor& f) { return f.xsd.changed_read; });
  Row(t, "not in the floor: 3, both ends", floors,
      [](const Floor& f) { return f.http_trip.both_ends; });
  Row(t, "not in the floor: 5, both ends (the client's socket, connect, close)", floors,
      [](const Floor& f) { return f.connection.both_ends; });
  return t.str();
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

void PrintMethod(const FloorSettings& s) {
  std::cout
      << "Each part of one `GET /xend/domain/<d>?detail=1` of a domain with 2 vbds and 1 vif\n"
      << "(the last of N registered, its xenstore state cached, as after a first read), on the\n"
      << "real code in one process: CPU time to the nanosecond (clock_gettime's thread or process\n"
      << "CPU clock), " << s.repeats << " batches of " << s.batch
      << " (part 1's changed-domain row: a quarter as many).\n"
      << "The sums are what xsd + txend must spend per read today at the least; the hypervisor's\n"
      << "domain info (one hypercall on Xen; copied here), routing in XendApi and an event loop's\n"
      << "readiness waits (the floor's I/O is blocking) are not in them. While nothing is\n"
      << "written txend reads xsd's write generation instead of a round trip (1); the catch-up\n"
      << "round trip a write costs the next read is given apart, both ends (txend's client and\n"
      << "xsd); 3 and 5 count the server's end only, as the client's CPU is not xsd's or\n"
      << "txend's.\n\n";
}

int Main(int argc, char** argv) {
  CLI::App app{"The in-process floor of one detail read", "read_floor"};
  std::vector<int> domains{1, 1000};
  FloorSettings s;
  app.add_option("--domains", domains, "domain counts in the registry and cache")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--repeats", s.repeats, "batches per part")->capture_default_str();
  app.add_option("--batch", s.batch, "reads per batch")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (domains.empty() || s.repeats < 1 || s.batch < 1) return 2;
  std::string load_before = LoadAverage();
  std::vector<Floor> floors;
  for (int n : domains) {
    auto f = Measure(n, s);
    if (!f.ok()) {
      std::fprintf(stderr, "read_floor: %d domains: %s\n", n, f.status().ToString().c_str());
      return 1;
    }
    floors.push_back(std::move(*f));
  }
  PrintMethod(s);
  std::cout << Table(floors) << "\n1-minute load average " << load_before << " before, "
            << LoadAverage() << " after.\n";
  return 0;
}

}  // namespace
}  // namespace txend::bench

int main(int argc, char** argv) { return txend::bench::Main(argc, argv); }
