// A direct evaluator for xm config scripts: statements run as they are parsed.
#include "cli/xm_script.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "cli/xm_script_lexer.h"

namespace txend::xm {
namespace {

using Type = Token::Type;
using Kind = PyValue::Kind;

constexpr int kMaxNesting = 100;

bool IsKeyword(std::string_view name) {
  static constexpr std::array<std::string_view, 29> kKeywords = {
      "and",    "as",   "assert",  "break", "class", "continue", "def",    "del",    "elif", "else",
      "except", "exec", "finally", "for",   "from",  "global",   "if",     "import", "in",   "is",
      "lambda", "not",  "or",      "pass",  "print", "raise",    "return", "try",    "while"};
  for (auto k : kKeywords)
    if (k == name) return true;
  return name == "with" || name == "yield";
}

// Python int(): ints, bools, floats (truncated) and strings of digits.
Result<PyValue> BuiltinInt(const std::vector<PyValue>& args) {
  if (args.size() != 1) return Status::Error(EINVAL, "int() takes exactly one argument here");
  const PyValue& v = args[0];
  if (v.is(Kind::kFloat)) return PyValue::Int(static_cast<int64_t>(v.as_float()));
  if (v.is(Kind::kStr)) {
    std::string s = v.as_str();
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t first = s.find_first_not_of(" \t\n");
    if (first != std::string::npos) s = s.substr(first);
    if (auto n = AsInteger(PyValue::Str(s))) return PyValue::Int(*n);
    return Status::Error(EINVAL, "ValueError: invalid literal for int() with base 10: " + v.Repr());
  }
  if (auto n = AsInteger(v)) return PyValue::Int(*n);
  return Status::Error(EINVAL, "TypeError: int() argument must be a string or a number, not '" +
                                   std::string(v.TypeName()) + "'");
}

class Interpreter {
 public:
  Interpreter(std::vector<Token> tokens, XmVariables& vars)
      : toks_(std::move(tokens)), vars_(vars) {}

  Status Run() {
    while (Cur().type != Type::kEnd) {
      if (Cur().type == Type::kNewline) {
        ++pos_;
        continue;
      }
      TXEND_RETURN_IF_ERROR(Line());
    }
    return Status::Ok();
  }

  int line() const { return Cur().line; }

 private:
  const Token& Cur() const { return toks_[pos_]; }
  const Token& Ahead(size_t n) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Ahead(ahead).type == Type::kOp && Ahead(ahead).text == op;
  }
  bool AtStatementEnd() const {
    return Cur().type == Type::kNewline || Cur().type == Type::kEnd || IsOp(";");
  }
  Status Expect(std::string_view op) {
    if (!IsOp(op)) return Unexpected("expected '" + std::string(op) + "'");
    ++pos_;
    return Status::Ok();
  }
  Status Unexpected(const std::string& context) const {
    const Token& t = Cur();
    if (t.type == Type::kName && IsKeyword(t.text))
      return Fail("unsupported Python construct '" + t.text +
                  "' (xm config files here are assignments of values)");
    std::string what = t.type == Type::kNewline  ? "end of line"
                       : t.type == Type::kEnd    ? "end of file"
                       : t.type == Type::kString ? "string " + PyValue::Str(t.text).Repr()
                                                 : "'" + t.text + "'";
    return Fail("syntax error: " + context + ", got " + what);
  }
  static Status Fail(std::string message) { return Status::Error(EINVAL, std::move(message)); }

  Status Line() {
    if (Cur().type == Type::kIndent)
      return Fail("unexpected indent (statements must start in column 1)");
    TXEND_RETURN_IF_ERROR(Statement());
    while (IsOp(";")) {
      ++pos_;
      if (Cur().type == Type::kNewline || Cur().type == Type::kEnd) break;
      TXEND_RETURN_IF_ERROR(Statement());
    }
    if (Cur().type != Type::kNewline && Cur().type != Type::kEnd)
      return Unexpected("expected the end of the statement");
    return Status::Ok();
  }

