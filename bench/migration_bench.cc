// migration_bench: migrates simulated domains between two txend hosts —
// network namespaces joined by a veth pair, each with its own xsd and txend
// — through the xend HTTP API, and reports migration time, downtime and bytes
// sent next to the floor: a plain TCP copy of the same number of bytes
// between the same namespaces, in the same run.
//   migration_bench [--sizes 256,1024,4096] [--rates 8,128] [--working-set 64] [--repeat 3] [--ssl]
// --ssl adds a TLS migration (the SSL relocation server) after each plain one.
// Each row is the run with the median migration time of --repeat runs; the
// raw copy column is the median of as many copies, made right after each run.
// Exits 77 where network namespaces cannot be made (not root, no iproute2).
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <future>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>

#include <CLI/CLI.hpp>

#include "base/numbers.h"
#include "base/unique_fd.h"
#include "tests/support/netns_pair.h"
#include "tests/support/test_cert.h"
#include "tests/support/txend_stack.h"

namespace {

using namespace txend;
using namespace txend::testing;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kRawPort = 9100;

struct Row {
  int size_mib = 0;
  double rate = 0;
  bool live = false;
  std::string rounds;
  double total_s = 0, downtime_s = 0;
  uint64_t bytes = 0;
  double raw_s = 0;
};

bool EnterNetns(const std::string& name) {
  UniqueFd fd(open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  return fd && setns(fd.get(), CLONE_NEWNET) == 0;
}

// Seconds to send `bytes` over TCP from host 0 to host 1 (first byte sent to
// last byte received), in 4 MiB writes as the save stream makes them.
double RawCopy(const NetnsPair& net, uint64_t bytes) {
  std::promise<void> listening;
  Clock::time_point start, end;
  std::thread receiver([&] {
    if (!EnterNetns(net.name(1))) return listening.set_value();
    UniqueFd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(l.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kRawPort);
    inet_pton(AF_INET, net.address(1).c_str(), &a.sin_addr);
    bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(l.get(), 1);
    listening.set_value();
    UniqueFd c(accept(l.get(), nullptr, nullptr));
    std::vector<char> buf(1 << 20);
    uint64_t got = 0;
    ssize_t n;
    while (got < bytes && (n = read(c.get(), buf.data(), buf.size())) > 0)
      got += static_cast<uint64_t>(n);
    end = Clock::now();
  });
  listening.get_future().wait();
  std::thread sender([&] {
    if (!EnterNetns(net.name(0))) return;
    UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kRawPort);
    inet_pton(AF_INET, net.address(1).c_str(), &a.sin_addr);
    if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    std::string chunk(4 << 20, 'x');
    start = Clock::now();
    for (uint64_t sent = 0; sent < bytes;) {
      ssize_t n = write(s.get(), chunk.data(), std::min<uint64_t>(chunk.size(), bytes - sent));
      if (n <= 0) break;
      sent += static_cast<uint64_t>(n);
    }
    shutdown(s.get(), SHUT_WR);
    char c;
    while (read(s.get(), &c, 1) > 0) {
    }
  });
  sender.join();
  receiver.join();
  return std::chrono::duration<double>(end - start).count();
}

class Bench {
 public:
  Bench(NetnsPair& net, double working_set, bool ssl)
      : net_(net), working_set_(working_set), ssl_(ssl) {}

  // Both hosts, the source's guests dirtying `rate` MiB/s.
  Status StartHosts(double rate) {
    hosts_[0].reset();
    hosts_[1].reset();
    std::string cert = certs_ / "cert.pem", key = certs_ / "key.pem";
    // One certificate naming both hosts serves as either host's and as the CA.
    if (ssl_)
      TXEND_RETURN_IF_ERROR(
          WriteSelfSignedCert(cert, key, {.names = {net_.address(0), net_.address(1)}}));
    for (int h = 0; h < 2; ++h) {
      TxendStack::Options o;
      o.exec_prefix = net_.Exec(h);
      // Plain migrations between the two namespaces: the explicit opt-out.
      o.extra_args = {"--relocation",
                      "8002",
                      "--relocation-insecure",
                      "--sim-memory",
                      "12288",
                      "--sim-dirty-rate",
                      std::to_string(h == 0 ? rate : 0.0),
                      "--sim-working-set",
                      std::to_string(static_cast<int>(working_set_))};
      if (ssl_)
        o.extra_args.insert(o.extra_args.end(),
                            {"--relocation-ssl", "8003", "--relocation-ssl-cert", cert,
                             "--relocation-ssl-key", key, "--relocation-ssl-ca", cert});
      TXEND_ASSIGN_OR_RETURN(hosts_[h], TxendStack::Start(o));
    }
    return Status::Ok();
  }

