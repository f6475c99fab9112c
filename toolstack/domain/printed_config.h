// PrintedConfig: a config's (domain ...) SXP printed once, item by item, when
// it is registered, so a list of N domains copies text instead of building
// and printing N trees. DomainSxp puts the runtime fields between the items.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "toolstack/config/domain_config.h"

namespace txend::toolstack {

struct PrintedConfig {
  struct Item {
    std::string name;  // the item's name: "memory", "image", "device", ...
    std::string text;  // compact SXP, e.g. "(memory 512)"
    bool vfb = false;  // (device (vfb ...)): where xend adds (location HOST:PORT)
  };
  std::string head;  // the first atom, "domain"
  std::vector<Item> items;

  static PrintedConfig Of(const DomainConfig& config);
};

}  // namespace txend::toolstack
