// The TCP API with mutual TLS, driven by curl: clients without a certificate
// the CA signed are refused in the handshake, the rest are served, and every
// request that changes something is audited with who asked.
#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/test_cert.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

constexpr std::chrono::seconds kWait{10};

class TcpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(WriteSelfSignedCert(Path("ca"), Key("ca"), {"pool-ca", {}, -60, 86400, true}).ok());
    ASSERT_TRUE(Issue("server", "this-host").ok());
    ASSERT_TRUE(Issue("admin", "admin").ok());
    TxendStack::Options o;
    o.tcp_port = FreeTcpPort();
    o.tcp_insecure = false;
    o.extra_args = {"--tcp-cert",  Path("server"), "--tcp-key",
                    Key("server"), "--tcp-ca",     Path("ca")};
    auto s = TxendStack::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    url_ = "https://127.0.0.1:" + std::to_string(o.tcp_port);
  }

  std::string Path(const std::string& name) { return dir_ / (name + ".pem"); }
  std::string Key(const std::string& name) { return dir_ / (name + "-key.pem"); }
  Status Issue(const std::string& name, const std::string& cn, const std::string& ca = "ca") {
    return WriteSignedCert(Path(name), Key(name), Path(ca), Key(ca), {cn, {"127.0.0.1"}});
  }

  // curl with the pool CA, as client `cert` ("" for none); its output ends with the HTTP status.
  CommandResult Curl(const std::string& cert, const std::string& args) {
    std::string cmd = "curl -sS --max-time 10 --cacert " + Path("ca") + " -w '\\n%{http_code}' ";
    if (!cert.empty()) cmd += "--cert " + Path(cert) + " --key " + Key(cert) + " ";
    return RunCommand(cmd + args + " 2>&1");
  }
  // op=create with `config`, form-encoded by curl from a file.
  std::string CreateArgs(const std::string& config) {
    WriteFile(dir_ / "config.sxp", std::vector<uint8_t>(config.begin(), config.end()));
    return "--data-urlencode op=create --data-urlencode config@" + (dir_ / "config.sxp") + " " +
           url_ + "/xend/domain/";
  }
  bool Logged(const std::string& text) {
    return Eventually(kWait,
                      [&] { return ReadFile(stack_->log_file()).find(text) != std::string::npos; });
  }

  TempDir dir_;
  std::unique_ptr<TxendStack> stack_;
  std::string url_;
};

TEST_F(TcpTlsTest, ClientsWithoutACertificateTheCaSignedAreRefused) {
  auto none = Curl("", url_ + "/xend/node/");
  EXPECT_NE(none.exit_code, 0) << none.out;
  EXPECT_TRUE(
      Logged("TCP API: refused 127.0.0.1: TLS handshake failed: peer did not return a "
             "certificate"))
      << ReadFile(stack_->log_file());

  ASSERT_TRUE(
      WriteSelfSignedCert(Path("rogue-ca"), Key("rogue-ca"), {"rogue-ca", {}, -60, 86400, true})
          .ok());
  ASSERT_TRUE(Issue("stranger", "admin", "rogue-ca").ok());
  auto stranger = Curl("stranger", url_ + "/xend/node/");
  EXPECT_NE(stranger.exit_code, 0) << stranger.out;
  EXPECT_TRUE(Logged("TLS handshake failed: certificate verify failed"));

  auto plain = RunCommand("curl -sS --max-time 10 -o /dev/null -w '%{http_code}' http://" +
                          url_.substr(8) + "/xend/node/ 2>&1");
  EXPECT_EQ(plain.out.find("200"), std::string::npos) << plain.out;
}

