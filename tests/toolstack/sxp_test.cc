#include "toolstack/sxp.h"

#include <gtest/gtest.h>

namespace txend::sxp {
namespace {

TEST(Sxp, ParsesXendSyntax) {
  auto v = Parse("(domain (domid 3) (name 'my vm') # a comment\n (image (linux (kernel /boot/vmlinuz))))");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->name(), "domain");
  EXPECT_EQ(v->Get("domid"), "3");
  EXPECT_EQ(v->Get("name"), "my vm");
  EXPECT_EQ(v->Child("image")->Child("linux")->Get("kernel"), "/boot/vmlinuz");
  EXPECT_EQ(v->Get("missing", "dflt"), "dflt");
  EXPECT_FALSE(v->Find("missing"));
}

TEST(Sxp, StringEscapes) {
  auto v = Parse(R"(("a\tb\n" 'it\'s' "\x41\101" "\q"))");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->items()[0].atom(), "a\tb\n");
  EXPECT_EQ(v->items()[1].atom(), "it's");
  EXPECT_EQ(v->items()[2].atom(), "AA");
  EXPECT_EQ(v->items()[3].atom(), "\\q");  // unknown escapes keep their backslash
}

TEST(Sxp, ShowQuotesLikeXend) {
  Value v = Value::List({Value::Atom("vbd"), Value::Pair("uname", "phy:/dev/vg/disk-1"),
                         Value::Pair("args", "root=/dev/xvda1 ro"), Value::Pair("q", "it's"),
                         Value::Pair("empty", "")});
  EXPECT_EQ(Show(v), "(vbd (uname phy:/dev/vg/disk-1) (args 'root=/dev/xvda1 ro') (q 'it\\'s') (empty ''))");
  EXPECT_EQ(Quote("a'b\"c"), "'a\\'b\"c'");
  EXPECT_EQ(Quote("tab\there"), "'tab\\there'");
}

TEST(Sxp, RoundTripsThroughShowAndParse) {
  const char* text = "(vm (name demo) (memory 256) (image (linux (kernel /k) (args 'console=hvc0 x=\"1\"'))) "
                     "(device (vif (mac 00:16:3e:00:00:01))))";
  auto v = Parse(text);
  ASSERT_TRUE(v.ok());
  auto again = Parse(Show(*v));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*v, *again);
}

TEST(Sxp, PrettyPrintBreaksLongListsOnly) {
  auto v = Parse("(domain (domid 1) (name demo) (image (linux (kernel /boot/vmlinuz-6.1.0-amd64) "
                 "(ramdisk /boot/initrd.img-6.1.0-amd64) (args 'console=hvc0 root=/dev/xvda1 ro'))))");
  std::string pretty = PrettyPrint(*v);
  EXPECT_EQ(pretty,
            "(domain\n"
            "    (domid 1)\n"
            "    (name demo)\n"
            "    (image\n"
            "        (linux\n"
            "            (kernel /boot/vmlinuz-6.1.0-amd64)\n"
            "            (ramdisk /boot/initrd.img-6.1.0-amd64)\n"
            "            (args 'console=hvc0 root=/dev/xvda1 ro')\n"
            "        )\n"
            "    )\n"
            ")");
  EXPECT_EQ(PrettyPrint(*Parse("(a (b c))")), "(a (b c))");
}

TEST(Sxp, BadInputGivesLineAndColumn) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"(a (b c)", "1:9: unexpected end of input: missing ')'"},
      {"(a\n  'open", "2:8: unexpected end of input in a string"},
      {")", "1:1: unexpected ')'"},
      {"(a) (b)", "more than one value"},
      {"", "no value"},
      {"(a \x01)", "invalid character"},
      {"(\"\\777\")", "invalid numeric escape"},
  };
  for (const auto& c : cases) {
    auto r = Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.text << " -> " << r.status().message();
  }
}

TEST(Sxp, DeepNestingIsRefusedNotACrash) {
  std::string deep(100000, '(');
  auto r = Parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace txend::sxp
