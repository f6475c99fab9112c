// Migration between two simulated hosts in one process (each with its own
// xsd, hypervisor, backends and guest kernels) over loopback TCP, and against
// scripted peers that break the relocation protocol at each step.
#include <unistd.h>

#include <future>
#include <sys/socket.h>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/sockets.h"
#include "tests/support/test_cert.h"
#include "tests/toolstack/sim_host.h"
#include "toolstack/hypervisor/sim/save_stream.h"
#include "toolstack/migration/migration_protocol.h"

namespace txend::toolstack {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

// How long a simulated guest or backend may take to react.
constexpr std::chrono::seconds kWait{10};

// A listening socket on 127.0.0.1 with a free port.
class Listener {
 public:
  Listener() : listener_(testing::ListenOnLoopback()) {
    EXPECT_TRUE(listener_.fd.valid()) << "cannot listen on 127.0.0.1";
  }
  uint16_t port() const { return listener_.port; }
  TcpSocket Accept() {
    return TcpSocket(UniqueFd(accept4(listener_.fd.get(), nullptr, nullptr, SOCK_CLOEXEC)));
  }

 private:
  testing::LoopbackListener listener_;
};

// Reads one whole save stream from `fd` (what a destination would restore).
Status ConsumeSaveStream(int fd) {
  SaveStreamReader reader(fd);
  TXEND_RETURN_IF_ERROR(reader.ReadHeader());
  while (true) {
    TXEND_ASSIGN_OR_RETURN(Record r, reader.ReadRecord());
    if (r.type == RecordType::kEnd) return Status::Ok();
  }
}

class MigrationTest : public ::testing::Test {
 protected:
  static Result<DomainRecord> Get(SimHost& host, const std::string& ref) {
    return host.toolstack->queries().Get(ref);
  }
  static bool Runs(SimHost& host, const std::string& ref) {
    auto r = Get(host, ref);
    return r.ok() && r->info && !r->info->paused && !r->info->shutdown && !r->info->crashed;
  }
  static bool AllConnected(SimHost& host, const std::string& ref) {
    auto r = Get(host, ref);
    if (!r.ok() || !r->info || r->devices.size() != 3) return false;
    for (const auto& d : r->devices)
      if (d.backend_state != XenbusState::kConnected || d.frontend_state != XenbusState::kConnected)
        return false;
    return true;
  }
  // Running, unpaused, its kernel up and every device Connected.
  static bool Healthy(SimHost& host, const std::string& ref) {
    auto r = Get(host, ref);
    return Runs(host, ref) && AllConnected(host, ref) &&
           host.guests->kernel_running(r->info->domid);
  }
  static size_t DomainCount(SimHost& host) { return host.sim->ListDomains()->size(); }

  uint32_t Start(SimHost& host, const std::string& name) {
    auto created = host.toolstack->lifecycle().Create(host.Valid(name), false);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(host, name); }));
    return created.ok() ? created->info->domid : 0;
  }

  // The I/O timeout of migrations that should work: it only bounds a failing test (5 s of
  // silence happened between precopy rounds under ASan on a host at load 20).
  static constexpr std::chrono::seconds kHealthyIo{30};

  // `to` receives one migration on a thread while `from` sends `name`.
  // With `client` and `server` set, over TLS.
  Result<MigrationResult> Migrate(SimHost& from, SimHost& to, const std::string& name, bool live,
                                  std::function<void(const MigrationProgress&)> progress = {},
                                  std::optional<TlsOptions> client = {},
                                  std::optional<TlsOptions> server = {}) {
    Listener listener;
    auto incoming = std::async(std::launch::async, [&]() -> Result<IncomingMigration> {
      TcpSocket s = listener.Accept();
      (void)s.SetIoTimeout(kHealthyIo);
      if (server) TXEND_RETURN_IF_ERROR(s.StartTls(true, *server));
      return to.toolstack->migration().ReceiveMigration(s, kHealthyIo);
    });
    MigrateRequest r{"127.0.0.1", listener.port(),     live,  2s,
                     kHealthyIo,  std::move(progress), client};
    auto result = from.toolstack->migration().Migrate(name, r);
    auto in = incoming.get();
    EXPECT_EQ(in.ok(), result.ok()) << in.status().ToString();
    return result;
  }

  // Migrates `name` to a scripted destination on a thread.
  Result<MigrationResult> MigrateTo(const std::string& name, bool live,
                                    std::function<void(int fd)> script) {
    Listener listener;
    std::thread peer([&] {
      TcpSocket s = listener.Accept();
      script(s.fd());
    });
    auto result = src_.toolstack->migration().Migrate(
        name, {"127.0.0.1", listener.port(), live, 2s, 5s, {}, {}});
    peer.join();
    return result;
  }

  SimHost src_;
  SimHost dst_;
};

