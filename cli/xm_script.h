// Runs the subset of Python that xm domain config files are written in
// (xmdomain.cfg(5); xm exec'd them as Python 2 scripts).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cli/xm_python.h"

namespace txend::xm {

// A variable a config script (or xm's command line) set, and the line that set it last.
struct XmVariable {
  std::string name;
  PyValue value;
  int line = 0;  // 0: set before the script ran (VAR=VALUE on the command line)
};

// Script variables in first-assignment order.
class XmVariables {
 public:
  const XmVariable* Find(std::string_view name) const;
  void Set(const std::string& name, PyValue value, int line);
  const std::vector<XmVariable>& all() const { return vars_; }

 private:
  std::vector<XmVariable> vars_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Largest config script accepted.
inline constexpr size_t kMaxXmScriptBytes = 1 << 20;

// Executes `text`, updating `vars`. Understood: assignments (`a = b = expr`,
// `+=`, `-=`, `*=`), expression statements, `import`/`from` lines (ignored),
// `pass`, and xm's `xm_vars.var('name', ...)` / `xm_vars.check()`.
// Expressions: numbers, strings (all Python 2 quoting forms, adjacent ones
// joined), True/False/None, names, lists, tuples, + - * / // % ** and unary
// -/+, and int()/str(). Anything else (if, def, dicts, calls, attribute
// access ...) is an error naming the file and line: "demo.cfg:7: ...".
Status RunXmScript(std::string_view text, std::string_view filename, XmVariables& vars);

}  // namespace txend::xm
