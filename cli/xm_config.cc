#include "cli/xm_config.h"

#include <cstring>
#include <fstream>
#include <map>

#include "cli/xm_options.h"
#include "cli/xm_script.h"

namespace txend::xm {
namespace {

using Kind = PyValue::Kind;

std::string Trim(std::string_view s) {
  size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  size_t last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

std::string Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// VAR=VALUE arguments, split into xm options and script variables.
struct Overrides {
  std::map<std::string, PyValue, std::less<>> options;
  std::vector<std::pair<std::string, std::string>> variables;
};

Result<Overrides> ParseOverrides(const std::vector<std::string>& args) {
  Overrides out;
  for (const std::string& arg : args) {
    size_t eq = arg.find('=');
    std::string name = Trim(std::string_view(arg).substr(0, eq));
    if (eq == std::string::npos || name.empty())
      return Status::Error(EINVAL, "command line: '" + arg + "': expected VAR=VALUE");
    std::string text = Trim(std::string_view(arg).substr(eq + 1));
    const XmOption* option = FindXmOption(name);
    if (option == nullptr) {
      out.variables.emplace_back(name, text);
      continue;
    }
    auto value = ParseXmOptionArgument(*option, text);
    if (!value.ok()) return Status::Error(EINVAL, "command line: " + value.status().message());
    if (option->kind != XmOptionKind::kList) {
      out.options[name] = *value;
      continue;
    }
    auto [it, fresh] = out.options.try_emplace(name, PyValue::List({}));
    PyValue::Items items = it->second.items();  // repeated disk=... arguments accumulate
    items.push_back(*value);
    it->second = PyValue::List(std::move(items));
  }
  return out;
}

// xm keeps only str, list, int and float values (opts.py Opts.load):
// None, booleans and tuples leave an option at its default.
bool XmIgnores(const PyValue& v) {
  return v.is(Kind::kNone) || v.is(Kind::kBool) || v.is(Kind::kTuple);
}

}  // namespace

const XmSetting* XmConfig::Find(std::string_view name) const {
  for (const XmSetting& s : settings)
    if (s.name == name) return &s;
  return nullptr;
}

Result<XmConfig> ParseXmConfigText(std::string_view text, std::string_view filename,
                                   const std::vector<std::string>& overrides) {
  TXEND_ASSIGN_OR_RETURN(Overrides given, ParseOverrides(overrides));
  XmVariables vars;
  for (const auto& [name, value] : given.variables) vars.Set(name, PyValue::Str(value), 0);
  TXEND_RETURN_IF_ERROR(RunXmScript(text, filename, vars));

  XmConfig config;
  config.filename = std::string(filename);
  for (const XmVariable& var : vars.all()) {
    std::string origin =
        var.line ? config.filename + ":" + std::to_string(var.line) : "command line";
    const XmOption* option = FindXmOption(var.name);
    if (option == nullptr) {
      config.settings.push_back({var.name, var.value, origin, false});
      continue;
    }
    if (given.options.contains(var.name)) continue;  // the command line wins
    if (XmIgnores(var.value)) {
      if (!var.value.is(Kind::kNone))
        config.warnings.push_back(origin + ": " + var.name + ": xm ignores " +
                                  std::string(var.value.TypeName()) + " values; " + var.name +
                                  " keeps its default (write 1/0 or a list instead)");
      continue;
    }
    auto value = NormalizeXmOption(*option, var.value);
    if (!value.ok()) return Status::Error(EINVAL, origin + ": " + value.status().message());
    config.settings.push_back({var.name, *value, origin, true});
  }
  for (const auto& [name, value] : given.options)
    config.settings.push_back({name, value, "command line", true});
  const XmSetting* name = config.Find("name");
  if (name == nullptr || !name->value.Truthy()) {  // xm names the domain after its config file
    std::erase_if(config.settings, [](const XmSetting& s) { return s.name == "name"; });
    config.settings.push_back({"name", PyValue::Str(Basename(filename)), "default", true});
  }
  return config;
}

Result<std::string> ReadXmConfigBytes(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::Error(errno ? errno : ENOENT, "cannot read config file " + path + ": " +
                                                     std::strerror(errno ? errno : ENOENT));
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes)
      return Status::Error(E2BIG, path + ": config file too large (the limit is " +
                                      std::to_string(max_bytes >> 20) + " MiB)");
  }
  if (in.bad()) return Status::Error(EIO, "cannot read config file " + path);
  return text;
}

Result<XmConfig> ParseXmConfigFile(const std::string& path,
                                   const std::vector<std::string>& overrides) {
  TXEND_ASSIGN_OR_RETURN(std::string text, ReadXmConfigBytes(path, kMaxXmScriptBytes));
  return ParseXmConfigText(text, path, overrides);
}

}  // namespace txend::xm
