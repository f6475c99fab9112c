#include "sxp/tape.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace txend::sxp {
namespace {

using Index = Tape::Index;

TEST(SxpTape, ReadsNodesInPlace) {
  std::string text = "(domain (name 'a b') (memory (1)) (vcpus) 7 (x y z) (name second))";
  auto tape = Tape::ParseOne(text);
  ASSERT_TRUE(tape.ok()) << tape.status().ToString();
  ASSERT_TRUE(tape->is_list(0));
  EXPECT_EQ(tape->size(0), 7u);
  EXPECT_EQ(tape->next(0), tape->end());
  EXPECT_EQ(tape->atom(1), "domain");
  EXPECT_EQ(tape->FindChildValue(0, "name"), "a b") << "quoted atoms come back unescaped";
  EXPECT_EQ(tape->FindChildValue(0, "memory"), std::nullopt) << "a list, not an atom";
  EXPECT_EQ(tape->FindChildValue(0, "vcpus"), std::nullopt) << "no value";
  EXPECT_EQ(tape->FindChildValue(0, "x"), "y");
  EXPECT_EQ(tape->FindChildValue(0, "domain"), std::nullopt) << "the name is not a child";
  EXPECT_EQ(tape->FindChildValue(0, "absent"), std::nullopt);
  auto memory = tape->Child(0, "memory");
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(tape->size(*memory), 2u);
  EXPECT_EQ(tape->ToValue(*memory), Value::List({"memory", Value::List({"1"})}));
}

TEST(SxpTape, SequencesAndErrorsAreParseAllsAndParses) {
  auto all = Tape::ParseSequence("a (b) 'c d' # end");
  ASSERT_TRUE(all.ok());
  std::vector<Value> roots;
  for (Index i = 0; i < all->end(); i = all->next(i)) roots.push_back(all->ToValue(i));
  EXPECT_EQ(roots, (std::vector<Value>{"a", Value::List({"b"}), "c d"}));
  EXPECT_TRUE(Tape::ParseSequence("  # nothing\n").value().empty());
  for (std::string_view bad : {"(vm\n  (name 'demo", "(a))", "", "(a \x01)", "'\\777'"})
    EXPECT_EQ(Tape::ParseOne(bad).status().ToString(), Parse(bad).status().ToString()) << bad;
}

// Random lists of named children: the tape's accessors answer as the Value's do.
Value RandomDomain(std::mt19937& rng) {
  const char* names[] = {"name", "memory", "vcpus", "state", "x y"};
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  Value d = Value::List({"domain"});
  for (int i = pick(8); i > 0; --i) {
    Value kid = Value::List({names[pick(5)]});
    for (int j = pick(3); j > 0; --j)
      kid.Add(pick(4) == 0 ? Value::List({"n"}) : Value(std::string(pick(3), "a'\n"[pick(3)])));
    d.Add(pick(6) == 0 ? Value("bare") : kid);
  }
  return d;
}

TEST(SxpTape, AnswersAsTheValueAccessorsDo) {
  std::mt19937 rng(20261205);
  for (int i = 0; i < 2000; ++i) {
    Value d = RandomDomain(rng);
    std::string text = ToString(d);
    auto tape = Tape::ParseOne(text);
    ASSERT_TRUE(tape.ok()) << text;
    EXPECT_EQ(tape->ToValue(0), d) << text;
    for (const char* name : {"name", "memory", "vcpus", "state", "x y", "domain", "n"}) {
      auto want = FindChildValue(d, name);
      auto got = tape->FindChildValue(0, name);
      EXPECT_EQ(got.has_value(), want.has_value()) << text << " " << name;
      if (got && want) {
        EXPECT_EQ(*got, *want) << text << " " << name;
      }
    }
  }
}

}  // namespace
}  // namespace txend::sxp
