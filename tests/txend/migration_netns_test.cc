// Migration between two hosts: network namespaces joined by a veth pair, each
// running its own xsd and txend (simulated hypervisor) with the relocation
// service on; driven through the xend HTTP API as libvirt and xm drive it.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <regex>

#include <gtest/gtest.h>

#include "base/numbers.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/netns_pair.h"
#include "tests/support/test_cert.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/transaction.h"

namespace txend::testing {
namespace {

// How long a migration step between the two hosts may take.
constexpr std::chrono::seconds kWait{20};

class MigrationNetnsTest : public ::testing::Test {
 protected:
  // A pool CA and each host's certificate (naming its address), signed by it.
  void SetUp() override {
    auto pair = NetnsPair::Create();
    if (!pair.ok())
      GTEST_SKIP() << "network namespaces unavailable here: " << pair.status().message();
    net_ = std::move(*pair);
    ASSERT_TRUE(WriteSelfSignedCert(Cert("ca"), Key("ca"), {"pool-ca", {}, -60, 86400, true}).ok());
    for (int h = 0; h < 2; ++h)
      ASSERT_TRUE(
          Issue("host" + std::to_string(h), {"host" + std::to_string(h), {net_->address(h)}}).ok());
    for (int h = 0; h < 2; ++h) {
      TxendStack::Options o;
      o.exec_prefix = net_->Exec(h);
      o.extra_args = Args("host" + std::to_string(h));
      auto s = TxendStack::Start(o);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      hosts_[h] = std::move(*s);
    }
  }

  std::string Cert(const std::string& name) { return certs_ / (name + ".pem"); }
  std::string Key(const std::string& name) { return certs_ / (name + "-key.pem"); }
  Status Issue(const std::string& name, const CertOptions& o, const std::string& ca = "ca") {
    return WriteSignedCert(Cert(name), Key(name), Cert(ca), Key(ca), o);
  }

  // A host's arguments: mutual TLS on 8003 with certificate `cert` ("" for
  // none) and the pool CA; the plain port 8002 with the explicit opt-out
  // unless `plain_insecure` is false.
  std::vector<std::string> Args(const std::string& cert, bool plain_insecure = true) {
    std::vector<std::string> a = {
        "--relocation",        "8002",     "--relocation-hosts-allow", "^10\\.213\\.0\\.",
        "--relocation-ssl-ca", Cert("ca"), "--relocation-timeout",     "5"};
    if (plain_insecure) a.push_back("--relocation-insecure");
    if (!cert.empty())
      a.insert(a.end(), {"--relocation-ssl", "8003", "--relocation-ssl-cert", Cert(cert),
                         "--relocation-ssl-key", Key(cert)});
    return a;
  }

  void Restart(int h, std::vector<std::string> args) {
    host(h).set_extra_args(std::move(args));
    ASSERT_TRUE(host(h).RestartTxend(SIGTERM).ok());
  }

  void TearDown() override {
    for (auto& h : hosts_) h.reset();  // daemons die before their namespaces go
    net_.reset();
  }

  TxendStack& host(int h) { return *hosts_[h]; }
  XendReply Get(int h, const std::string& path) { return host(h).client().Get(path); }
  XendReply Post(int h, const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& form) {
    return host(h).client().set_timeout_s(120).Post(path, form);
  }

  void Create(int h, const std::string& name, int memory_mib = 64) {
    auto created = Post(h, "/xend/domain/",
                        {{"op", "create"}, {"config", host(h).Config(name, 2, 1, memory_mib)}});
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_EQ(Post(h, "/xend/domain/" + name, {{"op", "unpause"}}).status, 200);
    ASSERT_TRUE(Eventually(kWait, [&] { return Healthy(h, name); }))
        << "'" << name << "' did not come up";
  }

