#include "sxp/sxp.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace txend::sxp {
namespace {

using Items = Value::Items;

Value P(std::string_view text) {
  auto r = Parse(text);
  EXPECT_TRUE(r.ok()) << text << " -> " << r.status().ToString();
  return r.ok() ? *r : Value();
}

std::string ParseError(std::string_view text, const ParseLimits& limits = {}) {
  auto r = Parse(text, limits);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

TEST(SxpParse, AtomsAndLists) {
  EXPECT_EQ(P("demo"), Value("demo"));
  EXPECT_EQ(P("()"), Value::List());
  EXPECT_EQ(P("(vm (name demo) (memory 512))"),
            Value::List({"vm", Value::List({"name", "demo"}), Value::List({"memory", "512"})}));
}

TEST(SxpParse, WhitespaceAndCommentsSeparate) {
  Value expected = Value::List({"a", "b", Value::List({"c"})});
  EXPECT_EQ(P("  (a\tb\n\r\v\f(c))  "), expected);
  EXPECT_EQ(P("# leading comment\n(a b # trailing comment\n (c)) # done"), expected);
  EXPECT_EQ(P("(a b#comment ends the atom\n(c))"), expected);
}

TEST(SxpParse, LibvirtStyleWithoutSpacesBetweenLists) {
  Value v = P("(dev (domain 0x0000)(bus 0x00)(slot 0x1b)(func 0x0))");
  ASSERT_EQ(v.items().size(), 5u);
  EXPECT_EQ(ChildValue(v, "slot"), "0x1b");
  EXPECT_EQ(ChildValue(v, "func"), "0x0");
}

TEST(SxpParse, QuotedStringsAndEscapes) {
  EXPECT_EQ(P("'root=/dev/xvda1 ro'"), Value("root=/dev/xvda1 ro"));
  EXPECT_EQ(P("\"double\""), Value("double"));
  EXPECT_EQ(P(R"('a\nb\tc\"d\'e\\f')"), Value("a\nb\tc\"d'e\\f"));
  EXPECT_EQ(P(R"("\a\b\v\f\r")"), Value("\a\b\v\f\r"));
  EXPECT_EQ(P(R"('\101\60x\0')"), Value(std::string("A0x\0", 4)));
  EXPECT_EQ(P(R"('\x41\x4a\x7')"), Value("AJ\x07"));
  EXPECT_EQ(P(R"('\q')"), Value("\\q")) << "unknown escapes keep the backslash";
  EXPECT_EQ(P("'multi\nline'"), Value("multi\nline"));
  EXPECT_EQ(P("''"), Value(""));
}

TEST(SxpParse, XendAtomQuirks) {
  // A quote inside an atom is part of it; separators end an atom and start the next.
  EXPECT_EQ(P("(ab\"c)"), Value::List({"ab\"c"}));
  EXPECT_EQ(P("(a[b])"), Value::List({"a", "[b", "]"}));
  EXPECT_EQ(P("(x!y;z)"), Value::List({"x!y", ";z"})) << "'!' is no separator (sxp.py)";
  // libvirt re-sends a shareable disk's mode unquoted: the '!' belongs to the atom.
  EXPECT_EQ(P("(mode w!)"), Value::List({"mode", "w!"}));
  EXPECT_EQ(P("(a{b}c<d>e)"), Value::List({"a", "{b", "}c", "<d", ">e"}));
  EXPECT_EQ(P("(caf\xc3\xa9)"), Value::List({"caf\xc3\xa9"})) << "UTF-8 atoms are accepted";
}

TEST(SxpParse, ParseAllReadsASequence) {
  auto r = ParseAll("a (b) 'c d' # end");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<Value>{"a", Value::List({"b"}), "c d"}));
  EXPECT_TRUE(ParseAll("  # nothing\n").value().empty());
}

