#include "base/text_table.h"

#include "gtest/gtest.h"

namespace malaria::base {
namespace {

TEST(TextTableTest, AlignsColumnsToTheWidestCell) {
  const TextTable t{"", {"run", "acc"}, {{"a/1", "0.9512"}, {"long/run", "-"}}};
  EXPECT_EQ(FormatTextTable(t, /*rule=*/false),
            "run       acc\n"
            "a/1       0.9512\n"
            "long/run  -\n");
}

TEST(TextTableTest, RuleUnderTheHeader) {
  const TextTable t{"", {"x", "value"}, {{"1", "2"}}};
  EXPECT_EQ(FormatTextTable(t, /*rule=*/true),
            "x  value\n"
            "-  -----\n"
            "1  2\n");
}

TEST(TextTableTest, ShortRowsAndNoRows) {
  EXPECT_EQ(FormatTextTable({"", {"a", "b"}, {{"1"}}}, false), "a  b\n1\n");
  EXPECT_EQ(FormatTextTable({"", {"a"}, {}}, true), "a\n-\n");
}

}  // namespace
}  // namespace malaria::base
