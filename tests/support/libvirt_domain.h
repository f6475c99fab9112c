// Test support: a PV domain as libvirt's xend driver holds it (the part of
// virDomainDef its SXP code touches), read from xend's (domain ...) with the
// rules of xenParseSxpr and written as the (vm ...) of xenFormatSxpr (facts
// from libvirt's src/xenconfig/xen_sxpr.c; HVM is left out).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "tests/support/libvirt_sexpr.h"

namespace txend::testing {

// <disk>: driver "phy", "file", "tap", "tap2"; format for tap ("aio" is raw).
struct LvDisk {
  std::string driver = "phy", format, src, dst;
  bool cdrom = false, readonly = false, shareable = false;
  bool operator==(const LvDisk&) const = default;
};

// <interface>: bridge (bridge + script) or ethernet (script only).
struct LvNet {
  std::string mac, bridge, script, ip, ifname, model;
  uint64_t rate_kbytes = 0;  // <bandwidth><outbound average=..>
  bool operator==(const LvNet&) const = default;
};

// <hostdev type='pci'>.
struct LvPci {
  int domain = 0, bus = 0, slot = 0, function = 0;
  bool operator==(const LvPci&) const = default;
};

// <graphics type='vnc'|'sdl'>.
struct LvGraphics {
  std::string type = "vnc";
  bool autoport = true;
  int port = -1;
  std::string listen, passwd, keymap, display, xauth;
  bool operator==(const LvGraphics&) const = default;
};

struct LvDomain {
  int id = -1;  // -1: inactive
  std::string name, uuid;
  std::optional<std::string> description;
  uint64_t max_kib = 0, cur_kib = 0;
  unsigned vcpus_max = 1, vcpus = 1;
  std::optional<std::string> bootloader, bootloader_args;
  std::optional<std::string> kernel, initrd, cmdline, root;
  std::string on_poweroff = "destroy", on_reboot = "restart", on_crash = "restart";
  bool localtime = false;
  std::vector<LvDisk> disks;
  std::vector<LvNet> nets;
  std::vector<LvPci> pci;
  std::optional<LvGraphics> graphics;
  bool operator==(const LvDomain&) const = default;
};

// xenParseSxpr (PV); EINVAL with libvirt's message when it would fail.
Result<LvDomain> LvParseDomain(const LvSexpr& root);
// xenFormatSxpr (PV): the config of op=create and op=new.
std::string LvFormatVm(const LvDomain& def);
// xenFormatSxprDisk / xenFormatSxprNet with isAttach, xenFormatSxprOnePCI.
std::string LvFormatDiskAttach(const LvDisk& disk);
std::string LvFormatNetAttach(const LvNet& net);
std::string LvFormatPciAttach(const LvPci& pci, bool detach);

// What a define keeps of a domain that libvirt would read back differently
// by design: the vifN.M names it makes up for a running domain's interfaces,
// and the id. Two domains are "the same" when their definitions are equal.
LvDomain LvDefinition(LvDomain def);

}  // namespace txend::testing