TEST(SxpParse, MalformedInputHasLineAndColumn) {
  EXPECT_EQ(ParseError("(vm\n  (name 'demo"), "sxp:2:9: unterminated string");
  EXPECT_EQ(ParseError("(vm\n  (name demo)"), "sxp:1:1: unterminated list");
  EXPECT_EQ(ParseError("(a))"), "sxp:1:4: unexpected text after the value");
  EXPECT_EQ(ParseError(") (a)"), "sxp:1:1: unexpected ')'");
  EXPECT_EQ(ParseError("(a \x01)"), "sxp:1:4: invalid character: code 1");
  EXPECT_EQ(ParseError("(a) (b)"), "sxp:1:5: unexpected text after the value");
  EXPECT_EQ(ParseError("   "), "sxp:1:4: empty input");
  EXPECT_EQ(ParseError(R"('bad \x escape')"), "sxp:1:8: invalid \\x escape: no hex digits");
  EXPECT_EQ(ParseError(R"('\777')"), "sxp:1:6: invalid octal escape: out of range");
  EXPECT_EQ(ParseError("'trailing backslash\\"), "sxp:1:1: unterminated string");
  EXPECT_EQ(Parse("(a").status().code(), EINVAL);
}

TEST(SxpParse, DeepNestingIsRefused) {
  std::string deep = std::string(100000, '(') + std::string(100000, ')');
  auto r = Parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), E2BIG);
  EXPECT_EQ(r.status().message(), "sxp:1:257: lists nested deeper than 256");

  ParseLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(Parse("(((a)))", limits).ok());
  EXPECT_FALSE(Parse("((((a))))", limits).ok());
}

TEST(SxpParse, HugeInputIsRefused) {
  ParseLimits limits;
  limits.max_bytes = 1024;
  std::string big = "(" + std::string(2000, 'x') + ")";
  auto r = Parse(big, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), E2BIG);
  EXPECT_EQ(r.status().message(), "sxp: input of 2002 bytes exceeds the limit of 1024");

  // Within the default limit a large but flat value parses fine.
  std::string wide = "(l";
  for (int i = 0; i < 100000; ++i) wide += " a" + std::to_string(i);
  wide += ")";
  auto ok = Parse(wide);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->items().size(), 100001u);
}