  // libvirt's request (xenDaemonDomainMigratePerform).
  XendReply Migrate(int from, const std::string& name, bool live, int port = 0, bool ssl = false) {
    return Post(from, "/xend/domain/" + name,
                {{"op", "migrate"},
                 {"destination", net_->address(1 - from)},
                 {"live", live ? "1" : "0"},
                 {"port", std::to_string(port)},
                 {"node", "-1"},
                 {"ssl", ssl ? "1" : "0"},
                 {"change_home_server", "0"},
                 {"resource", "0"}});
  }

  std::string Domid(int h, const std::string& name) {
    auto d = Get(h, "/xend/domain/" + name + "?detail=1");
    return d.status == 200 ? sxp::ChildValue(d.sxp, "domid") : "";
  }

  // Every vbd and vif of the domain has frontend and backend Connected (xenstore, one snapshot).
  int ConnectedDevices(int h, const std::string& domid) {
    auto conn = xs::Connection::Open(host(h).xs_socket());
    if (!conn.ok()) return -1;
    auto snap = xs::Snapshot::Begin(**conn);
    int connected = 0;
    for (const char* type : {"vbd", "vif"}) {
      std::string dir = "/local/domain/" + domid + "/device/" + type;
      for (const auto& id : *snap->DirectoryIfExists(dir)) {
        auto backend = snap->Read(dir + "/" + id + "/backend");
        auto fe = snap->Read(dir + "/" + id + "/state");
        auto be =
            backend.ok() ? snap->Read(*backend + "/state") : Result<std::string>(backend.status());
        connected += fe.ok() && be.ok() && *fe == "4" && *be == "4";
      }
    }
    return connected;
  }

  // Running (not paused, not suspended), its kernel up (vcpus blocked) and its 2 vbds + 1 vif
  // Connected.
  bool Healthy(int h, const std::string& name) {
    auto d = Get(h, "/xend/domain/" + name + "?detail=1");
    return d.status == 200 && sxp::ChildValue(d.sxp, "state") == "-b----" &&
           ConnectedDevices(h, sxp::ChildValue(d.sxp, "domid")) == 3;
  }

  bool Gone(int h, const std::string& name, const std::string& old_domid) {
    auto conn = xs::Connection::Open(host(h).xs_socket());
    auto snap = xs::Snapshot::Begin(**conn);
    return Get(h, "/xend/domain/" + name).status == 404 &&
           !*snap->ReadIfExists("/local/domain/" + old_domid + "/name") &&
           snap->DirectoryIfExists("/local/domain/0/backend/vbd/" + old_domid)->empty();
  }

  // Nothing of an unfinished incoming domain: no domain besides dom0 in the simulated hypervisor's
  // state.
  bool NoDomainsLeft(int h) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(host(h).path("state/sim"), ec))
      if (e.path().filename().string().starts_with("domain-")) return false;
    return Get(h, "/xend/domain").body == "(Domain-0)";
  }

  // Starts a migration on a thread, does `what` once the source reports
  // `phase`, and returns the source's reply.
  XendReply MigrateAnd(const std::string& name, bool live, const std::string& phase,
                       const std::function<void()>& what) {
    auto reply = std::async(std::launch::async, [&] { return Migrate(0, name, live); });
    bool seen = Eventually(kWait, [&] {
      auto p = Get(0, "/xend/domain/" + name + "?op=migrate_progress");
      return sxp::ChildValue(p.sxp, "phase") == phase;
    });
    EXPECT_TRUE(seen) << "the migration never reached " << phase;
    what();
    return reply.get();
  }

  TempDir certs_;
  std::unique_ptr<NetnsPair> net_;
  std::unique_ptr<TxendStack> hosts_[2];
};

