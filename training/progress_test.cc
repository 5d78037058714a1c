#include "training/progress.h"

#include <cstdio>
#include <string>

#include "base/test_util.h"
#include "gtest/gtest.h"
#include "training/training_config.pb.h"

namespace malaria::training {
namespace {

std::string Captured(std::FILE* f) { return base::ReadAll(f); }

TEST(ProgressTest, DurationsAsFastaiShowsThem) {
  EXPECT_EQ(ProgressPrinter::FormatDuration(0), "00:00");
  EXPECT_EQ(ProgressPrinter::FormatDuration(75.4), "01:15");
  EXPECT_EQ(ProgressPrinter::FormatDuration(3725), "1:02:05");
}

TEST(ProgressTest, TableRowHasTheStudyColumns) {
  EpochResult r;
  r.epoch = 3;
  r.train_loss = 0.123456;
  r.valid_loss = 0.1;
  r.accuracy = 0.967;
  r.error_rate = 0.033;
  r.seconds = 62;
  EXPECT_EQ(ProgressPrinter::FormatRow(r),
            "3      0.123456    0.100000    0.967000  0.033000   01:02");
}

TEST(ProgressTest, PlainOutputPrintsPeriodicLinesOnly) {
  std::FILE* f = std::tmpfile();
  ProgressPrinter printer(f, /*is_terminal=*/0, /*interval_seconds=*/10);
  StageConfig stage;
  stage.set_name("s1");
  FitState p;
  p.stage = &stage;
  p.epoch = 1;
  p.epochs = 2;
  p.batches = 100;
  p.batch_size = 16;
  for (int b = 1; b <= 100; ++b) {
    p.batch = b;
    p.epoch_seconds = b * 0.5;  // 50 s in all: lines at 10, 20, 30, 40, 50 s
    ASSERT_TRUE(printer.OnBatchEnd(p).ok());
  }
  const std::string out = Captured(f);
  int lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 5) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("  s1 epoch 1/2  batch 20/100  32.0 img/s"), std::string::npos) << out;
  std::fclose(f);
}

TEST(ProgressTest, TerminalOutputRedrawsOneLine) {
  std::FILE* f = std::tmpfile();
  ProgressPrinter printer(f, /*is_terminal=*/1);
  FitState p;
  p.epoch = 1;
  p.epochs = 1;
  p.batches = 3;
  for (int b = 1; b <= 3; ++b) {
    p.batch = b;
    p.epoch_seconds = b;
    ASSERT_TRUE(printer.OnBatchEnd(p).ok());
  }
  EpochResult r;
  r.epoch = 1;
  p.epoch_result = &r;
  ASSERT_TRUE(printer.OnEpochEnd(p).ok());
  const std::string out = Captured(f);
  int lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 1);
  EXPECT_NE(out.find("\r"), std::string::npos);
  std::fclose(f);
}

}  // namespace
}  // namespace malaria::training