// An HVM guest moves with its device model: memory, then qemu's device state;
// the destination's qemu loads it and serves VNC, the source's is gone.
TEST_F(MigrationTest, HvmGuestMovesWithItsDeviceModelState) {
  auto created = src_.toolstack->lifecycle().Create(src_.Valid(src_.HvmConfig("hvm")), false);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  uint32_t domid = created->info->domid;
  // Running with its kernel up (Healthy counts 3 devices; this guest also has a vfb).
  auto up = [](SimHost& host) {
    auto r = Get(host, "hvm");
    return Runs(host, "hvm") && host.guests->kernel_running(r->info->domid);
  };
  ASSERT_TRUE(Eventually(kWait, [&] { return up(src_); }));
  uint64_t digest = *src_.sim->MemoryDigest(domid);
  EXPECT_TRUE(src_.toolstack->device_models().Running(domid));
  auto moved = Migrate(src_, dst_, "hvm", true);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_FALSE(src_.toolstack->device_models().Running(domid));
  ASSERT_TRUE(Eventually(kWait, [&] { return up(dst_); }));
  uint32_t there = Get(dst_, "hvm")->info->domid;
  EXPECT_EQ(*dst_.sim->MemoryDigest(there), digest);
  EXPECT_TRUE(dst_.toolstack->device_models().Running(there));
  EXPECT_EQ(dst_.Read("/local/domain/0/device-model/" + std::to_string(there) + "/state"),
            "running");
  EXPECT_TRUE(dst_.Read("/local/domain/" + std::to_string(there) + "/console/vnc-port"));
  std::string log = testing::ReadFile(dst_.path("log/qemu-dm-hvm.log"));
  EXPECT_NE(log.find("restored"), std::string::npos) << log;
  ASSERT_TRUE(dst_.toolstack->lifecycle().Destroy("hvm").ok());
  EXPECT_FALSE(dst_.toolstack->device_models().Running(there));
}

TEST_F(MigrationTest, LiveThereAndNonLiveBackKeepsMemoryAndDevices) {
  uint32_t domid = Start(src_, "mover");
  uint64_t digest = *src_.sim->MemoryDigest(domid);
  std::string uuid = Get(src_, "mover")->config->uuid;
  std::vector<std::string> phases;
  auto there = Migrate(src_, dst_, "mover", true, [&](const MigrationProgress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
  });
  ASSERT_TRUE(there.ok()) << there.status().ToString();
  EXPECT_EQ(phases, (std::vector<std::string>{"precopy", "stop-and-copy", "handover", "done"}));
  EXPECT_GE(there->rounds, 2u);  // a full pre-copy round, then the stop-and-copy one
  EXPECT_GT(there->bytes_sent, 128ull << 20);
  EXPECT_LE(there->downtime_s, there->total_s);
  EXPECT_FALSE(Get(src_, "mover").ok());
  EXPECT_EQ(DomainCount(src_), 1u);
  EXPECT_FALSE(src_.Read("/local/domain/" + std::to_string(domid)).has_value());
  ASSERT_TRUE(Eventually(kWait, [&] { return Healthy(dst_, "mover"); }));
  auto moved = Get(dst_, "mover");
  EXPECT_EQ(moved->info->domid, there->remote_domid);
  EXPECT_EQ(moved->config->uuid, uuid);
  EXPECT_EQ(*dst_.sim->MemoryDigest(there->remote_domid), digest);

  auto back = Migrate(dst_, src_, "mover", false);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->rounds, 1u);
  EXPECT_FALSE(Get(dst_, "mover").ok());
  EXPECT_EQ(DomainCount(dst_), 1u);
  ASSERT_TRUE(Eventually(kWait, [&] { return Healthy(src_, "mover"); }));
  EXPECT_EQ(*src_.sim->MemoryDigest(back->remote_domid), digest);
}

TEST_F(MigrationTest, PagesADirtyingGuestWritesDuringPrecopyArrive) {
  SimHost busy(SimWorkload{64, 4});  // 64 MiB/s into a 4 MiB working set
  Start(busy, "busy");
  std::optional<uint64_t> frozen;  // the memory once suspended
  auto result = Migrate(busy, dst_, "busy", true, [&](const MigrationProgress& p) {
    if (p.phase == "handover") frozen = *busy.sim->MemoryDigest(Get(busy, "busy")->info->domid);
  });
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(frozen.has_value());
  EXPECT_EQ(*dst_.sim->MemoryDigest(result->remote_domid), *frozen);
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(dst_, "busy"); }));
}