TEST_F(MigrationNetnsTest, LiveThereNonLiveBackWithDisksAndVif) {
  Create(0, "mover");
  std::string first = Domid(0, "mover");
  auto there = Migrate(0, "mover", true);
  ASSERT_EQ(there.status, 200) << there.body;
  EXPECT_EQ(sxp::Name(there.sxp), "migrate");
  EXPECT_EQ(sxp::ChildValue(there.sxp, "destination"), net_->address(1));
  EXPECT_EQ(sxp::ChildValue(there.sxp, "port"), "8002");
  EXPECT_EQ(sxp::ChildValue(there.sxp, "live"), "1");
  EXPECT_GE(std::stoi(sxp::ChildValue(there.sxp, "rounds")), 2);
  EXPECT_GT(std::stoull(sxp::ChildValue(there.sxp, "bytes_sent")), 64ull << 20);
  EXPECT_LE(std::stod(sxp::ChildValue(there.sxp, "downtime")),
            std::stod(sxp::ChildValue(there.sxp, "total_time")));
  EXPECT_TRUE(Gone(0, "mover", first));
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(1, "mover"); }));
  EXPECT_EQ(Domid(1, "mover"), sxp::ChildValue(there.sxp, "remote_domid"));
  std::string log = ReadFile(host(0).log_file());
  EXPECT_NE(log.find("migrated 'mover' to " + net_->address(1) + ":8002"), std::string::npos)
      << log;
  EXPECT_NE(log.find("downtime"), std::string::npos);
  EXPECT_TRUE(Eventually(kWait, [&] {  // logged once the destination's side is over
    return ReadFile(host(1).log_file()).find("received 'mover' from " + net_->address(0)) !=
           std::string::npos;
  }));

  std::string second = Domid(1, "mover");
  auto back = Migrate(1, "mover", false, 8002);
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(sxp::ChildValue(back.sxp, "rounds"), "1");
  EXPECT_TRUE(Gone(1, "mover", second));
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(0, "mover"); }));
  EXPECT_TRUE(NoDomainsLeft(1));
}

TEST_F(MigrationNetnsTest, OverTheSslRelocationServer) {
  Create(0, "sealed");
  std::string first = Domid(0, "sealed");
  auto there = Migrate(0, "sealed", true, 0, true);
  ASSERT_EQ(there.status, 200) << there.body;
  EXPECT_EQ(sxp::ChildValue(there.sxp, "port"), "8003");
  EXPECT_EQ(sxp::ChildValue(there.sxp, "ssl"), "1");
  EXPECT_TRUE(Gone(0, "sealed", first));
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(1, "sealed"); }));
  EXPECT_NE(ReadFile(host(1).log_file())
                .find("incoming migration from " + net_->address(0) + " (ssl) by CN=host0"),
            std::string::npos);
}

// Without the opt-out the plain port takes no migration: the source is told
// why, the domain runs on, and the destination has nothing.
TEST_F(MigrationNetnsTest, ThePlainPortRefusesUnauthenticatedPeersByDefault) {
  Restart(1, Args("host1", false));
  Create(0, "outsider");
  auto refused = Migrate(0, "outsider", true);
  EXPECT_EQ(refused.status, 500);
  EXPECT_NE(refused.body.find("the destination refused: this host takes no migrations from "
                              "unauthenticated peers"),
            std::string::npos)
      << refused.body;
  EXPECT_NE(refused.body.find("(txend-relocation-insecure yes)"), std::string::npos);
  EXPECT_TRUE(Healthy(0, "outsider"));
  EXPECT_TRUE(NoDomainsLeft(1));
  EXPECT_TRUE(Eventually(kWait, [&] {
    return ReadFile(host(1).log_file())
               .find("incoming migration from " + net_->address(0) +
                     " failed: this host takes no migrations") != std::string::npos;
  }));
}

