#include "base/flags.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace malaria::base {
namespace {

// Parses `args` (without the program name) with a parser holding one flag of each kind.
struct Parsed {
  absl::StatusOr<bool> result;
  std::string run;
  int tta = 0;
  double threshold = 0.5;
  bool strict = false;
  std::vector<std::string> sets, positional;
};

Parsed ParseArgs(std::vector<std::string> args, bool positional = true,
                 FlagParser* keep = nullptr) {
  Parsed p;
  FlagParser local("tool --run DIR [flags] IMAGE...", "Does things.");
  FlagParser& flags = keep != nullptr ? *keep : local;
  flags.String("run", &p.run, "the run");
  flags.Int("tta", &p.tta, "flips");
  flags.Double("threshold", &p.threshold, "a threshold");
  flags.Bool("strict", &p.strict, "stop on bad images");
  flags.Strings("set", &p.sets, "an override");
  if (positional) flags.Positional("IMAGE", &p.positional);
  std::vector<char*> argv = {const_cast<char*>("tool")};
  for (std::string& a : args) argv.push_back(a.data());
  p.result = flags.Parse(static_cast<int>(argv.size()), argv.data());
  return p;
}

TEST(FlagParserTest, ParsesEveryFormAndKeepsPositionalArguments) {
  const Parsed p = ParseArgs({"--run", "r1", "a.png", "--tta=2", "--strict", "--threshold", "0.25",
                              "--set", "x=1", "--set=y=2", "--", "--odd.png"});
  ASSERT_TRUE(p.result.ok()) << p.result.status();
  EXPECT_TRUE(*p.result);
  EXPECT_EQ(p.run, "r1");
  EXPECT_EQ(p.tta, 2);
  EXPECT_DOUBLE_EQ(p.threshold, 0.25);
  EXPECT_TRUE(p.strict);
  EXPECT_EQ(p.sets, (std::vector<std::string>{"x=1", "y=2"}));
  EXPECT_EQ(p.positional, (std::vector<std::string>{"a.png", "--odd.png"}));
}

TEST(FlagParserTest, HelpPrintsTheUsageAndStops) {
  testing::internal::CaptureStdout();
  const Parsed p = ParseArgs({"--run", "r", "--help"});
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(p.result.ok());
  EXPECT_FALSE(*p.result);
  EXPECT_NE(out.find("usage: tool --run DIR [flags] IMAGE..."), std::string::npos) << out;
  EXPECT_NE(out.find("--tta N"), std::string::npos) << out;
  EXPECT_NE(out.find("--strict "), std::string::npos) << out;
  EXPECT_EQ(out.find("needs a value"), std::string::npos) << out;
}

TEST(FlagParserTest, ErrorsNameTheFlagAndShowTheUsage) {
  const struct {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"--tta"}, "--tta needs a value"},
      {{"--tta", "two"}, "--tta: 'two' is not an integer"},
      {{"--threshold=x"}, "--threshold: 'x' is not a number"},
      {{"--strict=maybe"}, "--strict: 'maybe' is not true or false"},
      {{"--colour", "red"}, "unknown flag '--colour'"},
  };
  for (const auto& c : cases) {
    const Parsed p = ParseArgs(c.args);
    ASSERT_FALSE(p.result.ok()) << c.message;
    EXPECT_EQ(p.result.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string m(p.result.status().message());
    EXPECT_NE(m.find(c.message), std::string::npos) << m;
    EXPECT_NE(m.find("usage: tool"), std::string::npos) << m;
  }
  const Parsed p = ParseArgs({"stray"}, /*positional=*/false);
  EXPECT_NE(p.result.status().message().find("unexpected argument 'stray'"), std::string::npos);
}

TEST(FlagParserTest, ArgumentsWithoutDropsOneFlagInEveryForm) {
  FlagParser flags("tool");
  const Parsed p =
      ParseArgs({"--run", "r", "--tta", "1", "a.png", "--tta=2", "--set", "k=v"}, true, &flags);
  ASSERT_TRUE(p.result.ok()) << p.result.status();
  EXPECT_EQ(flags.ArgumentsWithout("tta"),
            (std::vector<std::string>{"--run", "r", "a.png", "--set", "k=v"}));
}

// Paths the user typed are made absolute against the folder the command started in (bazel run's
// BUILD_WORKING_DIRECTORY); absolute ones stay.
TEST(FlagParserTest, PathsAreResolvedAgainstTheUsersFolder) {
  setenv("BUILD_WORKING_DIRECTORY", "/home/me/work", 1);
  std::string data;
  std::vector<std::string> runs, images;
  FlagParser flags("tool");
  flags.Path("data", &data, "cells");
  flags.Paths("run", &runs, "runs");
  flags.PositionalPaths("IMAGE", &images);
  std::vector<std::string> args = {"tool",  "--data", "cells", "--run=runs/a",
                                   "--run", "/abs/b", "x.png", "../y.png"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  const absl::StatusOr<bool> go = flags.Parse(static_cast<int>(argv.size()), argv.data());
  unsetenv("BUILD_WORKING_DIRECTORY");
  ASSERT_TRUE(go.ok()) << go.status();
  EXPECT_EQ(data, "/home/me/work/cells");
  EXPECT_EQ(runs, (std::vector<std::string>{"/home/me/work/runs/a", "/abs/b"}));
  EXPECT_EQ(images, (std::vector<std::string>{"/home/me/work/x.png", "/home/me/y.png"}));
  // What the tool launches again keeps the user's own spelling.
  EXPECT_EQ(flags.ArgumentsWithout("data"),
            (std::vector<std::string>{"--run=runs/a", "--run", "/abs/b", "x.png", "../y.png"}));
}

TEST(FlagParserTest, RequiredFlagsAndArgumentsAreNamedWhenMissing) {
  const auto parse = [](std::vector<std::string> args) {
    std::string run;
    std::vector<std::string> images;
    FlagParser flags("tool --run DIR IMAGE...");
    flags.String("run", &run, "the run");
    flags.Positional("IMAGE", &images);
    flags.Require({"run", "IMAGE"});
    args.insert(args.begin(), "tool");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return flags.Parse(static_cast<int>(argv.size()), argv.data());
  };
  EXPECT_TRUE(parse({"--run", "r", "a.png"}).ok());
  const absl::Status none = parse({}).status();
  EXPECT_EQ(none.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.message().find("--run and at least one IMAGE are required\nusage: tool"),
            std::string::npos)
      << none;
  EXPECT_NE(parse({"a.png"}).status().message().find("--run is required"), std::string::npos);
  EXPECT_NE(parse({"--run=r"}).status().message().find("at least one IMAGE is required"),
            std::string::npos);
  // --help still prints the usage and stops, required flags or not.
  EXPECT_FALSE(*parse({"--help"}));
}

}  // namespace
}  // namespace malaria::base
