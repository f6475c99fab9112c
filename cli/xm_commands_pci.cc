// xm's PCI passthrough commands: pci-attach, pci-detach, pci-list,
// pci-list-assignable-devices (Xen 4.2's xm/main.py), over op=device_configure,
// the domain's config and GET /xend/node/pciinfo.
#include <algorithm>
#include <cstdio>

#include "base/numbers.h"
#include "cli/xm_commands.h"
#include "toolstack/config/device_config.h"

namespace txend::xm {
namespace {

using Args = std::vector<std::string>;
using toolstack::PciDevice;

constexpr int kAutoSlot = 0x100;  // AUTO_PHP_SLOT: the guest picks the virtual slot

std::string Bdf(const PciDevice& d) {
  char text[32];
  snprintf(text, sizeof text, "%04x:%02x:%02x.%x", d.domain, d.bus, d.slot, d.func);
  return text;
}

// (pci (dev ...) (state STATE)): what xm's pci_convert_dict_to_sxp sends.
std::string PciSxp(const PciDevice& d, const char* state) {
  sxp::Value pci = toolstack::DeviceToSxp(std::vector<PciDevice>{d});
  pci.Add(sxp::Value::List({"state", state}));
  return sxp::ToString(pci);
}

Status Configure(XmContext& ctx, const std::string& dom, const PciDevice& d, const char* state) {
  return ctx.xend.PostDomain(dom, {{"op", "device_configure"}, {"config", PciSxp(d, state)}})
      .status();
}

// The PCI functions in a domain's config, as read back.
Result<std::vector<PciDevice>> Attached(XmContext& ctx, const std::string& dom) {
  TXEND_ASSIGN_OR_RETURN(sxp::Value d, ctx.xend.Domain(dom));
  std::vector<PciDevice> out;
  for (const sxp::Value* device : sxp::Children(d, "device")) {
    const sxp::Value* pci = sxp::ChildAt(*device, 0);
    if (pci == nullptr || sxp::Name(*pci) != "pci") continue;
    TXEND_ASSIGN_OR_RETURN(std::vector<PciDevice> functions, toolstack::ParsePci(*pci));
    out.insert(out.end(), functions.begin(), functions.end());
  }
  return out;
}

}  // namespace

Status XmPciAttach(XmContext& ctx, CommandLine& cl, const Args& argv) {
  std::vector<std::string> options;
  cl.app()
      .add_option("-o,--options", options, "Options for the device (msitranslate=1, ...)")
      ->allow_extra_args(false);
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 2, 3));
  std::string spec = cl.args()[1];
  if (cl.args().size() == 3) spec += "@" + cl.args()[2];
  for (const std::string& o : options) {
    if (std::count(o.begin(), o.end(), '=') != 1)
      return Status::Error(EINVAL, "Invalid pci attach option: " + o);
    spec += "," + o;
  }
  TXEND_ASSIGN_OR_RETURN(PciDevice d, toolstack::ParsePciSpec(spec));
  return Configure(ctx, cl.args()[0], d, "Initialising");
}

Status XmPciDetach(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 2, 2));
  TXEND_ASSIGN_OR_RETURN(PciDevice d, toolstack::ParsePciSpec(cl.args()[1]));
  return Configure(ctx, cl.args()[0], d, "Closing");
}

// xm's table: "Device", or "Vdev Device" once a function has a fixed virtual
// slot; sorted by virtual slot, then by address.
Status XmPciList(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 1, 1));
  TXEND_ASSIGN_OR_RETURN(std::vector<PciDevice> devs, Attached(ctx, cl.args()[0]));
  if (devs.empty()) return Status::Ok();
  auto order = [](const PciDevice& d) {
    uint64_t bdf = static_cast<uint64_t>(d.domain) << 16 | d.bus << 8 | d.slot << 3 | d.func;
    return static_cast<uint64_t>(d.vdevfn - (d.vdevfn & 7)) << 32 | bdf;
  };
  std::stable_sort(devs.begin(), devs.end(),
                   [&](const auto& a, const auto& b) { return order(a) < order(b); });
  bool has_vdevfn = std::any_of(devs.begin(), devs.end(),
                                [](const PciDevice& d) { return !(d.vdevfn & kAutoSlot); });
  ctx.out << (has_vdevfn ? "Vdev Device\n" : "Device\n");
  for (const PciDevice& d : devs) {
    if (has_vdevfn) {
      char vdev[16] = "-";
      if (!(d.vdevfn & kAutoSlot))
        snprintf(vdev, sizeof vdev, "%02x.%01x", d.vdevfn >> 3, d.vdevfn & 7);
      char column[16];
      snprintf(column, sizeof column, "%-4s ", vdev);
      ctx.out << column;
    }
    ctx.out << Bdf(d) << "\n";
  }
  return Status::Ok();
}

Status XmPciListAssignable(XmContext& ctx, CommandLine& cl, const Args& argv) {
  TXEND_RETURN_IF_ERROR(cl.Parse(argv, 0, 0));
  TXEND_ASSIGN_OR_RETURN(sxp::Value devs, ctx.xend.NodeSxp("pciinfo"));
  if (!devs.is_list()) return Status::Ok();
  for (const sxp::Value& dev : devs.items()) {
    auto field = [&](const char* key) {  // "0x03"; anything else reads as 0
      std::string hex = sxp::ChildValue(dev, key, "0x0");
      if (hex.starts_with("0x")) hex.erase(0, 2);
      auto n = ParseInteger<uint16_t>(hex, 16);
      return n.ok() ? static_cast<int>(*n) : 0;
    };
    PciDevice d;
    d.domain = field("domain"), d.bus = field("bus"), d.slot = field("slot"),
    d.func = field("func");
    ctx.out << Bdf(d) << "\n";
  }
  return Status::Ok();
}

}  // namespace txend::xm
