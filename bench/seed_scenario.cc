#include "bench/seed_scenario.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "bench/timed_command.h"
#include "tests/support/txend_stack.h"

namespace txend::bench {
namespace {

using Clock = std::chrono::steady_clock;
using testing::TxendStack;

std::string DomainName(int i) {
  char buf[32];
  snprintf(buf, sizeof buf, "bench%04d", i);
  return buf;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Status Expect(const testing::XendReply& reply, int status, const std::string& what) {
  if (reply.status == status) return Status::Ok();
  return Status::Error(
      EIO, what + ": HTTP " + std::to_string(reply.status) + " " + reply.body.substr(0, 300));
}

// A sample taken once the stack has gone quiet: no xenstore request from any
// client (guest kernels, backends, txend) for two consecutive 200 ms periods.
Result<StackSample> QuietSample(StackMeter& meter) {
  TXEND_ASSIGN_OR_RETURN(StackSample last, meter.Sample());
  for (int quiet = 0, tries = 0; quiet < 2 && tries < 100; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    TXEND_ASSIGN_OR_RETURN(StackSample next, meter.Sample());
    quiet = (next - last).requests == 0 ? quiet + 1 : 0;
    last = std::move(next);
  }
  return last;
}

// `cost` with its window and CPU figures from `cpu`: measured without xsd's stats
// request, which walks xsd's connections (it once walked the whole store).
StackCost WithCpuOf(StackCost cost, const StackCost& cpu) {
  cost.seconds = cpu.seconds;
  cost.xsd_cpu_seconds = cpu.xsd_cpu_seconds;
  cost.txend_cpu_seconds = cpu.txend_cpu_seconds;
  cost.xsd_thread_cpu_seconds = cpu.xsd_thread_cpu_seconds;
  cost.txend_thread_cpu_seconds = cpu.txend_thread_cpu_seconds;
  cost.txend_voluntary_switches = cpu.txend_voluntary_switches;
  cost.txend_involuntary_switches = cpu.txend_involuntary_switches;
  return cost;
}

// The CPU the stack spends in `seconds` with nothing asked of it.
Result<StackCost> IdleWindow(StackMeter& meter, double seconds) {
  TXEND_ASSIGN_OR_RETURN(StackSample before, meter.SampleProcesses());
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  TXEND_ASSIGN_OR_RETURN(StackSample after, meter.SampleProcesses());
  return after - before;
}

// What `xm create` sends: create (paused), wait for the devices, unpause.
Status CreateDomain(TxendStack& stack, const std::string& name, int memory_mib) {
  auto client = stack.client();
  TXEND_RETURN_IF_ERROR(
      Expect(client.Post("/xend/domain/",
                         {{"op", "create"}, {"config", stack.Config(name, 2, 1, memory_mib)}}),
             201, "create " + name));
  TXEND_RETURN_IF_ERROR(Expect(client.Post("/xend/domain/" + name, {{"op", "wait_for_devices"}}),
                               202, "wait_for_devices " + name));
  return Expect(client.Post("/xend/domain/" + name, {{"op", "unpause"}}), 200, "unpause " + name);
}

// The time per create is the creates' own (the counters read between them are left out).
Result<CreateFigures> CreateAll(TxendStack& stack, StackMeter& meter, const ScenarioOptions& o) {
  CreateFigures f;
  TXEND_ASSIGN_OR_RETURN(StackSample first, meter.SampleStats());
  StackSample before = first;
  Clock::duration creating{};
  for (int i = 0; i < o.domains; ++i) {
    auto start = Clock::now();
    TXEND_RETURN_IF_ERROR(CreateDomain(stack, DomainName(i), o.domain_memory_mib));
    creating += Clock::now() - start;
    TXEND_ASSIGN_OR_RETURN(StackSample after, meter.SampleStats());
    f.max_transactions = std::max(f.max_transactions, (after - before).transactions);
    before = std::move(after);
  }
  StackCost total = before - first;
  double n = o.domains;
  f.transactions = static_cast<double>(total.transactions) / n;
  f.requests =
      static_cast<double>(total.requests - (o.domains - 1)) / n;  // minus our own stats reads
  f.seconds = std::chrono::duration<double>(creating).count() / n;
  return f;
}

// Reads every domain once, as one polling round does.
Status ReadEachDomain(testing::XendClient& client, int domains, std::vector<double>* latencies) {
  for (int i = 0; i < domains; ++i) {
    std::string name = DomainName(i);
    auto t0 = Clock::now();
    auto reply = client.Get("/xend/domain/" + name + "?detail=1");
    if (latencies) latencies->push_back(Ms(Clock::now() - t0));
    TXEND_RETURN_IF_ERROR(Expect(reply, 200, "GET " + name));
    if (sxp::ChildValue(reply.sxp, "name") != name)
      return Status::Error(EIO, "GET " + name + " named another domain");
  }
  return Status::Ok();
}

// The window is a monitor's steady state: one unmeasured round before it reads each
// domain once, as the first read after its creation reads its nodes from xenstore.
Result<PollFigures> PollAll(TxendStack& stack, StackMeter& meter, const ScenarioOptions& o) {
  PollFigures f;
  auto client = stack.client();
  std::vector<double> latencies;
  TXEND_RETURN_IF_ERROR(ReadEachDomain(client, o.domains, nullptr));
  TXEND_ASSIGN_OR_RETURN(StackSample before, QuietSample(meter));
  TXEND_ASSIGN_OR_RETURN(f.idle, IdleWindow(meter, std::min(o.interval_s * o.rounds, 5.0)));
  TXEND_ASSIGN_OR_RETURN(StackSample cpu_before, meter.SampleProcesses());
  auto start = Clock::now();
  for (int r = 0; r < o.rounds; ++r) {
    auto round_start = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(o.interval_s * r));
    std::this_thread::sleep_until(round_start);
    round_start = Clock::now();
    TXEND_RETURN_IF_ERROR(ReadEachDomain(client, o.domains, &latencies));
    f.max_round_s = std::max(f.max_round_s, Ms(Clock::now() - round_start) / 1000);
  }
  auto window = std::chrono::duration<double>(o.interval_s * o.rounds);
  std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(window));
  TXEND_ASSIGN_OR_RETURN(StackSample cpu_after, meter.SampleProcesses());
  TXEND_ASSIGN_OR_RETURN(StackSample after, meter.Sample());
  f.reads = latencies.size();
  f.cost = WithCpuOf(after - before, cpu_after - cpu_before);
  f.median_read_ms = Median(latencies);
  return f;
}

// The reads in kDetailBatches batches, each its own CPU window: the figure is the median
// batch, so a burst of the machine's other load moves one batch, not the figure.
constexpr int kDetailBatches = 8;

Result<DetailReadFigures> DetailReads(TxendStack& stack, StackMeter& meter,
                                      const ScenarioOptions& o) {
  DetailReadFigures f;
  auto client = stack.client();
  std::string name = DomainName(o.domains - 1);
  int per_batch = std::max(1, o.detail_reads / kDetailBatches);
  std::vector<double> times, batch_cpu_us, batch_txend_us;
  TXEND_ASSIGN_OR_RETURN(StackSample before, QuietSample(meter));
  for (int b = 0; b < kDetailBatches; ++b) {
    TXEND_ASSIGN_OR_RETURN(StackSample cpu_before, meter.SampleProcesses());
    for (int i = 0; i < per_batch; ++i) {
      auto t0 = Clock::now();
      auto reply = client.Get("/xend/domain/" + name + "?detail=1");
      times.push_back(Ms(Clock::now() - t0));
      TXEND_RETURN_IF_ERROR(Expect(reply, 200, "GET " + name));
    }
    TXEND_ASSIGN_OR_RETURN(StackSample cpu_after, meter.SampleProcesses());
    StackCost c = cpu_after - cpu_before;
    batch_cpu_us.push_back((c.xsd_thread_cpu_seconds + c.txend_thread_cpu_seconds) * 1e6 /
                           per_batch);
    batch_txend_us.push_back(c.txend_thread_cpu_seconds * 1e6 / per_batch);
    f.tick_cpu_us += c.xsd_cpu_seconds + c.txend_cpu_seconds;
    f.txend_voluntary += static_cast<double>(c.txend_voluntary_switches);
    f.txend_involuntary += static_cast<double>(c.txend_involuntary_switches);
  }
  f.reads = per_batch * kDetailBatches;
  f.cpu = Summarize(std::move(batch_cpu_us));
  f.txend_cpu_us = Summarize(std::move(batch_txend_us)).median_us;
  f.tick_cpu_us *= 1e6 / f.reads;
  f.txend_voluntary /= f.reads;
  f.txend_involuntary /= f.reads;
  f.median_ms = Median(times);
  return f;
}

// libvirt's request line and headers, sent raw so the time is the server's
// and the transport's, not our SXP parser's.
std::string LibvirtGet(const std::string& path) {
  return "GET " + path +
         " HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n"
         "Content-Type: application/x-www-form-urlencoded\r\n\r\n";
}

// Runs `once` o.repeats times between two samples; `once` returns its wall
// time in ms and the reply size.
template <typename F>
Result<RepeatFigures> Repeat(StackMeter& meter, const ScenarioOptions& o, F once) {
  RepeatFigures f;
  std::vector<double> times;
  TXEND_ASSIGN_OR_RETURN(StackSample before, QuietSample(meter));
  for (int i = 0; i < o.repeats; ++i) {
    TXEND_ASSIGN_OR_RETURN(auto run, once());
    times.push_back(run.first);
    f.reply_bytes = run.second;
  }
  TXEND_ASSIGN_OR_RETURN(StackSample after, meter.Sample());
  StackCost c = after - before;
  f.transactions = static_cast<double>(c.transactions) / o.repeats;
  f.requests = static_cast<double>(c.requests) / o.repeats;
  f.median_ms = Median(times);
  f.min_ms = *std::min_element(times.begin(), times.end());
  return f;
}

Result<RepeatFigures> GetAll(TxendStack& stack, StackMeter& meter, const ScenarioOptions& o) {
  auto client = stack.client();
  return Repeat(meter, o, [&]() -> Result<std::pair<double, size_t>> {
    auto t0 = Clock::now();
    std::string raw = client.Raw(LibvirtGet("/xend/domain?detail=1"));
    double ms = Ms(Clock::now() - t0);
    size_t body = raw.find("\r\n\r\n");
    if (raw.compare(0, 12, "HTTP/1.1 200") != 0 || body == std::string::npos)
      return Status::Error(EIO, "GET /xend/domain?detail=1: " + raw.substr(0, 300));
    auto list = sxp::Parse(raw.substr(body + 4));
    if (!list.ok() || list->items().size() != static_cast<size_t>(o.domains) + 1)
      return Status::Error(EIO, "GET /xend/domain?detail=1 did not list " +
                                    std::to_string(o.domains + 1) + " domains");
    return std::make_pair(ms, raw.size() - body - 4);
  });
}

Result<RepeatFigures> XmList(TxendStack& stack, StackMeter& meter, const ScenarioOptions& o) {
  return Repeat(meter, o, [&]() -> Result<std::pair<double, size_t>> {
    TXEND_ASSIGN_OR_RETURN(
        CommandRun run, RunTimed({o.xm_program, "list"}, {"TXEND_SOCKET=" + stack.xend_socket()}));
    if (run.exit_code != 0)
      return Status::Error(EIO, "xm list exited with " + std::to_string(run.exit_code));
    if (run.out.find(DomainName(o.domains - 1)) == std::string::npos)
      return Status::Error(EIO, "xm list did not list " + DomainName(o.domains - 1));
    return std::make_pair(run.seconds * 1000, run.out.size());
  });
}

// `xm create` of one more domain (not timed), then `xm shutdown -w` of it
// (timed), o.repeats times, with the xm program `xm`.
Result<RepeatFigures> XmShutdownWait(TxendStack& stack, StackMeter& meter, const ScenarioOptions& o,
                                     const std::string& xm) {
  std::string config = stack.path("wait.cfg");
  std::ofstream(config) << "name = 'benchwait'\nkernel = '" << stack.kernel()
                        << "'\nmemory = " << o.domain_memory_mib
                        << "\ndisk = [ 'phy:/dev/vg0/benchwait,xvda,w' ]\n"
                        << "vif = [ 'bridge=xenbr0' ]\n";
  std::vector<std::string> env{"TXEND_SOCKET=" + stack.xend_socket()};
  return Repeat(meter, o, [&]() -> Result<std::pair<double, size_t>> {
    TXEND_ASSIGN_OR_RETURN(CommandRun created, RunTimed({xm, "create", "-q", config}, env));
    if (created.exit_code != 0) return Status::Error(EIO, "xm create of benchwait failed");
    TXEND_ASSIGN_OR_RETURN(CommandRun down, RunTimed({xm, "shutdown", "-w", "benchwait"}, env));
    if (down.exit_code != 0 || down.out != "Domain benchwait terminated\nAll domains terminated\n")
      return Status::Error(EIO, "xm shutdown -w benchwait: exit " + std::to_string(down.exit_code) +
                                    ", " + down.out);
    return std::make_pair(down.seconds * 1000, down.out.size());
  });
}

void Progress(const ScenarioOptions& o, const char* step) {
  std::fprintf(stderr, "scenario: %d domains: %s\n", o.domains, step);
}

}  // namespace