  Status Statement() {
    const Token& t = Cur();
    if (t.type == Type::kName) {
      if (t.text == "import" || t.text == "from") {  // xm preloads sys/os; nothing to do
        while (!AtStatementEnd()) ++pos_;
        return Status::Ok();
      }
      if (t.text == "pass") {
        ++pos_;
        return Status::Ok();
      }
      if (IsKeyword(t.text)) return Unexpected("");
      if (t.text == "xm_vars" && IsOp(".", 1)) return XmVars();
      if (IsOp("=", 1)) return Assignment();
      if (IsOp(",", 1) && AssignsInStatement())
        return Fail(
            "tuple assignment (a, b = ...) is not supported; assign each variable on its own");
      if (IsOp("+=", 1) || IsOp("-=", 1) || IsOp("*=", 1) || IsOp("%=", 1))
        return AugmentedAssignment();
    }
    TXEND_ASSIGN_OR_RETURN(PyValue ignored,
                           TestList());  // an expression statement, e.g. a docstring
    (void)ignored;
    return Status::Ok();
  }

  // Whether an '=' follows before the statement ends (a, b = 1, 2).
  bool AssignsInStatement() const {
    for (size_t i = pos_; i < toks_.size(); ++i) {
      const Token& t = toks_[i];
      if (t.type == Type::kNewline || t.type == Type::kEnd ||
          (t.type == Type::kOp && t.text == ";"))
        return false;
      if (t.type == Type::kOp && t.text == "=") return true;
    }
    return false;
  }

  Status Assignment() {
    std::vector<std::pair<std::string, int>> targets;
    while (Cur().type == Type::kName && IsOp("=", 1)) {
      if (IsKeyword(Cur().text) || Cur().text == "True" || Cur().text == "False" ||
          Cur().text == "None")
        return Fail("cannot assign to '" + Cur().text + "'");
      targets.emplace_back(Cur().text, Cur().line);
      pos_ += 2;
    }
    TXEND_ASSIGN_OR_RETURN(PyValue value, TestList());
    for (size_t i = 1; i < targets.size(); ++i)  // a = b = value: one copy each but the last
      TXEND_RETURN_IF_ERROR(allocation_.ChargeCopy(value));
    for (const auto& [name, target_line] : targets) vars_.Set(name, value, target_line);
    return Status::Ok();
  }

  Status AugmentedAssignment() {
    std::string name = Cur().text;
    int target_line = Cur().line;
    std::string op = Ahead(1).text.substr(0, 1);
    const XmVariable* current = vars_.Find(name);
    if (current == nullptr) return Fail("name '" + name + "' is not defined");
    pos_ += 2;
    TXEND_ASSIGN_OR_RETURN(PyValue right, TestList());  // reads variables, sets none
    TXEND_ASSIGN_OR_RETURN(PyValue value, BinaryOp(op, current->value, right, allocation_));
    vars_.Set(name, std::move(value), target_line);
    return Status::Ok();
  }

  // xm_vars.var('name', use=..., check=...) declares a variable the file needs
  // from the command line; xm_vars.check() insists that each one is set.
  Status XmVars() {
    pos_ += 2;
    std::string method = Cur().type == Type::kName ? Cur().text : "";
    if (method != "var" && method != "check")
      return Fail("xm_vars." + method + " is not supported (only xm_vars.var and xm_vars.check)");
    ++pos_;
    TXEND_RETURN_IF_ERROR(Expect("("));
    std::vector<PyValue> positional;
    while (!IsOp(")")) {
      if (Cur().type == Type::kName && IsOp("=", 1)) {
        bool is_check = Cur().text == "check";
        pos_ += 2;
        if (is_check && Cur().type == Type::kName) {
          ++pos_;  // the name of a checking function, which txend cannot run
        } else {
          TXEND_ASSIGN_OR_RETURN(PyValue ignored, Expr());
          (void)ignored;
        }
      } else {
        TXEND_ASSIGN_OR_RETURN(PyValue arg, Expr());
        positional.push_back(std::move(arg));
      }
      if (!IsOp(",")) break;
      ++pos_;
    }
    TXEND_RETURN_IF_ERROR(Expect(")"));
    if (method == "var") {
      if (positional.empty() || !positional[0].is(Kind::kStr))
        return Fail("xm_vars.var needs the variable name as a string");
      declared_.push_back(positional[0].as_str());
      return Status::Ok();
    }
    for (const std::string& name : declared_)
      if (vars_.Find(name) == nullptr)
        return Fail("variable '" + name + "' is not set; pass " + name + "=VALUE to xm create");
    return Status::Ok();
  }