TEST_F(MigrationTest, ANameTakenOnTheDestinationIsRefusedUpFront) {
  uint32_t domid = Start(src_, "clash");
  Start(dst_, "clash");
  uint64_t digest = *src_.sim->MemoryDigest(domid);
  auto result = Migrate(src_, dst_, "clash", true);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), EEXIST);
  EXPECT_NE(result.status().message().find("the destination refused"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("keeps running here"), std::string::npos);
  EXPECT_TRUE(Healthy(src_, "clash"));
  EXPECT_EQ(*src_.sim->MemoryDigest(domid), digest);
  EXPECT_EQ(DomainCount(dst_), 2u);
}

TEST_F(MigrationTest, NoRelocationServerIsAClearError) {
  Start(src_, "lonely");
  auto refused =
      src_.toolstack->migration().Migrate("lonely", {"127.0.0.1", 1, false, 2s, 5s, {}, {}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ECONNREFUSED);
  EXPECT_NE(refused.status().message().find("cannot connect to 127.0.0.1:1"), std::string::npos);
  EXPECT_TRUE(Healthy(src_, "lonely"));
  EXPECT_EQ(src_.toolstack->migration()
                .Migrate("nobody", {"127.0.0.1", 1, false, 2s, 5s, {}, {}})
                .status()
                .code(),
            ESRCH);
}

// The destination dies while the image streams: live (still running) and
// non-live (already suspended) sources both go on running.
TEST_F(MigrationTest, ADestinationDyingMidStreamLeavesTheSourceRunning) {
  uint32_t domid = Start(src_, "stay");
  uint64_t digest = *src_.sim->MemoryDigest(domid);
  for (bool live : {true, false}) {
    SCOPED_TRACE(live ? "live" : "non-live");
    auto result = MigrateTo("stay", live, [](int fd) {
      ASSERT_TRUE(ReadHello(fd).ok());
      ASSERT_TRUE(SendMessage(fd, {MessageType::kAccept, 0, ""}).ok());
      std::string some(1 << 20, '\0');
      EXPECT_TRUE(RecvExact(fd, some.data(), some.size()).ok());
    });  // closes with unread data: a reset
    ASSERT_FALSE(result.ok());
    EXPECT_TRUE(result.status().code() == ECONNRESET || result.status().code() == EPIPE)
        << result.status().ToString();
    EXPECT_NE(result.status().message().find("keeps running here"), std::string::npos);
    EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(src_, "stay"); }));
    EXPECT_EQ(Get(src_, "stay")->info->domid, domid);
    EXPECT_EQ(*src_.sim->MemoryDigest(domid), digest);
  }
}

TEST_F(MigrationTest, ADestinationReportingFailureIsQuotedAndTheSourceResumes) {
  Start(src_, "resumed");
  auto result = MigrateTo("resumed", false, [](int fd) {
    ASSERT_TRUE(ReadHello(fd).ok());
    ASSERT_TRUE(SendMessage(fd, {MessageType::kAccept, 0, ""}).ok());
    ASSERT_TRUE(ConsumeSaveStream(fd).ok());
    ASSERT_TRUE(SendMessage(fd, {MessageType::kReady, 0, ""}).ok());
    ASSERT_TRUE(Expect(fd, MessageType::kGo).ok());
    ASSERT_TRUE(SendMessage(fd, {MessageType::kFail, ETIMEDOUT, "vif 0 did not connect"}).ok());
  });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ETIMEDOUT);
  EXPECT_NE(result.status().message().find("the destination failed: vif 0 did not connect"),
            std::string::npos);
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(src_, "resumed"); }));
}

TEST_F(MigrationTest, LosingTheDestinationAfterHandoverKeepsTheSourceSuspended) {
  uint32_t domid = Start(src_, "limbo");
  auto result = MigrateTo("limbo", false, [](int fd) {
    ASSERT_TRUE(ReadHello(fd).ok());
    ASSERT_TRUE(SendMessage(fd, {MessageType::kAccept, 0, ""}).ok());
    ASSERT_TRUE(ConsumeSaveStream(fd).ok());
    ASSERT_TRUE(SendMessage(fd, {MessageType::kReady, 0, ""}).ok());
    ASSERT_TRUE(Expect(fd, MessageType::kGo).ok());
  });  // closes without DONE or FAIL
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), EIO);
  EXPECT_NE(result.status().message().find("kept suspended here"), std::string::npos)
      << result.status().message();
  auto info = src_.sim->GetDomainInfo(domid);
  ASSERT_TRUE(info.ok());  // not destroyed
  EXPECT_TRUE(info->shutdown);
  EXPECT_EQ(info->shutdown_reason, ShutdownReason::kSuspend);
}

