#include "xsd/xen_transport.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/mman.h>

extern "C" {  // the libxen headers declare no C linkage themselves
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

#include <xen/grant_table.h>
}

#include "base/unique_fd.h"
#include "xsd/ring.h"

namespace txend::xsd {
namespace {

constexpr const char* kEvtchnDevice = "/dev/xen/evtchn";
constexpr const char* kDom0Page = "/proc/xen/xsd_kva";
constexpr const char* kDom0Port = "/proc/xen/xsd_port";

Status Errno(const std::string& what) {
  return Status::Error(errno, what + ": " + std::strerror(errno));
}

}  // namespace

bool XenTransport::Available() { return access(kEvtchnDevice, R_OK | W_OK) == 0; }

Result<std::unique_ptr<XenTransport>> XenTransport::Create() {
  std::unique_ptr<XenTransport> t(new XenTransport());
  t->xce_ = xenevtchn_open(nullptr, 0);
  if (!t->xce_) return Errno("xenevtchn_open");
  int fd = xenevtchn_fd(t->xce_);
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return Errno("evtchn O_NONBLOCK");
  t->xgt_ = xengnttab_open(nullptr, 0);
  if (t->xgt_) xengnttab_set_max_grants(t->xgt_, DOMID_FIRST_RESERVED);
  t->xfm_ = xenforeignmemory_open(nullptr, 0);
  if (!t->xgt_ && !t->xfm_) return Errno("neither gntdev nor privcmd can map guest pages");
  t->xch_ = xc_interface_open(nullptr, nullptr, 0);
  if (!t->xch_)
    fprintf(stderr, "xsd: xc_interface_open: %s: dead domains are not noticed\n", strerror(errno));
  t->dom_exc_port_ = xenevtchn_bind_virq(t->xce_, VIRQ_DOM_EXC);
  if (t->dom_exc_port_ < 0)
    fprintf(stderr, "xsd: cannot bind VIRQ_DOM_EXC: %s: dead domains are not noticed\n",
            strerror(errno));
  return t;
}

XenTransport::~XenTransport() {
  if (xce_) xenevtchn_close(xce_);  // unbinds every port still bound
  if (xgt_) xengnttab_close(xgt_);
  if (xfm_) xenforeignmemory_close(xfm_);
  if (xch_) xc_interface_close(xch_);
}

int XenTransport::fd() const { return xenevtchn_fd(xce_); }

RingEvents XenTransport::Poll() {
  RingEvents ev;
  xenevtchn_port_or_error_t port;
  while ((port = xenevtchn_pending(xce_)) >= 0) {              // until EAGAIN
    xenevtchn_unmask(xce_, static_cast<evtchn_port_t>(port));  // before the ring is looked at
    if (port == dom_exc_port_)
      ev.domains_changed = true;
    else if (auto it = ports_.find(static_cast<uint32_t>(port)); it != ports_.end())
      ev.kicked.push_back(it->second);
  }
  return ev;
}

Result<std::unique_ptr<Channel>> XenTransport::Bind(uint32_t domid, uint32_t remote_port,
                                                    void* page, std::function<void()> unmap,
                                                    ConnId conn) {
  xenevtchn_port_or_error_t bound = xenevtchn_bind_interdomain(xce_, domid, remote_port);
  if (bound < 0) {
    Status st = Errno("bind event channel " + std::to_string(remote_port) + " of domain " +
                      std::to_string(domid));
    unmap();
    return st;
  }
  auto port = static_cast<evtchn_port_t>(bound);
  ports_[port] = conn;
  xenevtchn_handle* xce = xce_;
  auto notify = [xce, port] { xenevtchn_notify(xce, port); };
  auto release = [this, port, unmap = std::move(unmap)] {
    ports_.erase(port);
    xenevtchn_unbind(xce_, port);
    unmap();
  };
  auto channel =
      std::make_unique<RingChannel>(static_cast<xenstore_domain_interface*>(page), notify, release);
  notify();  // the peer may be waiting for us
  return std::unique_ptr<Channel>(std::move(channel));
}

Result<std::unique_ptr<Channel>> XenTransport::Open(const Introduction& domain, ConnId conn) {
  void* page = nullptr;
  std::function<void()> unmap;
  if (xgt_)
    page = xengnttab_map_grant_ref(xgt_, domain.domid, GNTTAB_RESERVED_XENSTORE,
                                   PROT_READ | PROT_WRITE);
  if (page) {
    unmap = [xgt = xgt_, page] { xengnttab_unmap(xgt, page, 1); };
  } else if (xfm_) {
    xen_pfn_t gfn = domain.mfn;
    page = xenforeignmemory_map(xfm_, domain.domid, PROT_READ | PROT_WRITE, 1, &gfn, nullptr);
    if (page) unmap = [xfm = xfm_, page] { xenforeignmemory_unmap(xfm, page, 1); };
  }
  if (!page) return Errno("cannot map the xenstore page of domain " + std::to_string(domain.domid));
  return Bind(domain.domid, domain.port, page, std::move(unmap), conn);
}

Result<std::unique_ptr<Channel>> XenTransport::OpenDom0(ConnId conn) {
  uint32_t port = 0;
  std::ifstream port_file(kDom0Port);
  if (!(port_file >> port))
    return Status::Error(ENOENT, std::string("no event channel in ") + kDom0Port);
  UniqueFd fd(open(kDom0Page, O_RDWR | O_CLOEXEC));
  if (!fd) return Errno(std::string("open ") + kDom0Page);
  auto size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* page = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (page == MAP_FAILED) return Errno(std::string("mmap ") + kDom0Page);
  fd.reset();  // the mapping stays
  return Bind(
      0, port, page, [page, size] { munmap(page, size); }, conn);
}

DomainState XenTransport::StateOf(uint32_t domid) {
  if (!xch_) return DomainState::kRunning;
  xc_dominfo_t info{};
  int n = xc_domain_getinfo(xch_, domid, 1, &info);
  if (n < 0) return DomainState::kRunning;  // cannot tell: keep serving it
  if (n == 0 || info.domid != domid || info.dying) return DomainState::kDead;
  if (info.shutdown || info.crashed) return DomainState::kShutDown;
  return DomainState::kRunning;
}

}  // namespace txend::xsd
