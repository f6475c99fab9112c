// Test support: the operations of libvirt's xend driver (src/xen/xend_internal.c)
// as request sequences over XendClient, with its reading of replies: status
// 200-202 is success unless a 202 body says "failed" or any body says
// "xend.err" (xend_post); domains come back through LvParseDomain.
#pragma once

#include <string>

#include "base/result.h"
#include "tests/support/libvirt_domain.h"
#include "tests/support/xend_client.h"

namespace txend::testing {

class LvDriver {
 public:
  explicit LvDriver(XendClient client) : client_(std::move(client)) {}

  // virsh define: op=new with xenFormatSxpr's config.
  Status Define(const LvDomain& def);
  // virsh create: op=create, GET ?detail=1 (a domid), wait_for_devices, unpause.
  Status CreateXml(const LvDomain& def);
  Status Start(const std::string& name);     // op=start
  Status Destroy(const std::string& name);   // op=destroy
  Status Undefine(const std::string& name);  // op=delete
  // virsh dumpxml: GET /xend/domain/<name>?detail=1 read as libvirt reads it.
  Result<LvDomain> Fetch(const std::string& name);
  // The raw reply of that GET, parsed by libvirt's reader.
  Result<LvSexpr> FetchSexpr(const std::string& name);
  // virsh autostart: the detail reply with on_xend_start changed in place,
  // re-sent with sexpr2string as op=new.
  Status SetAutostart(const std::string& name, bool on);
  // virsh attach-device / update-device / detach-device for a running domain;
  // `ref` is what libvirt found in xenstore (a disk's device number).
  Status AttachDisk(const std::string& name, const LvDisk& disk);
  Status UpdateDisk(const std::string& name, const LvDisk& disk, const std::string& ref);
  Status DetachDisk(const std::string& name, const std::string& cls, const std::string& ref);
  Status AttachPci(const std::string& name, const LvPci& pci);
  Status DetachPci(const std::string& name, const LvPci& pci, const std::string& ref);

 private:
  Status Op(const std::string& name, const std::vector<std::pair<std::string, std::string>>& form);
  XendClient client_;
};

}  // namespace txend::testing
