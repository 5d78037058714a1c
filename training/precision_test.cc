#include "training/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/cpu_peak.h"
#include "gtest/gtest.h"
#include "training/ingredient.h"
#include "training/step.h"

namespace malaria::training {
namespace {

TEST(PrecisionTest, OnlyCudaMixedPrecisionAddsTheCallback) {
  TrainingConfig config;
  std::vector<std::unique_ptr<Callback>> out;
  IngredientContext cpu;
  ASSERT_TRUE(AddMixedPrecision(config, cpu, &out).ok());
  EXPECT_TRUE(out.empty());  // FLOAT32
  config.set_precision(FLOAT16);
  const absl::Status refused = AddMixedPrecision(config, cpu, &out);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("training.precision: FLOAT16 is CUDA mixed precision"),
            std::string::npos)
      << refused;
  IngredientContext cuda;
  cuda.device = torch::Device(torch::kCUDA, 0);
  ASSERT_TRUE(AddMixedPrecision(config, cuda, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(dynamic_cast<MixedPrecision*>(out[0].get())->scaler(), nullptr);
}

// Which precision runs where: bfloat16 on the CPU only with its units, whichever host runs this.
TEST(PrecisionTest, BFloat16OnTheCpuNeedsItsUnits) {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  for (bool units : {false, true}) {
    EXPECT_TRUE(CheckPrecision(FLOAT32, cpu, units).ok());
    EXPECT_TRUE(CheckPrecision(FLOAT16, cuda, units).ok());
    EXPECT_TRUE(CheckPrecision(BFLOAT16, cuda, units).ok());
    EXPECT_EQ(CheckPrecision(FLOAT16, cpu, units).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(CheckPrecision(BFLOAT16, cpu, true).ok());
  const absl::Status lacking = CheckPrecision(BFLOAT16, cpu, false);
  EXPECT_EQ(lacking.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(lacking.message().find("training.precision: BFLOAT16 on the CPU needs bfloat16 "
                                   "arithmetic units (AVX512_BF16, or AMX), which this CPU lacks"),
            std::string::npos)
      << lacking;
  // BFLOAT16_WHERE_AVAILABLE: bfloat16 on CUDA and with the units, float32 without them.
  EXPECT_EQ(ResolvePrecision(BFLOAT16_WHERE_AVAILABLE, cpu, true), BFLOAT16);
  EXPECT_EQ(ResolvePrecision(BFLOAT16_WHERE_AVAILABLE, cpu, false), FLOAT32);
  EXPECT_EQ(ResolvePrecision(BFLOAT16_WHERE_AVAILABLE, cuda, false), BFLOAT16);
  EXPECT_EQ(ResolvePrecision(BFLOAT16, cpu, false), BFLOAT16);  // then refused by CheckPrecision
  EXPECT_EQ(ResolvePrecision(FLOAT16, cuda, true), FLOAT16);
  EXPECT_EQ(CpuInferencePrecision(BFLOAT16_WHERE_AVAILABLE, true), BFLOAT16);
  EXPECT_EQ(CpuInferencePrecision(BFLOAT16, false), FLOAT32);
  EXPECT_EQ(CpuInferencePrecision(FLOAT16, true), FLOAT32);
  // The run's context says whether its CPU has the units (SetUpCompute asks once): the callback
  // with them, the refusal without; where available, the callback or nothing (float32).
  for (const bool units : {true, false}) {
    IngredientContext context;
    context.cpu_has_bfloat16 = units;
    TrainingConfig config;
    config.set_precision(BFLOAT16);
    std::vector<std::unique_ptr<Callback>> out;
    const absl::Status added = AddMixedPrecision(config, context, &out);
    EXPECT_EQ(added.ok(), units) << added;
    EXPECT_EQ(out.size(), units ? 1u : 0u);
    out.clear();
    config.set_precision(BFLOAT16_WHERE_AVAILABLE);
    ASSERT_TRUE(AddMixedPrecision(config, context, &out).ok());
    EXPECT_EQ(out.size(), units ? 1u : 0u);
  }
}

// oneDNN capped below its bfloat16 kernels (tools/cpu_paths_check.sh runs the suite so) counts as
// a CPU without the units; uncapped, or capped at them, as the CPU is.
TEST(PrecisionTest, ACappedOneDnnIsACpuWithoutBFloat16Units) {
  const bool units = base::PeakUnitSupported(base::PeakUnit::kAvx512Bf16Dot);
  const char* before = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string saved = before == nullptr ? "" : before;
  ::setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1);
  EXPECT_FALSE(CpuHasBfloat16Units());
  ::setenv("ONEDNN_MAX_CPU_ISA", "avx512_core_bf16", 1);
  EXPECT_EQ(CpuHasBfloat16Units(), units);
  ::unsetenv("ONEDNN_MAX_CPU_ISA");
  EXPECT_EQ(CpuHasBfloat16Units(), units);
  if (before != nullptr) ::setenv("ONEDNN_MAX_CPU_ISA", saved.c_str(), 1);
}

// Where the CPU has the units, autocast runs the convolution in bfloat16 while the weights, their
// gradients, BatchNorm's running statistics and the logits the loss reads stay float32. (Below
// AVX-512, oneDNN has no bfloat16 convolution at all: the refusal above is what such hosts test.)
TEST(PrecisionTest, CpuAutocastRunsConvolutionsInBFloat16AndKeepsFloat32State) {
  if (!CpuHasBfloat16Units())
    GTEST_SKIP() << "this CPU (or its capped oneDNN) has no bfloat16 units";
  torch::manual_seed(0);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 8, 3).bias(false));
  torch::nn::BatchNorm2d bn(8);
  torch::nn::Linear fc(8, 2);
  MixedPrecision amp(BFLOAT16, torch::kCPU);
  StepTensors step;
  FitState state;
  state.step = &step;
  const torch::Tensor x = torch::randn({4, 3, 10, 10});
  ASSERT_TRUE(amp.OnForwardBegin(state).ok());
  EXPECT_TRUE(at::autocast::is_cpu_enabled());
  EXPECT_FALSE(at::autocast::is_enabled());  // CUDA's autocast untouched
  const torch::Tensor features = conv->forward(x);
  EXPECT_EQ(features.scalar_type(), torch::kBFloat16);
  step.logits = fc->forward(torch::relu(bn->forward(features)).mean({2, 3}));
  ASSERT_TRUE(amp.OnForwardEnd(state).ok());
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(step.logits.scalar_type(), torch::kFloat);
  torch::nn::functional::cross_entropy(step.logits, torch::tensor({0, 1, 0, 1})).backward();
  EXPECT_EQ(conv->weight.scalar_type(), torch::kFloat);
  EXPECT_EQ(conv->weight.grad().scalar_type(), torch::kFloat);
  EXPECT_EQ(bn->running_mean.scalar_type(), torch::kFloat);
  // The bfloat16 convolution is the float32 one to bfloat16's 8 bits of mantissa.
  const torch::Tensor exact = conv->forward(x);
  EXPECT_TRUE(torch::allclose(features.to(torch::kFloat), exact, /*rtol=*/2e-2, /*atol=*/5e-2));
  EXPECT_FALSE(torch::equal(features.to(torch::kFloat), exact));
}

// Autocast is on exactly during the forward pass, and off again after a forward pass that threw
// (OnFitEnd), or when the callback goes.
TEST(PrecisionTest, AutocastCoversTheForwardPassAndIsTornDown) {
  MixedPrecision amp(BFLOAT16);
  EXPECT_EQ(amp.scaler(), nullptr);
  StepTensors step;
  FitState state;
  state.step = &step;
  ASSERT_TRUE(amp.OnForwardBegin(state).ok());
  EXPECT_TRUE(at::autocast::is_enabled());
  step.logits = torch::zeros({2, 2}, torch::kDouble);
  ASSERT_TRUE(amp.OnForwardEnd(state).ok());
  EXPECT_FALSE(at::autocast::is_enabled());
  EXPECT_EQ(step.logits.scalar_type(), torch::kFloat);
  ASSERT_TRUE(amp.OnForwardBegin(state).ok());  // ... and the forward pass throws
  amp.OnFitEnd(state, absl::InternalError("thrown"));
  EXPECT_FALSE(at::autocast::is_enabled());
  {
    MixedPrecision dropped(BFLOAT16);
    ASSERT_TRUE(dropped.OnForwardBegin(state).ok());
  }
  EXPECT_FALSE(at::autocast::is_enabled());
}

// Training under CPU bfloat16 autocast learns what float32 learns: a bright-centre vs dark-centre
// problem, the same initial weights and batches, 40 AdamW steps each way.
TEST(PrecisionTest, CpuBFloat16TrainingMatchesFloat32OnASeparableProblem) {
  if (!CpuHasBfloat16Units())
    GTEST_SKIP() << "this CPU (or its capped oneDNN) has no bfloat16 units";
  auto train = [](MixedPrecision* amp) {
    torch::manual_seed(1);
    torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).bias(false)),
                              torch::nn::BatchNorm2d(4), torch::nn::ReLU(),
                              torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                              torch::nn::Linear(4, 2));
    torch::optim::AdamW adam(net->parameters(), torch::optim::AdamWOptions(1e-2));
    torch::Tensor labels = torch::randint(0, 2, {64});
    torch::Tensor images = torch::randn({64, 1, 8, 8}) * 0.5;
    images.index_put_(
        {torch::indexing::Slice(), 0, torch::indexing::Slice(2, 6), torch::indexing::Slice(2, 6)},
        images.index({torch::indexing::Slice(), 0, torch::indexing::Slice(2, 6),
                      torch::indexing::Slice(2, 6)}) +
            (labels.to(torch::kFloat) * 2 - 1).view({64, 1, 1}));
    StepTensors step;
    FitState state;
    state.step = &step;
    double loss = 0;
    for (int i = 0; i < 40; ++i) {
      if (amp != nullptr) EXPECT_TRUE(amp->OnForwardBegin(state).ok());
      step.logits = net->forward(images);
      if (amp != nullptr) EXPECT_TRUE(amp->OnForwardEnd(state).ok());
      torch::Tensor l = torch::nn::functional::cross_entropy(step.logits, labels);
      adam.zero_grad();
      l.backward();
      adam.step();
      loss = l.item<double>();
    }
    net->eval();
    const double accuracy =
        net->forward(images).argmax(1).eq(labels).to(torch::kFloat).mean().item<double>();
    return std::make_pair(loss, accuracy);
  };
  const auto [fp32_loss, fp32_accuracy] = train(nullptr);
  MixedPrecision amp(BFLOAT16, torch::kCPU);
  const auto [bf16_loss, bf16_accuracy] = train(&amp);
  EXPECT_LT(fp32_loss, 0.3);
  EXPECT_GE(fp32_accuracy, 0.95);
  EXPECT_LT(bf16_loss, 0.3);
  EXPECT_GE(bf16_accuracy, 0.95);
  EXPECT_NEAR(bf16_loss, fp32_loss, 0.05);
  EXPECT_NE(bf16_loss, fp32_loss);  // the autocast run did compute in bfloat16
}

// float16's loss scaling: the loss scaled before backward, the gradients unscaled after it, and
// a step whose gradients overflowed skipped.
TEST(PrecisionTest, Float16ScalesTheLossAndSkipsOverflowingSteps) {
  MixedPrecision amp(FLOAT16);
  const double scale = amp.scaler()->scale();
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(0.1));
  StepTensors step;
  FitState state;
  state.step = &step;
  state.optimizer = &sgd;
  step.loss = (w * w).sum();
  ASSERT_TRUE(amp.OnBackwardBegin(state).ok());
  EXPECT_DOUBLE_EQ(step.loss.item<double>(), 3 * scale);
  step.loss.backward();
  ASSERT_TRUE(amp.OnBackwardEnd(state).ok());
  EXPECT_FALSE(state.skip_step);
  EXPECT_TRUE(torch::allclose(w.grad(), torch::full({3}, 2.0)));
  w.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 1.0f});
  ASSERT_TRUE(amp.OnBackwardEnd(state).ok());
  EXPECT_TRUE(state.skip_step);
  EXPECT_EQ(amp.scaler()->skipped_steps(), 1);
}

}  // namespace
}  // namespace malaria::training