// Each peer that cannot prove who it is (or is not who the source asked for)
// is refused in the TLS handshake: both ends say why, the domain runs on at
// the source, and the destination is left with nothing.
TEST_F(MigrationNetnsTest, UnauthenticatedPeersAreRefusedOnBothEnds) {
  Create(0, "guarded");
  ASSERT_TRUE(
      WriteSelfSignedCert(Cert("rogue-ca"), Key("rogue-ca"), {"rogue-ca", {}, -60, 86400, true})
          .ok());
  ASSERT_TRUE(Issue("stranger", {"host0", {net_->address(0)}}, "rogue-ca").ok());
  ASSERT_TRUE(Issue("expired", {"host0", {net_->address(0)}, -2 * 86400, -86400}).ok());
  ASSERT_TRUE(Issue("misnamed", {"host1", {"10.213.0.99", "elsewhere.example"}}).ok());
  struct Case {
    const char* what;
    int restarted;                 // the host whose certificate changes
    std::string cert;              // its certificate ("" for none)
    const char* source_says;       // in the source's reply
    const char* destination_logs;  // in the destination's log, after "failed: "
  };
  const Case cases[] = {
      {"a certificate of an unknown CA", 0, "stranger", "unknown ca",
       "certificate verify failed (peer certificate: unable to get local issuer certificate)"},
      {"no certificate", 0, "", "certificate required", "peer did not return a certificate"},
      {"an expired certificate", 0, "expired", "certificate expired",
       "certificate verify failed (peer certificate: certificate has expired)"},
      {"a destination not named in its certificate", 1, "misnamed",
       "certificate verify failed (peer certificate: IP address mismatch)", "TLS handshake"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Restart(c.restarted, Args(c.cert));
    size_t logged = ReadFile(host(1).log_file()).size();
    auto refused = Migrate(0, "guarded", true, 0, true);
    EXPECT_EQ(refused.status, 500);
    EXPECT_NE(refused.body.find(c.source_says), std::string::npos) << refused.body;
    EXPECT_NE(refused.body.find("keeps running here"), std::string::npos) << refused.body;
    EXPECT_TRUE(Eventually(kWait, [&] {
      std::string log = ReadFile(host(1).log_file()).substr(logged);
      size_t failed = log.find("incoming migration from " + net_->address(0) + " failed: ");
      return failed != std::string::npos &&
             log.find(c.destination_logs, failed) != std::string::npos;
    })) << ReadFile(host(1).log_file()).substr(logged);
    EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(0, "guarded"); }));
    EXPECT_TRUE(NoDomainsLeft(1));
    Restart(c.restarted, Args("host" + std::to_string(c.restarted)));
  }
  auto moved = Migrate(0, "guarded", true, 0, true);  // with both certificates in order
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(1, "guarded"); }));
}

// A domain whose disk is one of dom0's own devices is refused when it
// arrives, with the rule named, before a byte of its memory is sent.
TEST_F(MigrationNetnsTest, AForbiddenDiskIsRefusedBeforeAnyMemoryIsSent) {
  std::string config = host(0).Config("grabby");
  size_t disk = config.find("phy:/dev/vg0/grabby-0");
  ASSERT_NE(disk, std::string::npos);
  config.replace(disk, std::string("phy:/dev/vg0/grabby-0").size(), "phy:/dev/sda");
  ASSERT_EQ(Post(0, "/xend/domain/", {{"op", "create"}, {"config", config}}).status, 201);
  ASSERT_EQ(Post(0, "/xend/domain/grabby", {{"op", "unpause"}}).status, 200);
  auto refused = Migrate(0, "grabby", true, 0, true);
  EXPECT_EQ(refused.status, 500);
  EXPECT_NE(refused.body.find("the destination refused: refused by the incoming-domain policy: "
                              "disk xvda"),
            std::string::npos)
      << refused.body;
  EXPECT_NE(refused.body.find("phy:/dev/sda"), std::string::npos);
  EXPECT_TRUE(NoDomainsLeft(1));
  // The destination logs what it received: the hello (config) and the TLS handshake, no memory.
  std::string received;  // the byte count the destination logged
  EXPECT_TRUE(Eventually(kWait, [&] {
    static const std::regex kRefusal(
        "failed: refused by the incoming-domain policy[^\\n]* \\(([0-9]+) bytes received\\)");
    std::string log = ReadFile(host(1).log_file());
    std::smatch m;
    if (!std::regex_search(log, m, kRefusal)) return false;
    received = m[1].str();
    return true;
  })) << ReadFile(host(1).log_file());
  auto bytes = ParseInteger<uint64_t>(received);
  ASSERT_TRUE(bytes.ok()) << received;
  EXPECT_LT(*bytes, 64u << 10);
  auto state = Get(0, "/xend/domain/grabby?detail=1");
  EXPECT_EQ(sxp::ChildValue(state.sxp, "state"), "-b----");
}

