#include "base/shell.h"

#include "gtest/gtest.h"

namespace malaria::base {
namespace {

TEST(ShellTest, QuotedArgumentsReachTheCommandUnchanged) {
  bool ok = false;
  const std::string odd = "it's a \"test\" $HOME `x` \\ *";
  EXPECT_EQ(CaptureCommand("printf %s " + ShellQuote(odd), &ok), odd);
  EXPECT_TRUE(ok);
}

TEST(ShellTest, AFailingCommandIsNotOk) {
  bool ok = true;
  EXPECT_EQ(CaptureCommand("echo partial; exit 3", &ok), "partial\n");
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace malaria::base