TEST(SxpPrint, BareAtomsAndPythonQuoting) {
  EXPECT_EQ(FormatAtom("phy:/dev/vg/demo"), "phy:/dev/vg/demo");
  EXPECT_EQ(FormatAtom("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(FormatAtom("@"), "@");
  EXPECT_EQ(FormatAtom(""), "''");
  EXPECT_EQ(FormatAtom("root=/dev/xvda1 ro"), "'root=/dev/xvda1 ro'");
  EXPECT_EQ(FormatAtom("it's"), "'it\\'s'");  // never double quotes: libvirt reads only '...'
  EXPECT_EQ(PythonRepr("it's"), "\"it's\"");
  EXPECT_EQ(FormatAtom("say \"hi\""), "'say \"hi\"'");
  EXPECT_EQ(FormatAtom("both ' and \""), "'both \\' and \"'");
  EXPECT_EQ(FormatAtom("a\\b"), "'a\\\\b'");
  EXPECT_EQ(FormatAtom("l1\nl2\tx\r"), "'l1\\nl2\\tx\\r'");
  EXPECT_EQ(FormatAtom(std::string("\x01\x7f\xc3", 3)), "'\\x01\\x7f\\xc3'");
  EXPECT_EQ(FormatAtom("0-3,^1"), "'0-3,^1'");
  EXPECT_EQ(FormatAtom("vnc=1"), "'vnc=1'");
}

TEST(SxpPrint, CompactForm) {
  Value v = Value::List({"vm", Value::List({"name", "demo"}), Value::List({"args", "ro quiet"}),
                         Value::List({"bootloader", ""}), Value::List()});
  EXPECT_EQ(ToString(v), "(vm (name demo) (args 'ro quiet') (bootloader '') ())");
}

// Random values: every one must survive ToString -> Parse unchanged.
Value RandomValue(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, 9);
  if (depth > 4 || pick(rng) < 6) {
    std::string atom;
    int len = std::uniform_int_distribution<int>(0, 8)(rng);
    for (int i = 0; i < len; ++i)
      atom += static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    return Value(atom);
  }
  Value list = Value::List();
  int n = std::uniform_int_distribution<int>(0, 5)(rng);
  for (int i = 0; i < n; ++i) list.Add(RandomValue(rng, depth + 1));
  return list;
}

TEST(SxpRoundTrip, RandomValuesSurviveCompactAndPrettyPrinting) {
  std::mt19937 rng(20240611);
  for (int i = 0; i < 2000; ++i) {
    Value v = RandomValue(rng, 0);
    auto compact = Parse(ToString(v));
    ASSERT_TRUE(compact.ok()) << ToString(v) << ": " << compact.status().ToString();
    EXPECT_EQ(*compact, v) << ToString(v);
    auto pretty = Parse(PrettyPrint(v, 20));
    ASSERT_TRUE(pretty.ok()) << PrettyPrint(v, 20);
    EXPECT_EQ(*pretty, v) << PrettyPrint(v, 20);
  }
}

TEST(SxpRoundTrip, ParsePrintIsStableForXendText) {
  std::string text =
      "(domain (domid 3) (name demo) (image (linux (kernel /boot/vmlinuz) "
      "(args 'root=/dev/xvda1 ro') (notes (FEATURES "
      "'!writable_page_tables|pae_pgdir_above_4gb')))) "
      "(cpus (() ())) (description ''))";
  EXPECT_EQ(ToString(P(text)), text);
}

TEST(SxpPrettyPrint, ShortListsStayOnOneLine) {
  EXPECT_EQ(PrettyPrint(P("(vcpus 2)")), "(vcpus 2)\n");
  EXPECT_EQ(PrettyPrint(Value("atom")), "atom\n");
  EXPECT_EQ(PrettyPrint(Value::List()), "()\n");
}

TEST(SxpPrettyPrint, LikeXmListLong) {
  Value v =
      P("(domain (domid 7) (cpu_weight 256) (cpu_cap 0) (bootloader '') (vcpus 2) "
        "(cpus (() ())) (name demo) (maxmem 512) (memory 512) "
        "(image (linux (kernel /boot/vmlinuz-2.6.32-5-xen-amd64) "
        "(ramdisk /boot/initrd.img-2.6.32-5-xen-amd64) (args 'root=/dev/xvda1 ro console=hvc0'))) "
        "(status 2) (device (vif (mac 00:16:3e:00:00:01) (bridge xenbr0))))");
  EXPECT_EQ(PrettyPrint(v),
            "(domain\n"
            "    (domid 7)\n"
            "    (cpu_weight 256)\n"
            "    (cpu_cap 0)\n"
            "    (bootloader '')\n"
            "    (vcpus 2)\n"
            "    (cpus (() ()))\n"
            "    (name demo)\n"
            "    (maxmem 512)\n"
            "    (memory 512)\n"
            "    (image\n"
            "        (linux\n"
            "            (kernel /boot/vmlinuz-2.6.32-5-xen-amd64)\n"
            "            (ramdisk /boot/initrd.img-2.6.32-5-xen-amd64)\n"
            "            (args 'root=/dev/xvda1 ro console=hvc0')\n"
            "        )\n"
            "    )\n"
            "    (status 2)\n"
            "    (device (vif (mac 00:16:3e:00:00:01) (bridge xenbr0)))\n"
            ")\n");
}

TEST(SxpPrettyPrint, ListAsFirstItemAndNarrowWidth) {
  // As in `(cpus ((4 5 6 ...) (4 5 6 ...)))` of a many-CPU host.
  Value v = P("(cpus ((0 1 2 3 4 5 6 7) (0 1 2 3 4 5 6 7)))");
  EXPECT_EQ(PrettyPrint(v, 30),
            "(cpus\n"
            "    ((0 1 2 3 4 5 6 7)\n"
            "        (0 1 2 3 4 5 6 7)\n"
            "    )\n"
            ")\n");
}

TEST(SxpPrettyPrint, OverlongAtomsStillBreakLikeXend) {
  Value v = P("(a " + std::string(90, 'x') + " (b c))");
  EXPECT_EQ(PrettyPrint(v), "(a\n    " + std::string(90, 'x') + "\n    (b c)\n)\n");
}

TEST(SxpAccessors, NameChildChildValueChildren) {
  Value vm =
      P("(vm (name demo) (memory 512) (memory 1024) (bootloader) (image (linux (kernel /k))) "
        "(device (vbd (dev xvda))) (device (vif)) nonlist)");
  EXPECT_EQ(Name(vm), "vm");
  EXPECT_EQ(Name(Value("atom")), "");
  EXPECT_EQ(Name(P("((a) b)")), "");

  ASSERT_NE(Child(vm, "image"), nullptr);
  EXPECT_EQ(Name(*ChildAt(*Child(vm, "image"), 0)), "linux");
  EXPECT_EQ(Child(vm, "missing"), nullptr);
  EXPECT_EQ(Child(vm, "vm"), nullptr) << "the name itself is not a child";

  EXPECT_EQ(ChildValue(vm, "memory"), "512") << "first match wins";
  EXPECT_EQ(ChildValue(vm, "missing", "dflt"), "dflt");
  EXPECT_EQ(ChildValue(vm, "bootloader", "none"), "none") << "(bootloader) has no value";
  EXPECT_EQ(FindChildValue(vm, "image"), std::nullopt) << "a list is not an atom value";
  EXPECT_EQ(FindChildValue(vm, "name"), "demo");

  auto devices = Children(vm, "device");
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(Name(*ChildAt(*devices[1], 0)), "vif");
  EXPECT_TRUE(Children(Value("atom"), "x").empty());
  EXPECT_EQ(ChildAt(vm, 99), nullptr);
}

}  // namespace
}  // namespace txend::sxp