TEST_F(MigrationTest, AStreamCutShortLeavesNothingOnTheDestination) {
  Listener listener;
  auto incoming = std::async(std::launch::async, [&] {
    TcpSocket s = listener.Accept();
    return dst_.toolstack->migration().ReceiveMigration(s, 5s);
  });
  auto sock = TcpSocket::Connect("127.0.0.1", listener.port(), 2s);
  ASSERT_TRUE(sock.ok());
  DomainConfig config = dst_.Config("torn");
  config.uuid = "6a4c8e21-5b9d-4f0e-8a7c-1d2e3f405162";
  ASSERT_TRUE(SendAll(sock->fd(), EncodeHello({true, sxp::ToString(ToSxp(config))})).ok());
  ASSERT_TRUE(Expect(sock->fd(), MessageType::kAccept).ok());
  SaveStreamWriter writer(sock->fd());
  ASSERT_TRUE(writer.WriteHeader().ok());
  SavedDomain image{false, 0, 2, 32768, 32768, 42};
  ASSERT_TRUE(writer.WriteRecord(RecordType::kDomain, EncodeDomain(image)).ok());
  sock->Shutdown();
  auto in = incoming.get();
  ASSERT_FALSE(in.ok());
  EXPECT_NE(in.status().message().find("truncated"), std::string::npos) << in.status().ToString();
  EXPECT_EQ(DomainCount(dst_), 1u);
  EXPECT_FALSE(Get(dst_, "torn").ok());
  auto snap = xs::Snapshot::Begin(*dst_.xs);
  EXPECT_EQ(*snap->DirectoryIfExists("/vm"), std::vector<std::string>{});
  EXPECT_EQ(*snap->DirectoryIfExists("/local/domain"), std::vector<std::string>{"0"});
}

TEST_F(MigrationTest, OverTlsToADestinationWhoseCertificateIsTrusted) {
  std::string cert = dst_.path("cert.pem"), key = dst_.path("key.pem");
  ASSERT_TRUE(txend::testing::WriteSelfSignedCert(cert, key).ok());
  uint32_t domid = Start(src_, "secret");
  uint64_t digest = *src_.sim->MemoryDigest(domid);
  auto result = Migrate(src_, dst_, "secret", true, {}, TlsOptions{"", "", cert, ""},
                        TlsOptions{cert, key, "", ""});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT(result->bytes_sent, 128ull << 20);
  EXPECT_FALSE(Get(src_, "secret").ok());
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(dst_, "secret"); }));
  EXPECT_EQ(*dst_.sim->MemoryDigest(result->remote_domid), digest);
}

TEST_F(MigrationTest, TlsMismatchesFailBeforeTheDomainMoves) {
  std::string cert = dst_.path("cert.pem"), key = dst_.path("key.pem");
  std::string other = dst_.path("other.pem"), other_key = dst_.path("other-key.pem");
  ASSERT_TRUE(txend::testing::WriteSelfSignedCert(cert, key).ok());
  ASSERT_TRUE(txend::testing::WriteSelfSignedCert(other, other_key).ok());
  Start(src_, "careful");
  auto untrusted = Migrate(src_, dst_, "careful", true, {}, TlsOptions{"", "", other, ""},
                           TlsOptions{cert, key, "", ""});
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), EPROTO);
  EXPECT_NE(untrusted.status().message().find("certificate verify failed"), std::string::npos)
      << untrusted.status().message();
  auto tls_to_plain =
      Migrate(src_, dst_, "careful", true, {}, TlsOptions{"", "", cert, ""}, std::nullopt);
  EXPECT_FALSE(tls_to_plain.ok());
  auto plain_to_tls =
      Migrate(src_, dst_, "careful", false, {}, std::nullopt, TlsOptions{cert, key, "", ""});
  EXPECT_FALSE(plain_to_tls.ok());
  EXPECT_NE(plain_to_tls.status().message().find("keeps running here"), std::string::npos);
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(src_, "careful"); }));
  EXPECT_EQ(DomainCount(dst_), 1u);
}

TEST_F(MigrationTest, GarbageIsNotAMigration) {
  Listener listener;
  auto incoming = std::async(std::launch::async, [&] {
    TcpSocket s = listener.Accept();
    return dst_.toolstack->migration().ReceiveMigration(s, 5s);
  });
  auto sock = TcpSocket::Connect("127.0.0.1", listener.port(), 2s);
  ASSERT_TRUE(sock.ok());
  ASSERT_TRUE(SendAll(sock->fd(), "GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok());
  auto in = incoming.get();
  EXPECT_EQ(in.status().code(), EPROTO);
  EXPECT_EQ(DomainCount(dst_), 1u);
}

}  // namespace
}  // namespace txend::toolstack
