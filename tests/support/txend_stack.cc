#include "tests/support/txend_stack.h"

#include <filesystem>

#include "tests/support/fake_kernel.h"
#include "tests/support/sockets.h"
#include "toolstack/xs/connection.h"

namespace txend::testing {

Result<std::unique_ptr<TxendStack>> TxendStack::Start(Options options) {
  std::unique_ptr<TxendStack> s(new TxendStack(std::move(options)));
  std::filesystem::create_directories(s->dir_ / "xs");
  WriteFakeKernel(s->kernel());
  TXEND_RETURN_IF_ERROR(s->StartXsd());
  TXEND_RETURN_IF_ERROR(s->StartTxend());
  return s;
}

Status TxendStack::StartXsd() {
  std::vector<std::string> argv = options_.exec_prefix;
  for (std::string a : {BinPath("xsd"), std::string("--no-fork"), std::string("--socket"),
                        xs_socket(), std::string("--domain-sockets"), dir_ / "xs/domains"})
    argv.push_back(a);
  if (options_.persist) {
    argv.push_back("--persist");
    argv.push_back(dir_ / "xsd-db");
  }
  TXEND_ASSIGN_OR_RETURN(xsd_, DaemonProcess::Start(argv, xs_socket()));
  return Status::Ok();
}

Status TxendStack::StartTxend(std::vector<std::string> env) {
  std::vector<std::string> argv = options_.exec_prefix;
  std::vector<std::string> own{
      BinPath("txend"), "--no-fork",   "--unix-socket",    xend_socket(), "--xenstored",
      xs_socket(),      "--state-dir", dir_ / "state",     "--log-file",  dir_ / "txend.log",
      "--hypervisor",   "sim",         "--device-timeout", "10"};
  argv.insert(argv.end(), own.begin(), own.end());
  if (options_.tcp_port) {
    argv.push_back("--tcp");
    argv.push_back("127.0.0.1:" + std::to_string(options_.tcp_port));
    if (options_.tcp_insecure) argv.push_back("--tcp-insecure");
  }
  if (!options_.hosts_allow.empty()) {
    argv.push_back("--hosts-allow");
    argv.push_back(options_.hosts_allow);
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  TXEND_ASSIGN_OR_RETURN(txend_, DaemonProcess::Start(argv, xend_socket(), std::move(env)));
  return Status::Ok();
}

Status TxendStack::RestartTxend(int signal, std::vector<std::string> env) {
  txend_->Stop(signal);
  return StartTxend(std::move(env));
}

Status TxendStack::RestartXsd(int signal) {
  xsd_->Stop(signal);
  return StartXsd();
}

uint64_t TxendStack::XsdStat(const std::string& name) const {
  return testing::XsdStat(xs_socket(), name);
}

std::string TxendStack::Config(const std::string& name, int disks, int vifs, int memory_mib) const {
  // libvirt's style: single quotes, no spaces between siblings.
  std::string c =
      "(vm (name '" + name + "')(memory " + std::to_string(memory_mib) + ")(maxmem " +
      std::to_string(memory_mib * 2) + ")(vcpus 2)(on_poweroff 'destroy')(on_reboot 'restart')" +
      "(on_crash 'restart')(image (linux (kernel '" + kernel() + "')(args 'root=/dev/xvda1 ro')))";
  for (int i = 0; i < disks; ++i)
    c += "(device (vbd (dev 'xvd" + std::string(1, static_cast<char>('a' + i)) +
         "')(uname 'phy:/dev/vg0/" + name + "-" + std::to_string(i) + "')(mode 'w')))";
  for (int i = 0; i < vifs; ++i) c += "(device (vif (bridge 'xenbr0')(script 'vif-bridge')))";
  return c + ")";
}

uint16_t FreeTcpPort() { return ListenOnLoopback().port; }

}  // namespace txend::testing
