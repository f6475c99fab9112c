// The Python subset of xm config files: values, operators, % formatting, statements.
#include "cli/xm_script.h"

#include <random>

#include <gtest/gtest.h>

#include "cli/xm_python.h"

namespace txend::xm {
namespace {

using Kind = PyValue::Kind;

PyValue I(int64_t i) { return PyValue::Int(i); }
PyValue S(const char* s) { return PyValue::Str(s); }

PyValue Op(std::string_view op, const PyValue& a, const PyValue& b) {
  PyAllocation allocation;
  auto r = BinaryOp(op, a, b, allocation);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : PyValue();
}

std::string OpError(std::string_view op, const PyValue& a, const PyValue& b) {
  PyAllocation allocation;
  auto r = BinaryOp(op, a, b, allocation);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

Result<PyValue> Format(const char* format, const PyValue& args) {
  PyAllocation allocation;
  return FormatPercent(format, args, allocation);
}

std::string Fmt(const char* format, const PyValue& args) {
  auto r = Format(format, args);
  EXPECT_TRUE(r.ok()) << format << ": " << r.status().ToString();
  return r.ok() ? r->as_str() : "";
}

// Runs `text` as demo.cfg; returns the variables.
XmVariables RunOk(std::string_view text) {
  XmVariables vars;
  Status st = RunXmScript(text, "demo.cfg", vars);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return vars;
}

PyValue Var(const XmVariables& vars, std::string_view name) {
  const XmVariable* v = vars.Find(name);
  EXPECT_NE(v, nullptr) << name;
  return v ? v->value : PyValue();
}

std::string RunError(std::string_view text) {
  XmVariables vars;
  Status st = RunXmScript(text, "demo.cfg", vars);
  EXPECT_FALSE(st.ok()) << text;
  return st.message();
}

TEST(PyValue, Python2Arithmetic) {
  EXPECT_EQ(Op("+", I(7), I(3)), I(10));
  EXPECT_EQ(Op("/", I(7), I(2)), I(3)) << "int / int floors in Python 2";
  EXPECT_EQ(Op("/", I(-7), I(2)), I(-4));
  EXPECT_EQ(Op("%", I(-7), I(3)), I(2));
  EXPECT_EQ(Op("//", I(7), I(-2)), I(-4));
  EXPECT_EQ(Op("**", I(2), I(10)), I(1024));
  EXPECT_EQ(Op("*", PyValue::Float(1.5), I(2)), PyValue::Float(3.0));
  EXPECT_EQ(Op("/", PyValue::Float(1), I(4)), PyValue::Float(0.25));
  EXPECT_EQ(Op("+", S("a"), S("b")), S("ab"));
  EXPECT_EQ(Op("*", S("ab"), I(3)), S("ababab"));
  EXPECT_EQ(Op("+", PyValue::List({I(1)}), PyValue::List({I(2)})), PyValue::List({I(1), I(2)}));
  EXPECT_EQ(Op("+", PyValue::Bool(true), I(1)), I(2));
}

TEST(PyValue, CommandLineNumbersAreStringsThatCount) {
  EXPECT_EQ(Op("+", I(7), S("3")), I(10)) << "vmid=3 from the command line";
  EXPECT_EQ(Op("+", S("vm"), S("3")), S("vm3"));
  EXPECT_EQ(OpError("+", S("vm"), I(3)),
            "TypeError: unsupported operand type(s) for +: 'str' and 'int'");
}

TEST(PyValue, ArithmeticErrors) {
  EXPECT_EQ(OpError("/", I(1), I(0)), "ZeroDivisionError: integer division or modulo by zero");
  EXPECT_EQ(OpError("*", I(INT64_MAX), I(2)),
            "OverflowError: integer overflow (config values are 64-bit)");
  EXPECT_EQ(OpError("**", I(10), I(30)),
            "OverflowError: integer overflow (config values are 64-bit)");
  EXPECT_EQ(OpError("-", S("a"), S("b")),
            "TypeError: unsupported operand type(s) for -: 'str' and 'str'");
  EXPECT_EQ(OpError("*", S("x"), I(2 << 20)), "ValueError: string too long (limit 1 MiB)");
  EXPECT_EQ(UnaryOp("-", S("x")).status().message(),
            "TypeError: bad operand type for unary -: 'str'");
}

TEST(PyValue, StrAndRepr) {
  EXPECT_EQ(PyValue::Float(1.0).Str(), "1.0");
  EXPECT_EQ(PyValue::Float(0.1).Str(), "0.1");
  EXPECT_EQ(PyValue::Float(1e20).Str(), "1e+20");
  EXPECT_EQ(PyValue::List({S("a"), I(1), PyValue()}).Str(), "['a', 1, None]");
  EXPECT_EQ(PyValue::Tuple({I(1)}).Repr(), "(1,)");
  EXPECT_EQ(S("it's").Repr(), "\"it's\"");
  EXPECT_EQ(PyValue::Bool(false).Str(), "False");
}

TEST(PercentFormat, Conversions) {
  EXPECT_EQ(Fmt("vm%d", I(3)), "vm3");
  EXPECT_EQ(Fmt("sda%d", I(10)), "sda10");
  EXPECT_EQ(Fmt("%02x:%02X", PyValue::Tuple({I(10), I(171)})), "0a:AB");
  EXPECT_EQ(Fmt("[%-5s|%5s]", PyValue::Tuple({S("ab"), S("cd")})), "[ab   |   cd]");
  EXPECT_EQ(Fmt("%.2s", S("abcdef")), "ab");
  EXPECT_EQ(Fmt("%5.1f %e", PyValue::Tuple({PyValue::Float(3.14159), I(1000)})),
            "  3.1 1.000000e+03");
  EXPECT_EQ(Fmt("%#x %o %#o", PyValue::Tuple({I(255), I(8), I(8)})), "0xff 10 010");
  EXPECT_EQ(Fmt("%x", I(-255)), "-ff");
  EXPECT_EQ(Fmt("%s-%s", PyValue::Tuple({S("a"), I(1)})), "a-1");
  EXPECT_EQ(Fmt("%r %s", PyValue::Tuple({S("x"), PyValue::List({S("y")})})), "'x' ['y']");
  EXPECT_EQ(Fmt("100%% %c%c", PyValue::Tuple({I(79), S("K")})), "100% OK");
  EXPECT_EQ(Fmt("%*d|%-*d|", PyValue::Tuple({I(4), I(7), I(3), I(1)})), "   7|1  |");
  EXPECT_EQ(Fmt("%d", S("7")), "7") << "lenient: a command-line number";
  EXPECT_EQ(Fmt("%d", PyValue::Float(7.9)), "7");
  EXPECT_EQ(Fmt("%i%u", PyValue::Tuple({PyValue::Bool(true), I(2)})), "12");
}

TEST(PercentFormat, Errors) {
  EXPECT_EQ(Format("%d %d", I(1)).status().message(),
            "TypeError: not enough arguments for format string");
  EXPECT_EQ(Format("%d", PyValue::Tuple({I(1), I(2)})).status().message(),
            "TypeError: not all arguments converted during string formatting");
  EXPECT_EQ(Format("%d", S("seven")).status().message(),
            "TypeError: %d format: a number is required, not str");
  EXPECT_EQ(Format("%(vmid)d", I(1)).status().message(),
            "ValueError: format mappings like %(name)s are not supported");
  EXPECT_EQ(Format("%y", I(1)).status().message(), "ValueError: unsupported format character 'y'");
  EXPECT_EQ(Format("50%", PyValue::Tuple({})).status().message(), "ValueError: incomplete format");
  EXPECT_FALSE(Format("%99999d", I(1)).ok());
}

TEST(XmScript, AssignmentsAndLiterals) {
  XmVariables v = RunOk(
      "# comment\n"
      "\"\"\"docstring\"\"\"\n"
      "import os, sys\n"
      "from os import path\n"
      "a = 1; b = 'two'  # trailing comment\n"
      "c = d = 0x1f\n"
      "e = 0755 + 10L\n"
      "f = 1.5e1\n"
      "g = True, False, None\n"
      "h = [ 'x',\n"
      "      'y', ]   # trailing comma, spans lines\n"
      "i = ()\n"
      "j = ('only',)\n"
      "k = (1 + 2) * 3 - -1\n"
      "l = 'con' \"cat\" r'\\n'\n"
      "m = 1 + \\\n"
      "    2\n"
      "n = '''multi\n"
      "line'''\n"
      "o = 'esc\\t\\x41\\101\\q\\\n"
      "continued'\n"
      "a += 41\n"
      "h += ['z']\n"
      "p = int('12') + int(2.9) + int(True)\n"
      "q = str(5) + str(None)\n"
      "r = [ 1,\n"
      "  2 ] ; s = 3\n"
      "pass\n");
  EXPECT_EQ(Var(v, "a"), I(42));
  EXPECT_EQ(Var(v, "b"), S("two"));
  EXPECT_EQ(Var(v, "c"), I(31));
  EXPECT_EQ(Var(v, "d"), I(31));
  EXPECT_EQ(Var(v, "e"), I(493 + 10));
  EXPECT_EQ(Var(v, "f"), PyValue::Float(15));
  EXPECT_EQ(Var(v, "g"), PyValue::Tuple({PyValue::Bool(true), PyValue::Bool(false), PyValue()}));
  EXPECT_EQ(Var(v, "h"), PyValue::List({S("x"), S("y"), S("z")}));
  EXPECT_EQ(Var(v, "i"), PyValue::Tuple({}));
  EXPECT_EQ(Var(v, "j"), PyValue::Tuple({S("only")}));
  EXPECT_EQ(Var(v, "k"), I(10));
  EXPECT_EQ(Var(v, "l"), S("concat\\n"));
  EXPECT_EQ(Var(v, "m"), I(3));
  EXPECT_EQ(Var(v, "n"), S("multi\nline"));
  EXPECT_EQ(Var(v, "o"), S("esc\tAA\\qcontinued"));
  EXPECT_EQ(Var(v, "p"), I(15));
  EXPECT_EQ(Var(v, "q"), S("5None"));
  EXPECT_EQ(v.Find("os"), nullptr) << "imports define nothing";
  EXPECT_EQ(Var(v, "s"), I(3)) << "a statement may follow a multi-line list";
}

TEST(XmScript, VariablesKeepFirstAssignmentOrderAndLastLine) {
  XmVariables v = RunOk("x = 1\ny = 2\nx = 3\n");
  ASSERT_EQ(v.all().size(), 2u);
  EXPECT_EQ(v.all()[0].name, "x");
  EXPECT_EQ(v.all()[0].value, I(3));
  EXPECT_EQ(v.all()[0].line, 3);
  EXPECT_EQ(v.all()[1].line, 2);
}

TEST(XmScript, XmVarsDeclaresAndChecksVariables) {
  XmVariables v;
  v.Set("vmid", S("3"), 0);
  ASSERT_TRUE(RunXmScript("xm_vars.var('vmid', use='Guest number', check=vmid_check)\n"
                          "xm_vars.check()\n"
                          "name = 'VM%d' % vmid\n",
                          "demo.cfg", v)
                  .ok());
  EXPECT_EQ(Var(v, "name"), S("VM3"));
  EXPECT_EQ(RunError("xm_vars.var('vmid')\nxm_vars.check()\n"),
            "demo.cfg:2: variable 'vmid' is not set; pass vmid=VALUE to xm create");
  EXPECT_EQ(RunError("xm_vars.help()\n"),
            "demo.cfg:1: xm_vars.help is not supported (only xm_vars.var and xm_vars.check)");
}

TEST(XmScript, ErrorsNameFileAndLine) {
  EXPECT_EQ(RunError("a = 1\nb = vmid\n"),
            "demo.cfg:2: name 'vmid' is not defined (set it earlier in the file or pass "
            "vmid=VALUE to xm create)");
  EXPECT_EQ(RunError("a = 1\n  b = 2\n"),
            "demo.cfg:2: unexpected indent (statements must start in column 1)");
  EXPECT_EQ(RunError("a = 'open\nb = 2\n"), "demo.cfg:1: EOL while scanning string literal");
  EXPECT_EQ(RunError("a = '''open\n\n"),
            "demo.cfg:1: EOF while scanning triple-quoted string literal");
  EXPECT_EQ(RunError("a = [1,\n 2\nb = 3\n"), "demo.cfg:1: '[' is never closed");
  EXPECT_EQ(RunError("a = 1)\n"), "demo.cfg:1: unmatched ')'");
  EXPECT_EQ(RunError("a = 1 $ 2\n"), "demo.cfg:1: invalid character '$'");
  EXPECT_EQ(RunError("a = 99999999999999999999\n"),
            "demo.cfg:1: integer 99999999999999999999 is too large (config values are 64-bit)");
  EXPECT_EQ(RunError("a = 08\n"), "demo.cfg:1: invalid number '08'");
  EXPECT_EQ(RunError("a = '\\x4'\n"), "demo.cfg:1: invalid \\x escape (needs two hex digits)");
  EXPECT_EQ(RunError("a = 1 2\n"),
            "demo.cfg:1: syntax error: expected the end of the statement, got '2'");
  EXPECT_EQ(RunError("a =\n"), "demo.cfg:1: syntax error: expected a value, got end of line");
  EXPECT_EQ(RunError("a = 'x' % 1\n"),
            "demo.cfg:1: TypeError: not all arguments converted during string formatting");
  EXPECT_EQ(RunError("n += 1\n"), "demo.cfg:1: name 'n' is not defined");
  EXPECT_EQ(RunError("True = 1\n"), "demo.cfg:1: cannot assign to 'True'");
}

TEST(XmScript, UnsupportedPythonIsRefusedClearly) {
  const std::string kHint = "' (xm config files here are assignments of values)";
  EXPECT_EQ(RunError("if 1:\n  a = 2\n"), "demo.cfg:1: unsupported Python construct 'if" + kHint);
  EXPECT_EQ(RunError("def f(x):\n  return x\n"),
            "demo.cfg:1: unsupported Python construct 'def" + kHint);
  EXPECT_EQ(RunError("a = 1 if 1 else 2\n"),
            "demo.cfg:1: unsupported Python construct 'if" + kHint);
  EXPECT_EQ(RunError("a = [x for x in y]\n"),
            "demo.cfg:1: name 'x' is not defined (set it earlier in the file or pass x=VALUE to xm "
            "create)");
  EXPECT_EQ(RunError("a = [1 for x in 'ab']\n"),
            "demo.cfg:1: unsupported Python construct 'for" + kHint);
  EXPECT_EQ(RunError("a = {'k': 1}\n"),
            "demo.cfg:1: dicts and sets are not supported in xm config files here");
  EXPECT_EQ(RunError("a = 1 == 1\n"),
            "demo.cfg:1: operator '==' is not supported in xm config files here");
  EXPECT_EQ(RunError("a = os.uname()\n"),
            "demo.cfg:1: attribute access (os.NAME) is not supported in xm config files here");
  EXPECT_EQ(RunError("a = len('x')\n"),
            "demo.cfg:1: calling len() is not supported (only int() and str())");
  EXPECT_EQ(RunError("a = [1][0]\n"),
            "demo.cfg:1: indexing and slicing are not supported in xm config files here");
  EXPECT_EQ(RunError("a, b = 1, 2\n"),
            "demo.cfg:1: tuple assignment (a, b = ...) is not supported; assign each variable on "
            "its own");
}

TEST(XmScript, HostileInputIsBounded) {
  std::string deep = "a = " + std::string(500, '(') + "1" + std::string(500, ')') + "\n";
  EXPECT_EQ(RunError(deep), "demo.cfg:1: expression nested too deeply");
  std::string negs = "a = " + std::string(500, '-') + "1\n";
  EXPECT_EQ(RunError(negs), "demo.cfg:1: expression nested too deeply");
  XmVariables vars;
  Status big = RunXmScript(std::string(2 << 20, '#'), "big.cfg", vars);
  EXPECT_EQ(big.code(), E2BIG);
  EXPECT_EQ(big.message(), "big.cfg: config file too large (2097152 bytes; the limit is 1 MiB)");
  EXPECT_EQ(RunError("a = 'x' * 1000\nb = a * 2000\n"),
            "demo.cfg:2: ValueError: string too long (limit 1 MiB)");
  EXPECT_EQ(RunError("a = [0] * 100000\n"),
            "demo.cfg:1: ValueError: list too long (limit 65536 items)");
}

// Every value a file builds is charged before it is built, so a file that
// would build GiBs stops with a clear error instead (and runs no longer than
// building 64 MiB takes).
TEST(XmScript, TotalAllocationIsCapped) {
  const std::string kMemoryError = "MemoryError: the config file builds more than 64 MiB of values";
  EXPECT_EQ(RunError("s = 'x' * 1048576\nl = [s] * 65536\n"), "demo.cfg:2: " + kMemoryError);
  std::string doubling = "a = 'x' * 1000\n";
  for (int i = 0; i < 40; ++i) doubling += "a = [a, a]\n";
  std::string error = RunError(doubling);
  EXPECT_TRUE(error.ends_with(kMemoryError)) << error;
  std::string copies = "s = 'x' * 524288\n";
  for (int i = 0; i < 100; ++i) copies += "t = s + s\n";
  error = RunError(copies);
  EXPECT_TRUE(error.ends_with(kMemoryError)) << error;
  EXPECT_EQ(RunError("s = 'x' * 1048576\nt = '%s%s%s' % (s, s, s)\n"),
            "demo.cfg:2: ValueError: string too long (limit 1 MiB)");
  std::string formats = "l = ['x' * 1048576] * 16\n";
  for (int i = 0; i < 8; ++i) formats += "t = '%.1s' % (l,)\n";
  error = RunError(formats);
  EXPECT_TRUE(error.ends_with(kMemoryError)) << error;
  // Repeating nothing costs nothing, however many times.
  XmVariables empty = RunOk("a = '' * 10 ** 18\nb = [] * 10 ** 18\nc = () * 10 ** 18\n");
  EXPECT_EQ(Var(empty, "a"), S(""));
  EXPECT_EQ(Var(empty, "b"), PyValue::List({}));
  // What every real config does stays far below the cap.
  RunOk("s = 'x' * 100000\nl = [s] * 8\nt = '%s' % (l,)\nu = l + l\nv = u\n");
}

// A value nested through variables (a = [a], again and again) is as bounded
// as one nested in the text.
TEST(XmScript, ValueNestingIsCapped) {
  std::string text = "a = 1\n";
  for (int i = 0; i < 100000; ++i) text += "a = [a]\n";
  EXPECT_EQ(RunError(text), "demo.cfg:102: ValueError: value nested too deeply (limit 100 levels)");
  std::string tuples = "a = 1\n";
  for (int i = 0; i < 200; ++i) tuples += "a = a, 1\n";
  EXPECT_EQ(RunError(tuples),
            "demo.cfg:102: ValueError: value nested too deeply (limit 100 levels)");
}

}  // namespace
}  // namespace txend::xm

namespace txend::xm {
namespace {

// Mutated scripts either run or fail with "demo.cfg:LINE: ..." or "demo.cfg: ...".
TEST(XmScriptRobustness, MutatedScriptsFailCleanly) {
  std::mt19937 rng(99);
  const std::string seed_text =
      "name = \"%s-web%02d\" % ('lab', 0x0a)\nmemory = 256; maxmem = 2 ** 9\n"
      "disk = [ 'phy:/dev/vg0/' + name + ',xvda1,w',\n  'file:/x,xvdb,r' ]\n"
      "extra = '''a\nb''' + r'\\n' \\\n  + \"c\"\nvcpus = int('2') * -(-1)\n";
  const std::string alphabet = "()[]'\"\\#%*+-/ \n\t=,;.xyz0129eLj{}:";
  int ran = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string text = seed_text;
    for (int e = 0; e < 4; ++e) {
      size_t pos = std::uniform_int_distribution<size_t>(0, text.size())(rng);
      char c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
      if (std::uniform_int_distribution<int>(0, 1)(rng))
        text.insert(pos, 1, c);
      else if (pos < text.size())
        text.erase(pos, 1);
    }
    XmVariables vars;
    Status st = RunXmScript(text, "demo.cfg", vars);
    if (st.ok()) {
      ++ran;
      continue;
    }
    EXPECT_EQ(st.message().rfind("demo.cfg:", 0), 0u) << st.message();
  }
  EXPECT_GT(ran, 100);
}

}  // namespace
}  // namespace txend::xm