TEST_F(MigrationNetnsTest, RefusalsAndBadRequestsLeaveTheDomainRunning) {
  Create(0, "twin");
  Create(1, "twin");
  auto clash = Migrate(0, "twin", true);
  EXPECT_EQ(clash.status, 500);
  EXPECT_NE(clash.body.find("xend.err"), std::string::npos);
  EXPECT_NE(clash.body.find("already exists"), std::string::npos) << clash.body;
  EXPECT_TRUE(Healthy(0, "twin"));
  auto no_server = Migrate(0, "twin", false, 8009);
  EXPECT_EQ(no_server.status, 500);
  EXPECT_NE(no_server.body.find("Connection refused"), std::string::npos) << no_server.body;
  auto ssl_to_plain = Migrate(0, "twin", true, 8002, true);
  EXPECT_EQ(ssl_to_plain.status, 500);
  EXPECT_NE(ssl_to_plain.body.find("keeps running here"), std::string::npos) << ssl_to_plain.body;
  EXPECT_EQ(Post(0, "/xend/domain/twin", {{"op", "migrate"}}).status, 400);
  EXPECT_EQ(
      Post(0, "/xend/domain/nosuch", {{"op", "migrate"}, {"destination", net_->address(1)}}).status,
      404);
  EXPECT_TRUE(Healthy(0, "twin"));
  EXPECT_TRUE(Healthy(1, "twin"));
}

// The destination's txend dies during the stream: in the pre-copy round of a
// live migration (the domain still runs) and after the suspend of a non-live
// one (the domain must be resumed). The source keeps it running, and the
// restarted destination discards what it had begun.
TEST_F(MigrationNetnsTest, DestinationKilledMidMigrationLeavesTheSourceRunning) {
  Create(0, "big", 1024);
  std::string domid = Domid(0, "big");
  for (bool live : {true, false}) {
    SCOPED_TRACE(live ? "live" : "non-live");
    auto reply = MigrateAnd("big", live, live ? "precopy" : "stop-and-copy",
                            [&] { host(1).txend().Stop(SIGKILL); });
    EXPECT_EQ(reply.status, 500) << reply.body;
    EXPECT_NE(reply.body.find("keeps running here"), std::string::npos) << reply.body;
    EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(0, "big"); }));
    EXPECT_EQ(Domid(0, "big"), domid);
    ASSERT_TRUE(host(1).RestartTxend(SIGKILL).ok());
    EXPECT_TRUE(Eventually(kWait, [&] { return NoDomainsLeft(1); }));
  }
  auto finally = Migrate(0, "big", true);  // and the destination still takes it afterwards
  ASSERT_EQ(finally.status, 200) << finally.body;
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(1, "big"); }));
}

// The link goes down during the pre-copy round: both ends time out (5 s
// without progress here), the source runs on and the destination cleans up.
TEST_F(MigrationNetnsTest, ANetworkCutTimesOutOnBothEnds) {
  Create(0, "cut", 1024);
  auto reply =
      MigrateAnd("cut", true, "precopy", [&] { ASSERT_TRUE(net_->SetLink(0, false).ok()); });
  EXPECT_EQ(reply.status, 500);
  EXPECT_NE(reply.body.find("accepted no data for 5 s"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("keeps running here"), std::string::npos);
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(0, "cut"); }));
  EXPECT_TRUE(Eventually(kWait, [&] { return NoDomainsLeft(1); }));
  EXPECT_TRUE(Eventually(kWait, [&] {
    return ReadFile(host(1).log_file()).find("the source sent nothing for 5 s") !=
           std::string::npos;
  }));
  ASSERT_TRUE(net_->SetLink(0, true).ok());
  auto later = Migrate(0, "cut", true);
  ASSERT_EQ(later.status, 200) << later.body;
  EXPECT_TRUE(Eventually(kWait, [&] { return Healthy(1, "cut"); }));
}

}  // namespace
}  // namespace txend::testing