TEST_F(TcpTlsTest, AValidCertificateIsServedAndAudited) {
  auto node = Curl("admin", url_ + "/xend/node/");
  ASSERT_EQ(node.exit_code, 0) << node.out;
  EXPECT_TRUE(node.out.ends_with("\n200")) << node.out;

  auto created = Curl("admin", CreateArgs(stack_->Config("remote", 1, 1)));
  ASSERT_TRUE(created.out.ends_with("\n201")) << created.out;
  EXPECT_TRUE(Logged("audit: CN=admin POST /xend/domain/ op=create: 201 ok"))
      << ReadFile(stack_->log_file());
  auto destroyed = Curl("admin", "-d op=destroy " + url_ + "/xend/domain/remote");
  EXPECT_TRUE(destroyed.out.ends_with("\n202")) << destroyed.out;
  EXPECT_TRUE(Logged("audit: CN=admin POST /xend/domain/remote op=destroy: 202 ok"));

  // Over TCP a config passes the incoming-domain policy: dom0's disks are refused, named.
  std::string grabby = stack_->Config("grabby", 1, 0);
  grabby.replace(grabby.find("phy:/dev/vg0/grabby-0"), 21, "phy:/dev/sda");
  auto refused = Curl("admin", CreateArgs(grabby));
  EXPECT_TRUE(refused.out.ends_with("\n500")) << refused.out;
  EXPECT_NE(refused.out.find("refused by the incoming-domain policy: disk xvda"), std::string::npos)
      << refused.out;
  EXPECT_NE(refused.out.find("phy:/dev/sda"), std::string::npos);
  EXPECT_TRUE(Logged("audit: CN=admin POST /xend/domain/ op=create: 500 "));
  EXPECT_EQ(stack_->client().Get("/xend/domain/grabby").status, 404);

  // The unix socket needs no certificate: root is who asked.
  auto local = stack_->client().Post("/xend/domain/", {{"op", "create"}, {"config", grabby}});
  EXPECT_EQ(local.status, 201) << local.body;
  EXPECT_TRUE(Logged("audit: root via unix socket POST /xend/domain/ op=create: 201 ok"));
}

TEST_F(TcpTlsTest, XmSpeaksHttpsWithItsCertificate) {
  std::string server = "XM_SERVER=" + url_ + "/ XM_CA=" + Path("ca") + " ";
  auto listed = RunCommand(server + "XM_CERT=" + Path("admin") + " XM_KEY=" + Key("admin") +
                           " " TXEND_BIN_DIR "/xm list 2>&1");
  EXPECT_EQ(listed.exit_code, 0) << listed.out;
  EXPECT_NE(listed.out.find("\nDomain-0 "), std::string::npos) << listed.out;
  auto anonymous = RunCommand(server + TXEND_BIN_DIR "/xm list 2>&1");
  EXPECT_NE(anonymous.exit_code, 0);
  EXPECT_EQ(anonymous.out.find("Domain-0"), std::string::npos) << anonymous.out;
  // The server's certificate names 127.0.0.1, not localhost.
  std::string by_name = "XM_SERVER=https://localhost:" + url_.substr(url_.rfind(':') + 1) + "/";
  auto misnamed = RunCommand(by_name + " XM_CA=" + Path("ca") + " XM_CERT=" + Path("admin") +
                             " XM_KEY=" + Key("admin") + " " TXEND_BIN_DIR "/xm list 2>&1");
  EXPECT_NE(misnamed.exit_code, 0);
  EXPECT_NE(misnamed.out.find("TLS with txend at localhost failed"), std::string::npos)
      << misnamed.out;
}

// The pool helper's certificates, as docs/migration.md tells an operator to make them.
TEST(TxendCerts, MakesAPoolWhoseCertificatesTxendAndCurlAccept) {
  TempDir dir;
  std::string certs = TXEND_SOURCE_DIR "/scripts/txend-certs " + dir.path();
  ASSERT_EQ(RunCommand(certs + " ca").exit_code, 0);
  ASSERT_EQ(RunCommand(certs + " host this-host 127.0.0.1").exit_code, 0);
  ASSERT_EQ(RunCommand(certs + " client admin").exit_code, 0);
  EXPECT_NE(RunCommand(certs + " client admin").exit_code, 0);  // never overwrites a key
  TxendStack::Options o;
  o.tcp_port = FreeTcpPort();
  o.tcp_insecure = false;
  std::string d = dir.path() + "/";
  o.extra_args = {"--tcp-cert", d + "this-host.pem", "--tcp-key", d + "this-host-key.pem",
                  "--tcp-ca",   d + "ca.pem"};
  auto stack = TxendStack::Start(o);
  ASSERT_TRUE(stack.ok()) << stack.status().ToString();
  auto r = RunCommand("curl -sS --max-time 10 --cacert " + d + "ca.pem --cert " + d +
                      "admin.pem --key " + d + "admin-key.pem -o /dev/null -w '%{http_code}' " +
                      "https://127.0.0.1:" + std::to_string(o.tcp_port) + "/xend/node/ 2>&1");
  EXPECT_EQ(r.out, "200");
}

}  // namespace
}  // namespace txend::testing