  // expr (',' expr)* [','] -> a tuple when there is a comma.
  Result<PyValue> TestList() {
    TXEND_ASSIGN_OR_RETURN(PyValue first, Expr());
    if (!IsOp(",")) return first;
    PyValue::Items items{std::move(first)};
    while (IsOp(",")) {
      ++pos_;
      if (AtStatementEnd() || IsOp(")") || IsOp("=")) break;
      TXEND_ASSIGN_OR_RETURN(PyValue next, Expr());
      items.push_back(std::move(next));
    }
    return MakeSequence(Kind::kTuple, std::move(items), allocation_);
  }

  Result<PyValue> Expr() {
    TXEND_ASSIGN_OR_RETURN(PyValue left, Term());
    while (IsOp("+") || IsOp("-")) {
      std::string op = Cur().text;
      ++pos_;
      TXEND_ASSIGN_OR_RETURN(PyValue right, Term());
      TXEND_ASSIGN_OR_RETURN(left, BinaryOp(op, left, right, allocation_));
    }
    if (Cur().type == Type::kOp &&
        std::string_view("== != < > <= >= <> & | ^ << >>").find(Cur().text) !=
            std::string_view::npos)
      return Fail("operator '" + Cur().text + "' is not supported in xm config files here");
    return left;
  }

  Result<PyValue> Term() {
    TXEND_ASSIGN_OR_RETURN(PyValue left, Factor());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      std::string op = Cur().text;
      ++pos_;
      TXEND_ASSIGN_OR_RETURN(PyValue right, Factor());
      TXEND_ASSIGN_OR_RETURN(left, BinaryOp(op, left, right, allocation_));
    }
    return left;
  }

  Result<PyValue> Factor() {
    if (++depth_ > kMaxNesting) return Fail("expression nested too deeply");
    Result<PyValue> result = FactorBody();
    --depth_;
    return result;
  }

  Result<PyValue> FactorBody() {
    if (IsOp("-") || IsOp("+")) {
      std::string op = Cur().text;
      ++pos_;
      TXEND_ASSIGN_OR_RETURN(PyValue v, Factor());
      return UnaryOp(op, v);
    }
    TXEND_ASSIGN_OR_RETURN(PyValue base, Primary());
    if (!IsOp("**")) return base;
    ++pos_;
    TXEND_ASSIGN_OR_RETURN(PyValue exponent, Factor());
    return BinaryOp("**", base, exponent, allocation_);
  }

  Result<PyValue> Primary() {
    const Token& t = Cur();
    if (t.type == Type::kName && IsOp("(", 1)) return Call();
    if (t.type == Type::kName && IsOp(".", 1))
      return Fail("attribute access (" + t.text +
                  ".NAME) is not supported in xm config files here");
    TXEND_ASSIGN_OR_RETURN(PyValue v, Atom());
    if (IsOp("[")) return Fail("indexing and slicing are not supported in xm config files here");
    if (IsOp(".")) return Fail("attribute access is not supported in xm config files here");
    if (IsOp("(")) return Fail("only int() and str() can be called in xm config files here");
    return v;
  }

  Result<PyValue> Call() {
    std::string name = Cur().text;
    if (name != "int" && name != "str")
      return Fail("calling " + name + "() is not supported (only int() and str())");
    pos_ += 2;
    std::vector<PyValue> args;
    while (!IsOp(")")) {
      TXEND_ASSIGN_OR_RETURN(PyValue arg, Expr());
      args.push_back(std::move(arg));
      if (!IsOp(",")) break;
      ++pos_;
    }
    TXEND_RETURN_IF_ERROR(Expect(")"));
    if (name == "int") return BuiltinInt(args);
    if (args.size() != 1) return Fail("str() takes exactly one argument here");
    TXEND_RETURN_IF_ERROR(allocation_.ChargeText(args[0]));
    return PyValue::Str(args[0].Str());
  }