Result<ScenarioFigures> RunSeedScenario(const ScenarioOptions& options) {
  ScenarioFigures f;
  f.options = options;
  // Dom0 keeps 1 GiB; guests may balloon up to maxmem (twice memory).
  uint64_t host_mib = 2048 + 2ull * options.domain_memory_mib * options.domains;
  TxendStack::Options stack_options;
  stack_options.extra_args = {"--sim-memory", std::to_string(host_mib)};
  TXEND_ASSIGN_OR_RETURN(auto stack, TxendStack::Start(stack_options));
  TXEND_ASSIGN_OR_RETURN(
      auto meter, StackMeter::Open(stack->xs_socket(), stack->xsd().pid(), stack->txend().pid()));

  TXEND_ASSIGN_OR_RETURN(StackSample empty, QuietSample(*meter));
  f.memory.xsd_rss_empty = empty.xsd.rss_bytes;
  f.memory.txend_rss_empty = empty.txend.rss_bytes;
  Progress(options, "creating");
  TXEND_ASSIGN_OR_RETURN(f.create, CreateAll(*stack, *meter, options));
  TXEND_ASSIGN_OR_RETURN(StackSample full, QuietSample(*meter));
  f.memory.xsd_rss = full.xsd.rss_bytes;
  f.memory.txend_rss = full.txend.rss_bytes;

  Progress(options, "polling");
  TXEND_ASSIGN_OR_RETURN(f.poll, PollAll(*stack, *meter, options));
  if (options.detail_reads > 0) {
    Progress(options, "reading one domain back to back");
    TXEND_ASSIGN_OR_RETURN(f.detail, DetailReads(*stack, *meter, options));
  }
  Progress(options, "reading all domains");
  TXEND_ASSIGN_OR_RETURN(f.get_all, GetAll(*stack, *meter, options));
  if (!options.xm_program.empty() && std::filesystem::exists(options.xm_program)) {
    Progress(options, "running xm list");
    TXEND_ASSIGN_OR_RETURN(f.xm_list, XmList(*stack, *meter, options));
    Progress(options, "running xm shutdown -w");
    TXEND_ASSIGN_OR_RETURN(f.xm_shutdown_wait,
                           XmShutdownWait(*stack, *meter, options, options.xm_program));
  }
  if (!options.baseline_xm.empty()) {
    Progress(options, "running the baseline xm's shutdown -w");
    TXEND_ASSIGN_OR_RETURN(f.baseline_shutdown_wait,
                           XmShutdownWait(*stack, *meter, options, options.baseline_xm));
  }
  if (!options.idle_monitors.empty()) {
    TXEND_ASSIGN_OR_RETURN(std::string since, NextEvent(stack->xend_socket()));
    for (int n : options.idle_monitors) {
      Progress(options, ("idle: " + std::to_string(n) + " monitors in GET /xend/events").c_str());
      TXEND_ASSIGN_OR_RETURN(
          IdleFigures idle,
          MeasureIdleMonitors(stack->xend_socket(), since, *meter, n, options.idle_seconds));
      f.idle.push_back(idle);
    }
  }
  if (options.hold) {
    std::fprintf(
        stderr,
        "scenario: holding the stack: TXEND_SOCKET=%s XENSTORED_PATH=%s; press Enter to go on\n",
        stack->xend_socket().c_str(), stack->xs_socket().c_str());
    std::getchar();
  }
  return f;
}

}  // namespace txend::bench
