// Fuzz target: xm domain config files — the Python-subset interpreter
// (ParseXmConfigText) and the conversion to the (vm ...) SXP `xm create`
// sends (MakeVmSxp). Input: config text, optionally followed by a NUL and
// newline-separated VAR=VALUE overrides as on xm create's command line.
// Checked: the SXP xm would send parses back to the same value.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/xm_config.h"
#include "cli/xm_make_config.h"

namespace {

using namespace txend;

std::vector<std::string> Overrides(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty() && out.size() < 8) {
    size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view text = input.substr(0, nul);
  std::vector<std::string> overrides =
      nul == std::string_view::npos ? std::vector<std::string>{} : Overrides(input.substr(nul + 1));
  auto config = xm::ParseXmConfigText(text, "fuzz.cfg", overrides);
  if (!config.ok()) return 0;
  xm::XmSxpOptions options;
  options.display = ":0";
  options.xauthority = "/root/.Xauthority";
  auto vm = xm::MakeVmSxp(*config, options);
  if (!vm.ok()) return 0;
  std::string sent = sxp::ToString(*vm);
  auto received = sxp::Parse(sent);
  if (!received.ok() || !(*received == *vm)) {
    fprintf(stderr, "xm_config_fuzzer: the SXP xm sends does not parse back:\n%s\n", sent.c_str());
    abort();
  }
  return 0;
}