namespace txend::sxp {
namespace {

// Arbitrary bytes never crash the parser; failures are EINVAL/E2BIG with a position.
TEST(SxpRobustness, RandomBytesAndMutationsFailCleanly) {
  std::mt19937 rng(4242);
  const std::string seed_text =
      "(vm (name 'demo') (image (linux (kernel /boot/k) (args \"a\\tb\"))) (device (vbd (dev "
      "xvda))))";
  const std::string alphabet = "()'\"\\# \nabc019x:-\x01\x7f\xc3";
  int parsed = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string text = seed_text;
    int edits = std::uniform_int_distribution<int>(1, 6)(rng);
    for (int e = 0; e < edits; ++e) {
      size_t pos = std::uniform_int_distribution<size_t>(0, text.size())(rng);
      char c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
      switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
        case 0:
          text.insert(pos, 1, c);
          break;
        case 1:
          if (pos < text.size()) text.erase(pos, 1);
          break;
        default:
          if (pos < text.size()) text[pos] = c;
          break;
      }
    }
    auto r = Parse(text);
    if (r.ok()) {
      ++parsed;
      EXPECT_EQ(Parse(ToString(*r)).value(), *r) << text;
    } else {
      EXPECT_EQ(r.status().code(), EINVAL) << text;
      EXPECT_EQ(r.status().message().rfind("sxp:", 0), 0u) << r.status().message();
    }
  }
  EXPECT_GT(parsed, 100) << "mutations should not all be fatal";
  EXPECT_LT(parsed, 5000);
}

}  // namespace
}  // namespace txend::sxp
