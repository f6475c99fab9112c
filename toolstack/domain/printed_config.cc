#include "toolstack/domain/printed_config.h"

namespace txend::toolstack {

PrintedConfig PrintedConfig::Of(const DomainConfig& config) {
  sxp::Value v = ToSxp(config);
  PrintedConfig p;
  const auto& items = v.items();
  if (items.empty()) return p;
  p.head = items[0].is_atom() ? items[0].atom() : "domain";
  for (size_t i = 1; i < items.size(); ++i) {
    Item item{std::string(sxp::Name(items[i])), sxp::ToString(items[i])};
    item.vfb = item.name == "device" && items[i].items().size() == 2 &&
               sxp::Name(items[i].items()[1]) == "vfb";
    p.items.push_back(std::move(item));
  }
  return p;
}

}  // namespace txend::toolstack
