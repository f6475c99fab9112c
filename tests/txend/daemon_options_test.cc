// txend's settings: xend-config.sxp relocation keys and the flags over them.
#include "txend/daemon_options.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "base/unique_fd.h"

namespace txend::daemon {
namespace {

Result<DaemonOptions> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "txend");
  return ParseDaemonOptions(static_cast<int>(args.size()), args.data(), nullptr);
}

TEST(DaemonOptionsTest, RelocationIsOffByDefault) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->relocation.enabled);
  EXPECT_EQ(o->relocation.endpoint.port, 8002);
  EXPECT_EQ(o->relocation.endpoint.address, "0.0.0.0");
}

TEST(DaemonOptionsTest, XendRelocationKeys) {
  DaemonOptions o;
  ASSERT_TRUE(ApplyConfigText("(xend-relocation-server yes)\n(xend-relocation-port 8012)\n"
                              "(xend-relocation-address '')\n"
                              "(xend-relocation-hosts-allow '^localhost$ ^10\\\\.1\\\\.')\n"
                              "(xend-relocation-ssl-server no)\n(xend-relocation-ssl-port 8003)\n",
                              o)
                  .ok());
  EXPECT_TRUE(o.relocation.enabled);
  EXPECT_EQ(o.relocation.endpoint.port, 8012);
  EXPECT_EQ(o.relocation.endpoint.address, "0.0.0.0");
  EXPECT_EQ(o.relocation.hosts_allow, "^localhost$ ^10\\.1\\.");
  EXPECT_FALSE(o.relocation.ssl_enabled);
  ASSERT_TRUE(
      ApplyConfigText("(xend-relocation-server no)(xend-relocation-address 10.1.2.3)", o).ok());
  EXPECT_FALSE(o.relocation.enabled);
  EXPECT_EQ(o.relocation.endpoint.address, "10.1.2.3");
  EXPECT_EQ(ApplyConfigText("(xend-relocation-port eighty)", o).code(), EINVAL);
  EXPECT_EQ(o.relocation.io_timeout_s, 30);
  ASSERT_TRUE(ApplyConfigText("(txend-relocation-timeout 5)", o).ok());
  EXPECT_EQ(o.relocation.io_timeout_s, 5);
  EXPECT_EQ(ApplyConfigText("(txend-relocation-timeout 0)", o).code(), EINVAL);
}

TEST(DaemonOptionsTest, SslRelocationKeysAndFlags) {
  DaemonOptions o;
  ASSERT_TRUE(ApplyConfigText("(xend-relocation-ssl-server yes)(xend-relocation-ssl-port 8013)"
                              "(xend-relocation-server-ssl-key-file xmlrpc.key)"
                              "(xend-relocation-server-ssl-cert-file /etc/pki/relocation.pem)"
                              "(txend-relocation-ssl-ca-file ca.pem)",
                              o)
                  .ok());
  EXPECT_TRUE(o.relocation.ssl_enabled);
  EXPECT_FALSE(o.relocation.enabled);
  EXPECT_EQ(o.relocation.ssl_endpoint.port, 8013);
  EXPECT_EQ(o.relocation.ssl_key_file, "/etc/xen/xmlrpc.key");  // xend: bare names are in /etc/xen
  EXPECT_EQ(o.relocation.ssl_cert_file, "/etc/pki/relocation.pem");
  EXPECT_EQ(o.relocation.ssl_ca_file, "/etc/xen/ca.pem");
  auto flags = Parse({"--relocation-ssl", "10.0.0.1:9003", "--relocation-ssl-cert", "c.pem",
                      "--relocation-ssl-key", "k.pem", "--relocation-ssl-ca", "ca.pem"});
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_TRUE(flags->relocation.ssl_enabled);
  EXPECT_EQ(flags->relocation.ssl_endpoint.address, "10.0.0.1");
  EXPECT_EQ(flags->relocation.ssl_endpoint.port, 9003);
  auto no_key = Parse({"--relocation-ssl", "8003"});
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("needs a certificate and a key"), std::string::npos);
}

