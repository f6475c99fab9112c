// ChildMap against std::map: the same operations give the same contents, in
// order, and a copy taken before a change never sees it.
#include "xsd/child_map.h"

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