  Result<PyValue> Atom() {
    const Token& t = Cur();
    switch (t.type) {
      case Type::kInt:
        ++pos_;
        return PyValue::Int(t.int_value);
      case Type::kFloat:
        ++pos_;
        return PyValue::Float(t.float_value);
      case Type::kString: {
        std::string s;
        while (Cur().type == Type::kString) s += toks_[pos_++].text;  // "a" "b" == "ab"
        if (s.size() > kMaxPyStringBytes) return Fail("string too long (limit 1 MiB)");
        TXEND_RETURN_IF_ERROR(allocation_.Charge(kPyValueBytes + s.size()));
        return PyValue::Str(std::move(s));
      }
      case Type::kName:
        return Name();
      default:
        break;
    }
    if (IsOp("(")) return Parenthesised();
    if (IsOp("[")) return ListDisplay();
    if (IsOp("{")) return Fail("dicts and sets are not supported in xm config files here");
    return Unexpected("expected a value");
  }

  Result<PyValue> Name() {
    const Token& t = Cur();
    if (IsKeyword(t.text)) return Unexpected("expected a value");
    ++pos_;
    if (t.text == "True") return PyValue::Bool(true);
    if (t.text == "False") return PyValue::Bool(false);
    if (t.text == "None") return PyValue();
    const XmVariable* v = vars_.Find(t.text);
    if (v == nullptr)
      return Fail("name '" + t.text + "' is not defined (set it earlier in the file or pass " +
                  t.text + "=VALUE to xm create)");
    TXEND_RETURN_IF_ERROR(allocation_.ChargeCopy(v->value));
    return v->value;
  }

  Result<PyValue> Parenthesised() {
    ++pos_;
    if (IsOp(")")) {
      ++pos_;
      return PyValue::Tuple({});
    }
    if (++depth_ > kMaxNesting) return Fail("expression nested too deeply");
    Result<PyValue> inner = TestList();
    --depth_;
    if (!inner.ok()) return inner;
    TXEND_RETURN_IF_ERROR(Expect(")"));
    return inner;
  }

  Result<PyValue> ListDisplay() {
    ++pos_;
    if (++depth_ > kMaxNesting) return Fail("expression nested too deeply");
    PyValue::Items items;
    while (!IsOp("]")) {
      TXEND_ASSIGN_OR_RETURN(PyValue item, Expr());
      items.push_back(std::move(item));
      if (items.size() > kMaxPyListItems) return Fail("list too long (limit 65536 items)");
      if (!IsOp(",")) break;
      ++pos_;
    }
    --depth_;
    TXEND_RETURN_IF_ERROR(Expect("]"));
    return MakeSequence(Kind::kList, std::move(items), allocation_);
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  XmVariables& vars_;
  std::vector<std::string> declared_;
  PyAllocation allocation_;
};

}  // namespace

const XmVariable* XmVariables::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &vars_[it->second];
}

void XmVariables::Set(const std::string& name, PyValue value, int line) {
  auto [it, inserted] = index_.emplace(name, vars_.size());
  if (inserted) {
    vars_.push_back({name, std::move(value), line});
  } else {
    vars_[it->second].value = std::move(value);
    vars_[it->second].line = line;
  }
}

Status RunXmScript(std::string_view text, std::string_view filename, XmVariables& vars) {
  std::string file(filename);
  if (text.size() > kMaxXmScriptBytes)
    return Status::Error(E2BIG, file + ": config file too large (" + std::to_string(text.size()) +
                                    " bytes; the limit is 1 MiB)");
  auto tokens = Tokenize(text);
  if (!tokens.ok()) return Status::Error(EINVAL, file + ":" + tokens.status().message());
  Interpreter interpreter(std::move(*tokens), vars);
  Status st = interpreter.Run();
  if (st.ok()) return st;
  return Status::Error(st.code(),
                       file + ":" + std::to_string(interpreter.line()) + ": " + st.message());
}

}  // namespace txend::xm
