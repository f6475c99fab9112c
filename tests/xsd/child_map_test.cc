// ChildMap against std::map: the same operations give the same contents, in
// order, and a copy taken before a change never sees it — across page splits
// and merges, and for names that share their first bytes.
#include "xsd/child_map.h"

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "xsd/tree.h"

namespace txend::xsd {
namespace {

using Model = std::map<std::string, std::string>;

NodePtr NodeWith(const std::string& value) {
  auto node = std::make_shared<Node>();
  node->value = value;
  return node;
}

Model Contents(const ChildMap& map) {
  Model out;
  std::string last;
  map.ForEach([&](const std::string& name, const NodePtr& child) {
    EXPECT_TRUE(out.empty() || last < name) << "out of order: " << last << " then " << name;
    last = name;
    out.emplace(name, child->value);
  });
  EXPECT_EQ(out.size(), map.size());
  return out;
}

// Contents, plus a lookup of every name and of names just beside them.
void ExpectSame(const ChildMap& map, const Model& model) {
  EXPECT_EQ(Contents(map), model);
  for (const auto& [name, value] : model) {
    const Node* child = map.Find(name);
    ASSERT_NE(child, nullptr) << name;
    EXPECT_EQ(child->value, value);
    for (std::string near : {name + '\0', name + "x", name.substr(0, name.size() - 1)}) {
      if (!model.count(near)) {
        EXPECT_EQ(map.Find(near), nullptr) << near;
      }
    }
  }
}

// Names of every length around the 8 bytes a key holds, many sharing them.
std::string RandomName(std::mt19937& random, int range) {
  std::string n = std::to_string(random() % range);
  switch (random() % 4) {
    case 0:
      return n;
    case 1:
      return "backend-" + n;  // 8 shared bytes
    case 2:
      return "fronten" + n;  // 7 shared bytes
    default:
      return std::string("a\0", 2) + n;  // a NUL inside
  }
}

TEST(ChildMap, InsertFindEraseInOrder) {
  ChildMap map;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.Find("a"), nullptr);
  for (const char* name : {"m", "c", "x", "a", "e", "z"}) map.Insert(name, NodeWith(name));
  ASSERT_NE(map.Find("e"), nullptr);
  EXPECT_EQ(map.Find("e")->value, "e");
  EXPECT_EQ(map.Find("f"), nullptr);
  EXPECT_EQ(Contents(map),
            (Model{{"a", "a"}, {"c", "c"}, {"e", "e"}, {"m", "m"}, {"x", "x"}, {"z", "z"}}));
  EXPECT_TRUE(map.Erase("m"));  // two children
  EXPECT_TRUE(map.Erase("z"));  // a leaf
  EXPECT_FALSE(map.Erase("q"));
  EXPECT_EQ(Contents(map), (Model{{"a", "a"}, {"c", "c"}, {"e", "e"}, {"x", "x"}}));
}

TEST(ChildMap, InsertOfAnExistingNameReplacesItsChild) {
  ChildMap map;
  map.Insert("a", NodeWith("1"));
  Node* child = map.Insert("a", NodeWith("2"));
  EXPECT_EQ(child->value, "2");
  EXPECT_EQ(map.Find("a"), child);
  EXPECT_EQ(map.size(), 1u);
}

TEST(ChildMap, ACopyNeverSeesLaterChanges) {
  ChildMap map;
  for (int i = 0; i < 1000; ++i) map.Insert("k" + std::to_string(i), NodeWith("old"));
  ChildMap copy = map;
  Model before = Contents(copy);
  map.FindMutable("k500")->value = "new";
  map.Erase("k10");
  map.Insert("k1000", NodeWith("new"));
  EXPECT_EQ(Contents(copy), before);
  EXPECT_EQ(map.Find("k500")->value, "new");
  EXPECT_EQ(map.Find("k10"), nullptr);
  EXPECT_EQ(map.size(), 1000u);
}

// Random operations on one map with copies taken along the way: every copy
// keeps the contents it had when taken, and the map matches the model.
TEST(ChildMap, RandomOperationsMatchAMapAndCopiesStayFrozen) {
  std::mt19937 random(17);
  ChildMap map;
  Model model;
  std::vector<std::pair<ChildMap, Model>> copies;
  for (int step = 0; step < 20000; ++step) {
    std::string name = "n" + std::to_string(random() % 500);
    std::string value = std::to_string(step);
    switch (random() % 4) {
      case 0:
      case 1:
        map.Insert(name, NodeWith(value));
        model[name] = value;
        break;
      case 2:
        EXPECT_EQ(map.Erase(name), model.erase(name) == 1);
        break;
      case 3:
        if (Node* child = map.FindMutable(name)) {
          ASSERT_TRUE(model.count(name));
          child->value = value;
          model[name] = value;
        } else {
          EXPECT_FALSE(model.count(name));
        }
        break;
    }
    if (step % 1000 == 0) copies.emplace_back(map, model);
  }
  EXPECT_EQ(Contents(map), model);
  for (const auto& [copy, frozen] : copies) EXPECT_EQ(Contents(copy), frozen);
}

// Many seeds and sizes: small maps stay in one page, larger ones split and
// merge pages at every level, and copies along the way must not move.
TEST(ChildMap, RandomNamesOfEveryLengthMatchAMapAcrossSplitsAndMerges) {
  for (int range : {10, 40, 300, 3000}) {
    for (unsigned seed = 1; seed <= 4; ++seed) {
      std::mt19937 random(seed);
      ChildMap map;
      Model model;
      std::vector<std::pair<ChildMap, Model>> copies;
      for (int step = 0; step < 6 * range; ++step) {
        std::string name = RandomName(random, range);
        std::string value = std::to_string(step);
        if (random() % 3 == 0) {
          EXPECT_EQ(map.Erase(name), model.erase(name) == 1) << name;
        } else if (Node* child = map.FindMutable(name)) {
          ASSERT_TRUE(model.count(name)) << name;
          child->value = model[name] = value;
        } else {
          ASSERT_FALSE(model.count(name)) << name;
          map.Insert(name, NodeWith(value));
          model[name] = value;
        }
        ASSERT_EQ(map.size(), model.size());
        if (step % (range / 2) == 0) copies.emplace_back(map, model);
      }
      ExpectSame(map, model);
      for (const auto& [copy, frozen] : copies) ExpectSame(copy, frozen);
    }
  }
}

// Fills to each size at which a page splits or a level is added, then
// empties from either end, which merges pages and borrows from neighbours on
// one side only; a copy taken at each boundary keeps its contents.
TEST(ChildMap, SplitsAndMergesAtThePageBoundaries) {
  const size_t n = ChildMap::kPageSlots;
  for (size_t size : {n, n + 1, 2 * n, 2 * n + 1, n * n / 2, n * n, n * n + 1, n * n * n + 1}) {
    for (bool from_front : {true, false}) {
      ChildMap map;
      Model model;
      std::vector<std::pair<ChildMap, Model>> copies;
      auto name = [](size_t i) {
        char buf[32];
        snprintf(buf, sizeof buf, "%08zu", i);  // 8 bytes: every key ties
        return std::string(buf);
      };
      for (size_t i = 0; i < size; ++i) {
        map.Insert(name(i), NodeWith(name(i)));
        model[name(i)] = name(i);
        if (i + 1 == n || i + 1 == n + 1 || i + 1 == n * n) copies.emplace_back(map, model);
      }
      ExpectSame(map, model);
      for (size_t k = 0; k < size; ++k) {
        size_t i = from_front ? k : size - 1 - k;
        ASSERT_TRUE(map.Erase(name(i))) << i;
        model.erase(name(i));
        if (k % n == 0) {
          ASSERT_EQ(Contents(map), model) << size << " after erasing " << k + 1;
        }
        if (k % (size / 8 + 1) == 0) copies.emplace_back(map, model);
      }
      EXPECT_TRUE(map.empty());
      for (const auto& [copy, frozen] : copies) ExpectSame(copy, frozen);
    }
  }
}

TEST(ChildMap, FindMutableCopiesAChildAnotherMapHolds) {
  ChildMap map;
  map.Insert("a", NodeWith("old"));
  ChildMap copy = map;
  Node* mine = map.FindMutable("a");
  EXPECT_NE(mine, copy.Find("a"));
  mine->value = "new";
  EXPECT_EQ(copy.Find("a")->value, "old");
  EXPECT_EQ(map.FindMutable("a"), mine);  // now unshared: no second copy
}

TEST(ChildMap, EmptiesCompletelyInAnyOrder) {
  ChildMap map;
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back(std::to_string(i * 7919 % 1000));
  for (const auto& n : names) map.Insert(n, NodeWith(n));
  ChildMap copy = map;
  std::shuffle(names.begin(), names.end(), std::mt19937(3));
  for (const auto& n : names) EXPECT_TRUE(map.Erase(n)) << n;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(Contents(map), Model{});
  EXPECT_EQ(copy.size(), 300u);
}

}  // namespace
}  // namespace txend::xsd
