#include "cli/xm_command_line.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace txend::xm {
namespace {

std::string CountMessage(const std::string& name, size_t lo, size_t hi) {
  if (lo == hi)
    return "'xm " + name + "' requires " + std::to_string(lo) + " argument" + (lo == 1 ? "" : "s") +
           ".";
  return "'xm " + name + "' requires between " + std::to_string(lo) + " and " + std::to_string(hi) +
         " arguments.";
}

std::string OptionText(const CLI::Option& opt) {
  std::string text;
  for (const auto& s : opt.get_snames()) text += (text.empty() ? "-" : ", -") + s;
  for (const auto& l : opt.get_lnames()) {
    text += (text.empty() ? "--" : ", --") + l;
    if (opt.get_items_expected_min() > 0) text += "=<" + l + ">";
  }
  return text;
}

}  // namespace

CommandLine::CommandLine(std::string_view name, std::string_view synopsis,
                         std::string_view description)
    : name_(name),
      synopsis_(synopsis),
      description_(description),
      app_(std::string(description), "xm " + name_) {
  app_.set_help_flag();
  app_.allow_extras(false);
  app_.add_option("args", args_);
}

Status CommandLine::Parse(const std::vector<std::string>& argv, size_t min_args, size_t max_args) {
  if (std::any_of(argv.begin(), argv.end(),
                  [](const std::string& a) { return a == "-h" || a == "--help"; }))
    return Status::Error(ECANCELED, "help");
  std::vector<std::string> reversed(argv.rbegin(), argv.rend());  // CLI11 consumes from the back
  try {
    app_.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return Status::Error(EINVAL, e.what());
  }
  if (args_.size() < min_args || args_.size() > max_args)
    return Status::Error(EINVAL, CountMessage(name_, min_args, max_args));
  return Status::Ok();
}

std::string CommandLine::Help() const {
  std::string out = "Usage: xm " + name_ + " " + synopsis_ + "\n\n" + description_ + "\n";
  bool any = false;
  for (const CLI::Option* opt : app_.get_options()) {
    if (opt->get_positional()) continue;
    char row[160];
    std::snprintf(row, sizeof row, "  %-30s %-43s\n", OptionText(*opt).c_str(),
                  opt->get_description().c_str());
    out += row;
    any = true;
  }
  if (any) out += "\n";
  return out;
}

}  // namespace txend::xm
