#include "training/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/cpu_peak.h"
#include "inference/autocast.h"
#include "training/ingredient.h"
#include "training/step.h"

namespace malaria::training {

MixedPrecision::MixedPrecision(Precision precision, torch::DeviceType device)
    : precision_(precision), device_(device) {
  if (precision == FLOAT16) scaler_ = std::make_unique<DynamicLossScaler>();
}

MixedPrecision::~MixedPrecision() { AutocastOff(); }

void MixedPrecision::AutocastOff() { autocast_.reset(); }

absl::Status MixedPrecision::OnForwardBegin(FitState& state) {
  autocast_.emplace(device_, precision_ == FLOAT16 ? at::kHalf : at::kBFloat16);
  return absl::OkStatus();
}

absl::Status MixedPrecision::OnForwardEnd(FitState& state) {
  AutocastOff();
  if (state.step->logits.defined()) state.step->logits = state.step->logits.to(torch::kFloat);
  return absl::OkStatus();
}

absl::Status MixedPrecision::OnBackwardBegin(FitState& state) {
  if (scaler_ != nullptr) state.step->loss = scaler_->Scale(state.step->loss);
  return absl::OkStatus();
}

absl::Status MixedPrecision::OnBackwardEnd(FitState& state) {
  if (scaler_ == nullptr || state.optimizer == nullptr) return absl::OkStatus();
  std::vector<torch::Tensor> params;
  for (const auto& group : state.optimizer->param_groups()) {
    params.insert(params.end(), group.params().begin(), group.params().end());
  }
  if (!scaler_->UnscaleAndCheck(params)) state.skip_step = true;  // overflow: no update
  return absl::OkStatus();
}

void MixedPrecision::OnFitEnd(FitState& state, const absl::Status& outcome) { AutocastOff(); }

bool CpuHasBfloat16Units() {
  if (!base::PeakUnitSupported(base::PeakUnit::kAvx512Bf16Dot)) return false;
  // oneDNN capped below its bfloat16 kernels (ONEDNN_MAX_CPU_ISA, as tools/cpu_paths_check.sh caps
  // it to run another host's code) emulates bfloat16 or cannot run it: as a CPU without the units.
  for (const char* name : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    const std::string isa = absl::AsciiStrToUpper(value);
    if (isa != "ALL" && isa != "DEFAULT" && !absl::StrContains(isa, "BF16") &&
        !absl::StrContains(isa, "AMX")) {
      return false;
    }
  }
  return true;
}

Precision ResolvePrecision(Precision configured, const torch::Device& device,
                           bool cpu_has_bfloat16) {
  if (configured != BFLOAT16_WHERE_AVAILABLE) return configured;
  return device.is_cuda() || (device.is_cpu() && cpu_has_bfloat16) ? BFLOAT16 : FLOAT32;
}

absl::Status CheckPrecision(Precision precision, const torch::Device& device,
                            bool cpu_has_bfloat16) {
  if (precision == FLOAT32 || device.is_cuda()) return absl::OkStatus();
  const std::string name = Precision_Name(precision);
  if (!device.is_cpu()) {
    return absl::InvalidArgumentError(absl::StrCat("training.precision: ", name,
                                                   " runs on CUDA or the CPU; this run uses ",
                                                   device.str(), " (use FLOAT32)"));
  }
  if (precision == FLOAT16) {
    return absl::InvalidArgumentError(
        "training.precision: FLOAT16 is CUDA mixed precision; this run uses the CPU (use BFLOAT16 "
        "on a CPU with AVX512_BF16 units, BFLOAT16_WHERE_AVAILABLE, or FLOAT32)");
  }
  if (!cpu_has_bfloat16) {
    return absl::InvalidArgumentError(
        "training.precision: BFLOAT16 on the CPU needs bfloat16 arithmetic units (AVX512_BF16, "
        "or AMX), which this CPU lacks (oneDNN emulates bfloat16 more slowly than float32, and "
        "below AVX-512 not at all; use BFLOAT16_WHERE_AVAILABLE or FLOAT32)");
  }
  return absl::OkStatus();
}

Precision CpuInferencePrecision(Precision trained, bool cpu_has_bfloat16) {
  const bool bfloat16 = trained == BFLOAT16 || trained == BFLOAT16_WHERE_AVAILABLE;
  return bfloat16 && cpu_has_bfloat16 ? BFLOAT16 : FLOAT32;
}

absl::Status AddMixedPrecision(const TrainingConfig& config, const IngredientContext& context,
                               std::vector<std::unique_ptr<Callback>>* out) {
  const bool units = context.cpu_has_bfloat16;
  const Precision precision = ResolvePrecision(config.precision(), context.device, units);
  if (precision == FLOAT32) return absl::OkStatus();
  if (absl::Status s = CheckPrecision(precision, context.device, units); !s.ok()) return s;
  out->push_back(std::make_unique<MixedPrecision>(precision, context.device.type()));
  return absl::OkStatus();
}

}  // namespace malaria::training