// Listeners authenticate their peers unless the operator opts out, by a key that says so.
TEST(DaemonOptionsTest, SecureDefaultsAndTheirOptOuts) {
  auto tcp = Parse({"--tcp", "8000"});
  ASSERT_FALSE(tcp.ok());
  EXPECT_NE(tcp.status().message().find("(txend-http-insecure yes)"), std::string::npos);
  auto tcp_tls = Parse({"--tcp", "8000", "--tcp-cert", "c.pem", "--tcp-key", "k.pem"});
  ASSERT_FALSE(tcp_tls.ok());
  EXPECT_NE(tcp_tls.status().message().find("needs a certificate, a key and a CA"),
            std::string::npos);
  auto tls =
      Parse({"--tcp", "8000", "--tcp-cert", "c.pem", "--tcp-key", "k.pem", "--tcp-ca", "ca.pem"});
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_TRUE(InsecureWarnings(*tls).empty());
  auto ssl = Parse({"--relocation-ssl", "8003", "--relocation-ssl-cert", "c.pem",
                    "--relocation-ssl-key", "k.pem"});
  ASSERT_FALSE(ssl.ok());
  EXPECT_NE(ssl.status().message().find("(txend-relocation-insecure yes)"), std::string::npos);

  auto plain = Parse({"--tcp", "8000", "--tcp-insecure", "--relocation", "8002"});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE(plain->relocation.insecure);  // the plain relocation port refuses everyone
  ASSERT_EQ(InsecureWarnings(*plain).size(), 1u);
  EXPECT_NE(InsecureWarnings(*plain)[0].find("TCP API on 127.0.0.1:8000 is unauthenticated"),
            std::string::npos);
  DaemonOptions o;
  ASSERT_TRUE(ApplyConfigText("(xend-relocation-server yes)(txend-relocation-insecure yes)"
                              "(txend-http-ssl-ca-file pool-ca.pem)"
                              "(txend-incoming-storage 'vg0 /srv/xen/')"
                              "(txend-incoming-bridges xenbr0)",
                              o)
                  .ok());
  EXPECT_TRUE(o.relocation.insecure);
  EXPECT_EQ(o.tcp_tls.ca_file, "/etc/xen/pool-ca.pem");
  EXPECT_EQ(o.incoming_storage, "vg0 /srv/xen/");
  EXPECT_EQ(o.incoming_bridges, "xenbr0");
  ASSERT_EQ(InsecureWarnings(o).size(), 1u);
  EXPECT_NE(InsecureWarnings(o)[0].find("txend-relocation-insecure"), std::string::npos);
  EXPECT_EQ(ApplyConfigText("(txend-http-insecure perhaps)", o).code(), EINVAL);
}

TEST(DaemonOptionsTest, RelocationFlags) {
  auto o = Parse({"--relocation", "10.0.0.1:9002", "--relocation-hosts-allow", "^10\\."});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->relocation.enabled);
  EXPECT_EQ(o->relocation.endpoint.address, "10.0.0.1");
  EXPECT_EQ(o->relocation.endpoint.port, 9002);
  EXPECT_EQ(o->relocation.hosts_allow, "^10\\.");
  auto port_only = Parse({"--relocation", "8002"});
  ASSERT_TRUE(port_only.ok());
  EXPECT_EQ(port_only->relocation.endpoint.address, "0.0.0.0");
  EXPECT_EQ(Parse({"--relocation", "x:0"}).status().code(), EINVAL);
  auto sim = Parse({"--sim-dirty-rate", "12.5", "--sim-working-set", "64"});
  ASSERT_TRUE(sim.ok());
  EXPECT_DOUBLE_EQ(sim->sim_dirty_mib_per_s, 12.5);
  EXPECT_EQ(sim->sim_working_set_mib, 64u);
  EXPECT_FALSE(Parse({"--sim-dirty-rate", "-1"}).ok());
}

