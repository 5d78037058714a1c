#include "training/progress.h"

#include <unistd.h>

#include <cmath>

#include "absl/strings/str_format.h"
#include "training/training_config.pb.h"

namespace malaria::training {

ProgressPrinter::ProgressPrinter(std::FILE* out, int is_terminal, double interval_seconds)
    : out_(out),
      terminal_(is_terminal < 0 ? ::isatty(::fileno(out)) != 0 : is_terminal != 0),
      interval_(interval_seconds) {}

std::string ProgressPrinter::FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return absl::StrFormat("%02d:%02d", s / 60, s % 60);
}

std::string ProgressPrinter::FormatRow(const EpochResult& r) {
  return absl::StrFormat("%-6d %-11.6f %-11.6f %-9.6f %-10.6f %s", r.epoch, r.train_loss,
                         r.valid_loss, r.accuracy, r.error_rate, FormatDuration(r.seconds));
}

void ProgressPrinter::StageHeader(const std::string& title) {
  absl::FPrintF(out_, "\n%s\n%-6s %-11s %-11s %-9s %-10s %s\n", title, "epoch", "train_loss",
                "valid_loss", "accuracy", "error_rate", "time");
  std::fflush(out_);
}

absl::Status ProgressPrinter::OnBatchEnd(FitState& s) {
  if (s.epoch != last_epoch_) {
    last_epoch_ = s.epoch;
    last_printed_ = -1;
  }
  const double elapsed = s.epoch_seconds;
  const double per_batch = elapsed / std::max(1, s.batch);
  const double eta = per_batch * (s.batches - s.batch);
  const double images_per_second =
      static_cast<double>(s.batch) * s.batch_size * s.world_size / std::max(1e-9, elapsed);
  const std::string line =
      absl::StrFormat("epoch %d/%d  batch %d/%d  %.1f img/s  loss %.4f  eta %s", s.epoch, s.epochs,
                      s.batch, s.batches, images_per_second, s.smooth_loss, FormatDuration(eta));
  if (terminal_) {
    absl::FPrintF(out_, "\r\033[K%s", line);
    line_open_ = true;
    std::fflush(out_);
  } else if (last_printed_ < 0 ? elapsed >= interval_ : elapsed - last_printed_ >= interval_) {
    last_printed_ = elapsed;
    absl::FPrintF(out_, "  %s %s\n", s.stage != nullptr ? s.stage->name() : "", line);
    std::fflush(out_);
  }
  return absl::OkStatus();
}

absl::Status ProgressPrinter::OnEpochEnd(FitState& s) {
  if (s.epoch_result != nullptr) PrintRow(*s.epoch_result);
  return absl::OkStatus();
}

void ProgressPrinter::PrintRow(const EpochResult& r) {
  if (line_open_) absl::FPrintF(out_, "\r\033[K");
  line_open_ = false;
  absl::FPrintF(out_, "%s%s\n", FormatRow(r), r.is_best ? "  *" : "");
  std::fflush(out_);
}

}  // namespace malaria::training
