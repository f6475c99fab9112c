// What xm lets through to the terminal, byte by byte.
#include "cli/terminal_text.h"

#include <sstream>

#include <gtest/gtest.h>

namespace txend::xm {
namespace {

TEST(TerminalSafe, KeepsTextEscapesWhatATerminalWouldAct) {
  EXPECT_EQ(TerminalSafe("Domain-0\tweb 1\n"), "Domain-0\tweb 1\n");
  EXPECT_EQ(TerminalSafe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");  // é € 🐧
  EXPECT_EQ(TerminalSafe("\x1b]0;title\x07\x1b[2J\r\b\x7f"),
            "\\x1b]0;title\\x07\\x1b[2J\\x0d\\x08\\x7f");
  EXPECT_EQ(TerminalSafe(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(TerminalSafe("\xc2\x9b"
                         "31m"),
            "\\xc2\\x9b31m")
      << "C1 CSI";
  EXPECT_EQ(TerminalSafe("\xe2\x80\xae"
                         "gnp.exe"),
            "\\xe2\\x80\\xaegnp.exe")
      << "RLO";
  EXPECT_EQ(TerminalSafe("\x9b"
                         "2J"),
            "\\x9b2J")
      << "a lone 8-bit CSI";
  EXPECT_EQ(TerminalSafe("\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80"),
            "\\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80")
      << "overlong, surrogate, beyond U+10FFFF";
  EXPECT_EQ(TerminalSafe("\xe2\x82"), "\\xe2\\x82") << "cut short";
}

TEST(TerminalSafe, ASequenceSplitBetweenWritesIsKeptWhole) {
  TerminalSafeFilter filter;
  std::string out = filter.Feed("caf\xc3");
  out += filter.Feed("\xa9 \xf0\x9f");
  out += filter.Feed("\x90\xa7\x1b");
  out += filter.Finish();
  EXPECT_EQ(out, "caf\xc3\xa9 \xf0\x9f\x90\xa7\\x1b");

  std::ostringstream sink;
  {
    TerminalSafeStream safe(sink);
    safe << "name: " << std::string("\xe2\x82") << std::string("\xac") << '\x1b' << 42 << "\n";
    safe << "\xe2";  // never finished
  }
  EXPECT_EQ(sink.str(), "name: \xe2\x82\xac\\x1b42\n\\xe2");
}

}  // namespace
}  // namespace txend::xm
