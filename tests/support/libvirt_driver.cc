#include "tests/support/libvirt_driver.h"

namespace txend::testing {

// xend_post + http2unix.
Status LvDriver::Op(const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& form) {
  XendReply r = client_.Post("/xend/domain/" + name, form);
  bool failed = r.status < 200 || r.status > 202 ||
                (r.status == 202 && r.body.find("failed") != std::string::npos) ||
                r.body.find("xend.err") != std::string::npos;
  if (failed)
    return Status::Error(
        EIO, "xend_post: error from xen daemon: " + std::to_string(r.status) + " " + r.body);
  return Status::Ok();
}

Status LvDriver::Define(const LvDomain& def) {
  return Op("", {{"op", "new"}, {"config", LvFormatVm(def)}});
}

Status LvDriver::CreateXml(const LvDomain& def) {
  TXEND_RETURN_IF_ERROR(Op("", {{"op", "create"}, {"config", LvFormatVm(def)}}));
  TXEND_ASSIGN_OR_RETURN(LvSexpr root, FetchSexpr(def.name));
  if (!LvNode(root, "domain/domid"))
    return Status::Error(EIO, "Domain " + def.name + " did not start");
  TXEND_RETURN_IF_ERROR(Op(def.name, {{"op", "wait_for_devices"}}));
  return Op(def.name, {{"op", "unpause"}});
}

Status LvDriver::Start(const std::string& name) { return Op(name, {{"op", "start"}}); }
Status LvDriver::Destroy(const std::string& name) { return Op(name, {{"op", "destroy"}}); }
Status LvDriver::Undefine(const std::string& name) { return Op(name, {{"op", "delete"}}); }

Result<LvSexpr> LvDriver::FetchSexpr(const std::string& name) {
  XendReply r = client_.Get("/xend/domain/" + name + "?detail=1");
  if (r.status != 200 || r.body.empty())
    return Status::Error(r.status == 404 ? ESRCH : EIO,
                         std::to_string(r.status) + " status from xen daemon: " + r.body);
  return LvParse(r.body);
}

Result<LvDomain> LvDriver::Fetch(const std::string& name) {
  TXEND_ASSIGN_OR_RETURN(LvSexpr root, FetchSexpr(name));
  return LvParseDomain(root);
}

Status LvDriver::SetAutostart(const std::string& name, bool on) {
  TXEND_ASSIGN_OR_RETURN(LvSexpr root, FetchSexpr(name));
  LvSexpr* node = LvLookupKey(root, "domain/on_xend_start");
  if (node == nullptr || node->items.size() < 2 || !node->items[1].is_atom)
    return Status::Error(EIO, "on_xend_start not present in sexpr");
  const std::string& value = node->items[1].atom;
  if (value != "ignore" && value != "start")
    return Status::Error(EIO, "unexpected value from on_xend_start");
  node->items[1].atom = on ? "start" : "ignore";
  return Op("", {{"op", "new"}, {"config", LvToString(root)}});
}

Status LvDriver::AttachDisk(const std::string& name, const LvDisk& disk) {
  return Op(name, {{"op", "device_create"}, {"config", LvFormatDiskAttach(disk)}});
}

Status LvDriver::UpdateDisk(const std::string& name, const LvDisk& disk, const std::string& ref) {
  return Op(name, {{"op", "device_configure"}, {"config", LvFormatDiskAttach(disk)}, {"dev", ref}});
}

Status LvDriver::DetachDisk(const std::string& name, const std::string& cls,
                            const std::string& ref) {
  return Op(
      name,
      {{"op", "device_destroy"}, {"type", cls}, {"dev", ref}, {"force", "0"}, {"rm_cfg", "1"}});
}

Status LvDriver::AttachPci(const std::string& name, const LvPci& pci) {
  return Op(name, {{"op", "device_create"}, {"config", LvFormatPciAttach(pci, false)}});
}

Status LvDriver::DetachPci(const std::string& name, const LvPci& pci, const std::string& ref) {
  return Op(name,
            {{"op", "device_configure"}, {"config", LvFormatPciAttach(pci, true)}, {"dev", ref}});
}

}  // namespace txend::testing