  Result<Row> Measure(int size_mib, double rate, bool live, bool ssl) {
    std::string name = "bench" + std::to_string(size_mib);
    XendClient a = hosts_[0]->client(), b = hosts_[1]->client();
    a.set_timeout_s(900);
    b.set_timeout_s(900);
    auto created = a.Post("/xend/domain/",
                          {{"op", "create"}, {"config", hosts_[0]->Config(name, 2, 1, size_mib)}});
    if (created.status != 201) return Status::Error(EIO, "create: " + created.body);
    a.Post("/xend/domain/" + name, {{"op", "unpause"}});
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the workload gets going
    auto r = a.Post("/xend/domain/" + name, {{"op", "migrate"},
                                             {"destination", net_.address(1)},
                                             {"live", live ? "1" : "0"},
                                             {"port", "0"},
                                             {"ssl", ssl ? "1" : "0"}});
    if (r.status != 200) return Status::Error(EIO, "migrate: " + r.body);
    b.Post("/xend/domain/" + name, {{"op", "destroy"}});
    Row row{size_mib, rate, live, sxp::ChildValue(r.sxp, "rounds")};
    TXEND_ASSIGN_OR_RETURN(row.total_s, ParseDouble(sxp::ChildValue(r.sxp, "total_time")));
    TXEND_ASSIGN_OR_RETURN(row.downtime_s, ParseDouble(sxp::ChildValue(r.sxp, "downtime")));
    TXEND_ASSIGN_OR_RETURN(row.bytes, ParseInteger<uint64_t>(sxp::ChildValue(r.sxp, "bytes_sent")));
    row.raw_s = RawCopy(net_, row.bytes);
    return row;
  }

 private:
  NetnsPair& net_;
  double working_set_;
  bool ssl_;
  TempDir certs_;
  std::unique_ptr<TxendStack> hosts_[2];
};

// The run with the median migration time, with the median raw copy time.
Row Median(std::vector<Row> runs) {
  std::vector<double> raw;
  for (const auto& r : runs) raw.push_back(r.raw_s);
  std::sort(raw.begin(), raw.end());
  std::sort(runs.begin(), runs.end(),
            [](const Row& a, const Row& b) { return a.total_s < b.total_s; });
  Row mid = runs[runs.size() / 2];
  mid.raw_s = raw[raw.size() / 2];
  return mid;
}

Result<std::vector<double>> Numbers(const std::string& csv) {
  std::vector<double> out;
  std::stringstream in(csv);
  std::string item;
  while (std::getline(in, item, ',')) {
    TXEND_ASSIGN_OR_RETURN(double n, ParseDouble(item));
    out.push_back(n);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"migration_bench: live migration between two txend hosts vs. a raw TCP copy"};
  std::string sizes = "256,1024,4096", rates = "8,128";
  double working_set = 64;
  int repeat = 3;
  bool ssl = false;
  app.add_option("--sizes", sizes, "domain sizes in MiB")->capture_default_str();
  app.add_option("--rates", rates, "guest dirty rates in MiB/s")->capture_default_str();
  app.add_option("--working-set", working_set, "MiB the guests' writes fall into")
      ->capture_default_str();
  app.add_option("--repeat", repeat, "runs per row (the median is shown)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--ssl", ssl, "migrate over TLS (the SSL relocation server)");
  CLI11_PARSE(app, argc, argv);

  auto rate_list = Numbers(rates), size_list = Numbers(sizes);
  if (!rate_list.ok() || !size_list.ok()) {
    fprintf(stderr, "--rates, --sizes: %s\n",
            (rate_list.ok() ? size_list : rate_list).status().message().c_str());
    return 2;
  }
  auto net = NetnsPair::Create();
  if (!net.ok()) {
    printf("skipped: %s\n", net.status().message().c_str());
    return 77;
  }
  Bench bench(**net, working_set, ssl);
  printf(
      "| domain | dirty rate | mode | rounds | migration s | downtime ms | MB sent | raw copy s | "
      "migration / raw |\n");
  printf("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  fflush(stdout);
  struct Mode {
    bool live, tls;
    const char* name;
  };
  std::vector<Mode> modes = {{true, false, "live"}, {false, false, "non-live"}};
  if (ssl)
    modes = {{true, false, "live"},
             {true, true, "live, TLS"},
             {false, false, "non-live"},
             {false, true, "non-live, TLS"}};
  bool first_rate = true;
  for (double rate : *rate_list) {
    if (Status st = bench.StartHosts(rate); !st.ok()) {
      fprintf(stderr, "starting the hosts: %s\n", st.ToString().c_str());
      return 1;
    }
    for (double size : *size_list) {
      for (const Mode& mode : modes) {
        if (!mode.live && !first_rate)
          continue;  // a non-live migration does not depend on the rate
        std::vector<Row> runs;
        for (int i = 0; i < repeat; ++i) {
          auto run = bench.Measure(static_cast<int>(size), rate, mode.live, mode.tls);
          if (!run.ok()) {
            fprintf(stderr, "%g MiB: %s\n", size, run.status().ToString().c_str());
            return 1;
          }
          runs.push_back(*run);
        }
        Row row = Median(runs);
        printf("| %d MiB | %g MiB/s | %s | %s | %.2f | %.1f | %.1f | %.2f | %.2f |\n", row.size_mib,
               row.rate, mode.name, row.rounds.c_str(), row.total_s, row.downtime_s * 1e3,
               static_cast<double>(row.bytes) / 1e6, row.raw_s, row.total_s / row.raw_s);
        fflush(stdout);
      }
    }
    first_rate = false;
  }
  return 0;
}