TEST(DaemonOptionsTest, BadNumbersAndWordsAreErrorsNotGuesses) {
  DaemonOptions o;
  // device-create-timeout was read with atoi: "soon" became a timeout of 0 s.
  EXPECT_EQ(ApplyConfigText("(device-create-timeout soon)", o).code(), EINVAL);
  EXPECT_EQ(ApplyConfigText("(device-create-timeout 99999999999)", o).code(), EINVAL);
  EXPECT_EQ(o.device_timeout_s, 100);
  ASSERT_TRUE(ApplyConfigText("(device-create-timeout 30)", o).ok());
  EXPECT_EQ(o.device_timeout_s, 30);
  // Numbers beyond int's range get the usual message.
  EXPECT_EQ(ApplyConfigText("(xend-port 99999999999)", o).message(), "bad TCP port '99999999999'");
  EXPECT_EQ(ApplyConfigText("(txend-relocation-timeout 99999999999)", o).message(),
            "bad number of seconds '99999999999' (1 to 3600)");
  EXPECT_EQ(Parse({"--tcp", "99999999999"}).status().code(), EINVAL);
  ASSERT_TRUE(ApplyConfigText("(xend-http-server yes)(xend-port ' +8001')", o).ok());
  EXPECT_EQ(o.tcp->port, 8001);
  // xend's yes/no words (XendOptions.get_config_bool), any case; others are errors.
  ASSERT_TRUE(ApplyConfigText("(xend-relocation-server Y)", o).ok());
  EXPECT_TRUE(o.relocation.enabled);
  ASSERT_TRUE(ApplyConfigText("(xend-relocation-server off)", o).ok());
  EXPECT_FALSE(o.relocation.enabled);
  EXPECT_EQ(ApplyConfigText("(xend-relocation-server maybe)", o).code(), EINVAL);
  EXPECT_EQ(ApplyConfigText("(xend-unix-server maybe)", o).code(), EINVAL);
}

// The package's /etc/xen/xend-config.sxp (packaging/), read as txend.service reads it.
TEST(DaemonOptionsTest, PackagedConfigServesTheUnixSocketOnly) {
  auto o = Parse({"--config", TXEND_SOURCE_DIR "/packaging/xend-config.sxp"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->unix_socket, "/var/lib/xend/xend-socket");
  EXPECT_FALSE(o->tcp.has_value());
  EXPECT_FALSE(o->relocation.enabled);
  EXPECT_EQ(o->xenstored, "/run/xenstored/socket");
  EXPECT_EQ(o->domain_sockets, "/run/xenstored/domains");  // where xsd.service serves them
  EXPECT_EQ(o->state_dir, "/var/lib/txend");
  EXPECT_EQ(o->log_file, "/var/log/txend/txend.log");
}

TEST(DaemonOptionsTest, FlagsOverrideTheConfigFile) {
  std::string file = ::testing::TempDir() + "/flags-over-config.sxp";
  std::ofstream(file) << "(txend-xenstored /cfg/xs)(txend-state-dir /cfg/state)"
                         "(logfile /cfg/txend.log)(txend-hypervisor xen)(device-create-timeout 7)";
  auto o = Parse({"--xenstored", "/flag/xs", "--config", file.c_str(), "--state-dir", "/flag/state",
                  "--log-file", "/flag/txend.log", "--hypervisor", "sim"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->xenstored, "/flag/xs");
  EXPECT_EQ(o->state_dir, "/flag/state");
  EXPECT_EQ(o->log_file, "/flag/txend.log");
  EXPECT_EQ(o->hypervisor, "sim");
  EXPECT_EQ(o->device_timeout_s, 7);  // no flag: the file's value
  std::string equals = "--config=" + file;
  auto same = Parse({equals.c_str(), "--xenstored", "/flag/xs"});
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->xenstored, "/flag/xs");
  EXPECT_EQ(same->state_dir, "/cfg/state");
}

// The file given with --config is read as a regular file of bounded size: a FIFO, a
// device or a directory there is a clear error at once, never a start that waits forever.
TEST(DaemonOptionsTest, AConfigThatIsNotARegularFileIsAnErrorNotAWait) {
  std::string fifo = ::testing::TempDir() + "/config-fifo";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto parsed = std::async(std::launch::async, [&] { return Parse({"--config", fifo.c_str()}); });
  if (parsed.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "--config on a FIFO still waits after 5 s";
    UniqueFd writer(::open(fifo.c_str(), O_WRONLY));  // lets the blocked open return
  }
  auto o = parsed.get();
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find(fifo + ": not a regular file (a FIFO)"), std::string::npos)
      << o.status().message();
  for (const char* path : {"/dev/zero", "/"}) {
    auto other = Parse({"--config", path});
    ASSERT_FALSE(other.ok()) << path;
    EXPECT_NE(other.status().message().find(std::string("config file ") + path), std::string::npos)
        << other.status().message();
  }
  ::unlink(fifo.c_str());
}

}  // namespace
}  // namespace txend::daemon
