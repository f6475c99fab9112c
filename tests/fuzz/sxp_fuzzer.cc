// Fuzz target: the SXP parser (sxp::Parse / ParseAll) and printers. Whatever
// parses must survive a round trip: parse -> ToString -> parse and
// parse -> PrettyPrint -> parse give back the same value, and the flat tape
// xm reads in place agrees with the values.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sxp/sxp.h"
#include "sxp/tape.h"

namespace {

using namespace txend;

void Check(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  fprintf(stderr, "sxp_fuzzer: %s\n--- printed ---\n%.*s\n", what, static_cast<int>(text.size()),
          text.data());
  abort();
}

void RoundTrip(const sxp::Value& v) {
  std::string compact = sxp::ToString(v);
  auto again = sxp::Parse(compact);
  Check(again.ok(), "ToString output does not parse", compact);
  Check(*again == v, "ToString round trip changed the value", compact);
  std::string pretty = sxp::PrettyPrint(v);
  auto pretty_again = sxp::Parse(pretty);
  Check(pretty_again.ok(), "PrettyPrint output does not parse", pretty);
  Check(*pretty_again == v, "PrettyPrint round trip changed the value", pretty);
}

// What xm reads in place off a tape (xm list) must be what the Value says.
void TapeAgrees(const sxp::Tape& tape, const sxp::Value& v, std::string_view text) {
  Check(tape.ToValue(0) == v, "Tape::ToValue differs from Parse", text);
  for (const char* name : {"name", "domid", "memory", "state", "device"}) {
    auto want = sxp::FindChildValue(v, name);
    auto got = tape.FindChildValue(0, name);
    Check(got.has_value() == want.has_value() && (!got || *got == *want),
          "Tape::FindChildValue differs from FindChildValue", text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sxp::ParseLimits limits;
  limits.max_bytes = 64 << 10;
  limits.max_depth = 64;
  if (auto one = sxp::Parse(text, limits); one.ok()) {
    RoundTrip(*one);
    (void)sxp::Name(*one);
    (void)sxp::ChildValue(*one, "name");
    (void)sxp::Children(*one, "device");
    (void)sxp::ChildAt(*one, 0);
    auto tape = sxp::Tape::ParseOne(text, limits);
    Check(tape.ok(), "Tape::ParseOne refuses what Parse accepts", text);
    TapeAgrees(*tape, *one, text);
  } else {
    Check(!sxp::Tape::ParseOne(text, limits).ok(), "Tape::ParseOne accepts what Parse refuses",
          text);
  }
  if (auto all = sxp::ParseAll(text, limits); all.ok())
    for (const auto& v : *all) RoundTrip(v);
  return 0;
}
