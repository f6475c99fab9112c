#include "toolstack/bootloader/bootloader_output.h"

#include "sxp/sxp.h"

namespace txend::toolstack {
namespace {

Status Invalid(std::string message) { return Status::Error(EINVAL, std::move(message)); }

// A report's value of `key`: the atom after it in the first (key ...) list.
Result<std::string> Entry(const sxp::Value& report, std::string_view key) {
  const sxp::Value* entry = sxp::Child(report, key);
  if (entry == nullptr) return std::string();
  const sxp::Value* value = sxp::ChildAt(*entry, 0);
  if (value == nullptr) return std::string();
  if (!value->is_atom() || entry->items().size() != 2)
    return Invalid("(" + std::string(key) + " ...) is not one string");
  return value->atom();
}

}  // namespace

Result<BootImage> ParseBootloaderOutput(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return Invalid("it reported nothing");
  auto values = sxp::ParseAll(text, sxp::ParseLimits{64 << 10, 8});
  if (!values.ok()) return Invalid("its report is not SXP (" + values.status().message() + ")");
  // xend read the whole report as one list: `linux (kernel ..) ..` -> (linux (kernel ..) ..).
  sxp::Value report = sxp::Value::List(std::move(*values));
  if (sxp::Name(report).empty()) report.items().insert(report.items().begin(), sxp::Value("linux"));
  BootImage image;
  TXEND_ASSIGN_OR_RETURN(image.kernel, Entry(report, "kernel"));
  TXEND_ASSIGN_OR_RETURN(image.ramdisk, Entry(report, "ramdisk"));
  TXEND_ASSIGN_OR_RETURN(image.args, Entry(report, "args"));
  if (image.kernel.empty()) return Invalid("it reported no kernel");
  return image;
}

}  // namespace txend::toolstack
