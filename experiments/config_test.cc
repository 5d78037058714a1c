#include "experiments/config.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/files.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "gtest/gtest.h"

// The deprecated config fields are used on purpose: this tests how they are read.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace malaria::experiments {
namespace {

constexpr char kValid[] = R"pb(
  name: "test"
  data { image_size: 64 batch_size: 8 }
  model { architecture: "resnet18" }
  training {
    stage {
      name: "stage1"
      epochs: 2
      freeze_to: -1
      lr { max: 3e-3 }
    }
    stage {
      name: "stage2"
      epochs: 1
      lr { slice { start: 1e-6 stop: 1e-5 } }
    }
  }
)pb";

ExperimentConfig Valid() {
  absl::StatusOr<ExperimentConfig> c = ParseExperimentConfig(kValid, "valid.pbtxt");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

void ExpectInvalid(const ExperimentConfig& c, const std::string& field) {
  const absl::Status s = ValidateExperimentConfig(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
  EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
}

// Unset fields whose absence means something stay unset: fastai's slice(stop) keeps no start (the
// body gets stop / 10, not an error about start 0). The split's seed is written out as the one the
// run's seed stands for, so the saved config names its validation patients; one set stays.
TEST(ConfigTest, FillingDefaultsKeepsWhatUnsetMeans) {
  ExperimentConfig c = Valid();
  c.set_seed(42);
  c.mutable_training()->mutable_stage(1)->mutable_lr()->mutable_slice()->clear_start();
  FillDefaults(&c);
  EXPECT_FALSE(c.training().stage(1).lr().slice().has_start());
  EXPECT_TRUE(c.training().stage(1).lr().slice().has_stop());
  EXPECT_TRUE(ValidateExperimentConfig(c).ok()) << ValidateExperimentConfig(c);
  ASSERT_TRUE(c.data().split().has_seed());
  EXPECT_EQ(c.data().split().seed(), 42u);

  ExperimentConfig own = Valid();
  own.set_seed(43);
  own.mutable_data()->mutable_split()->set_seed(0);
  FillDefaults(&own);
  EXPECT_EQ(own.data().split().seed(), 0u);
}

// Sets the float or double field `path` (a list of fields from the root, repeated ones at index 0)
// of `config` to `value`, making the messages on the way. Returns the path as problems name it.
std::string SetNumber(google::protobuf::Message* message,
                      const std::vector<const google::protobuf::FieldDescriptor*>& path,
                      double value) {
  using google::protobuf::FieldDescriptor;
  std::string name;
  for (size_t i = 0; i < path.size(); ++i) {
    const FieldDescriptor* f = path[i];
    const google::protobuf::Reflection* r = message->GetReflection();
    absl::StrAppend(&name, name.empty() ? "" : ".", f->name(), f->is_repeated() ? "[0]" : "");
    if (i + 1 < path.size()) {
      if (!f->is_repeated()) {
        message = r->MutableMessage(message, f);
      } else {
        message = r->FieldSize(*message, f) > 0 ? r->MutableRepeatedMessage(message, f, 0)
                                                : r->AddMessage(message, f);
      }
      continue;
    }
    const bool is_float = f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT;
    if (!f->is_repeated()) {
      is_float ? r->SetFloat(message, f, value) : r->SetDouble(message, f, value);
    } else if (r->FieldSize(*message, f) > 0) {
      is_float ? r->SetRepeatedFloat(message, f, 0, value)
               : r->SetRepeatedDouble(message, f, 0, value);
    } else {
      is_float ? r->AddFloat(message, f, value) : r->AddDouble(message, f, value);
    }
  }
  return name;
}

// Every float and double field of ExperimentConfig, as paths of fields from the root.
void NumberFields(const google::protobuf::Descriptor* d,
                  std::vector<const google::protobuf::FieldDescriptor*>& path,
                  std::vector<std::vector<const google::protobuf::FieldDescriptor*>>* out) {
  using google::protobuf::FieldDescriptor;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->options().deprecated()) continue;  // upgraded into their fields when read
    path.push_back(f);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      NumberFields(f->message_type(), path, out);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT ||
               f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
      out->push_back(path);
    }
    path.pop_back();
  }
}

// No number of any package's config may be NaN or infinite, and the problem names the field.
TEST(ConfigTest, EveryNumberMustBeFinite) {
  std::vector<std::vector<const google::protobuf::FieldDescriptor*>> fields;
  std::vector<const google::protobuf::FieldDescriptor*> path;
  NumberFields(ExperimentConfig::descriptor(), path, &fields);
  ASSERT_GE(fields.size(), 38u);  // every float and double of every package
  for (const auto& field : fields) {
    for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
      ExperimentConfig c = Valid();
      FillDefaults(&c);
      const std::string name = SetNumber(&c, field, bad);
      const absl::Status s = ValidateExperimentConfig(c);
      EXPECT_NE(s.message().find(absl::StrCat(name, ": must be a finite number")),
                std::string::npos)
          << name << " = " << bad << ": " << s;
    }
  }
}

// The rules the training ingredients apply when they are built are config rules too: what
// validate_config and a sweep accept, a run accepts.
TEST(ConfigTest, IngredientSettingsAreValidatedWithTheConfig) {
  ExperimentConfig c = Valid();
  c.mutable_training()->mutable_lookahead()->set_steps(5);
  c.mutable_training()->mutable_lookahead()->set_alpha(2);
  ExpectInvalid(c, "training.lookahead.alpha: must be in (0, 1], got 2");
  c = Valid();
  c.mutable_training()->mutable_lookahead()->set_steps(-1);
  ExpectInvalid(c, "training.lookahead.steps: must be >= 0");
  c = Valid();
  c.mutable_training()->mutable_stage(1)->mutable_optimizer()->set_bn_lr_scale(-4);
  ExpectInvalid(c, "training.stage[1].optimizer.bn_lr_scale: must be >= 0");
  c = Valid();
  c.mutable_data()->mutable_augmentation()->set_enabled(false);
  c.mutable_data()->mutable_augmentation()->set_alternate_flips(true);
  ExpectInvalid(c, "data.augmentation.alternate_flips: needs the augmentation enabled");
  c = Valid();
  c.mutable_training()->set_device(training::DEVICE_CPU);
  c.mutable_training()->set_precision(training::FLOAT16);
  ExpectInvalid(c, "training.precision: FLOAT16 is CUDA mixed precision");
}

// A network that cannot be trained in this machine's memory is refused with its size, before
// anything is built.
TEST(ConfigTest, AModelTooLargeForTheMachineIsRefusedWithItsSize) {
  ExperimentConfig c = Valid();
  ASSERT_TRUE(ApplyOverride("model.architecture=resnet", &c).ok());
  ASSERT_TRUE(ApplyOverride("model.shape.widths=[4096, 4096, 4096, 4096]", &c).ok());
  ASSERT_TRUE(ApplyOverride("model.shape.blocks=[64, 64, 64, 64]", &c).ok());
  const absl::Status s = ValidateExperimentConfig(c);
  EXPECT_NE(s.message().find("model: needs at least "), std::string::npos) << s;
  EXPECT_NE(s.message().find("(77.4 billion parameters"), std::string::npos) << s;
  EXPECT_NE(s.message().find("GiB of memory"), std::string::npos) << s;
}

TEST(ConfigTest, ValidConfigPassesAndFillsEveryDefault) {
  ExperimentConfig c = Valid();
  EXPECT_TRUE(ValidateExperimentConfig(c).ok());
  FillDefaults(&c);
  EXPECT_TRUE(ValidateExperimentConfig(c).ok()) << ValidateExperimentConfig(c);
  EXPECT_TRUE(c.data().has_batch_size());
  EXPECT_TRUE(c.data().augmentation().has_max_rotate());
  EXPECT_FLOAT_EQ(c.data().augmentation().max_rotate(), 10);
  EXPECT_TRUE(c.data().split().has_random());
  EXPECT_EQ(c.data().normalization().mean_size(), 3);
  EXPECT_EQ(c.model().head().dropout_size(), 2);
  EXPECT_FLOAT_EQ(c.model().head().dropout(0), 0.25);
  EXPECT_TRUE(c.training().stage(0).one_cycle().has_div_factor());
  EXPECT_TRUE(c.training().stage(1).optimizer().has_weight_decay());
  // A oneof stays as it was: lr.max is not added beside lr.slice.
  EXPECT_TRUE(c.training().stage(1).lr().has_slice());
  const std::string text = ToText(c);
  EXPECT_NE(text.find("pct_start: 0.3"), std::string::npos) << text;
  EXPECT_NE(text.find("max_lighting: 0.2"), std::string::npos);
}

TEST(ConfigTest, UnknownFieldIsAnErrorWithLineAndColumn) {
  const absl::StatusOr<ExperimentConfig> c =
      ParseExperimentConfig("name: 'x'\ndata {\n  image_sise: 64\n}\n", "bad.pbtxt");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("bad.pbtxt:3:"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("image_sise"), std::string::npos);
}

TEST(ConfigTest, SyntaxErrorAndMissingFileNameTheFile) {
  const absl::StatusOr<ExperimentConfig> c =
      ParseExperimentConfig("data { image_size: }", "x.pbtxt");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("x.pbtxt:1:"), std::string::npos) << c.status();
  const absl::StatusOr<ExperimentConfig> missing = LoadExperimentConfig("/no/such/config.pbtxt");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/no/such/config.pbtxt"), std::string::npos);
}

// A config without a name takes its file's; an empty name given in the file is refused, as
// `--set name=` is.
TEST(ConfigTest, AnEmptyNameIsRefusedAnAbsentOneIsTheFiles) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  ASSERT_TRUE(base::WriteFileAtomically(dir + "/unnamed.pbtxt", "seed: 3\n").ok());
  EXPECT_EQ(LoadExperimentConfig(dir + "/unnamed.pbtxt")->name(), "unnamed");
  ASSERT_TRUE(base::WriteFileAtomically(dir + "/empty.pbtxt", "name: \"\"\n").ok());
  const absl::Status s = LoadExperimentConfig(dir + "/empty.pbtxt").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("empty.pbtxt: name: is empty"), std::string::npos) << s;
  ExperimentConfig c;
  EXPECT_FALSE(ApplyOverride("name=", &c).ok() && ValidateExperimentConfig(c).ok());
}

// Configs and runs written before the training ingredients had messages of their own read as
// they did; an override of a deprecated field lands in its new one.
TEST(ConfigTest, DeprecatedTrainingFieldsAreReadIntoTheirNewOnes) {
  const absl::StatusOr<ExperimentConfig> c = ParseExperimentConfig(
      "training { monitor: 'valid_loss' ema_decay: 0.999 label_smoothing: 0.1 }", "old.pbtxt");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->training().best_epoch_by(), training::TrainingConfig::VALID_LOSS);
  EXPECT_EQ(c->training().weight_average().decay(), 0.999);
  EXPECT_EQ(c->training().loss().label_smoothing(), 0.1);
  EXPECT_FALSE(c->training().has_ema_decay());
  ExperimentConfig d = *c;
  ASSERT_TRUE(ApplyOverride("training.mixup_alpha=0.4", &d).ok());
  EXPECT_EQ(d.training().mixup().alpha(), 0.4);
  EXPECT_FALSE(d.training().has_mixup_alpha());
  const absl::Status both = ApplyOverride("training.ema_decay=0.9", &d);
  EXPECT_NE(both.message().find("training.ema_decay: the deprecated spelling"), std::string::npos)
      << both;
  const absl::Status unknown =
      ParseExperimentConfig("training { monitor: 'f1' }", "f.pbtxt").status();
  EXPECT_NE(unknown.message().find("f.pbtxt: training.monitor: must be"), std::string::npos)
      << unknown;
}

TEST(ConfigTest, SemanticRulesNameTheField) {
  ExperimentConfig c = Valid();
  c.mutable_training()->mutable_stage(0)->set_epochs(0);
  ExpectInvalid(c, "training.stage[0].epochs");

  c = Valid();
  c.mutable_training()->mutable_stage(1)->mutable_lr()->mutable_slice()->set_start(1e-4);
  ExpectInvalid(c, "training.stage[1].lr.slice");

  c = Valid();
  c.mutable_training()->mutable_stage(0)->mutable_lr()->set_max(-1);
  ExpectInvalid(c, "training.stage[0].lr.max");

  c = Valid();
  c.mutable_training()->mutable_stage(0)->clear_lr();
  ExpectInvalid(c, "training.stage[0].lr");

  c = Valid();
  c.mutable_model()->set_architecture("resnet35");
  ExpectInvalid(c, "model.architecture");

  c = Valid();
  c.mutable_data()->mutable_split()->mutable_random()->set_valid_pct(1.5);
  ExpectInvalid(c, "data.split.random.valid_pct");

  c = Valid();
  c.mutable_training()->clear_stage();
  ExpectInvalid(c, "training.stage");

  c = Valid();
  c.mutable_training()->mutable_stage(1)->set_name("stage1");
  ExpectInvalid(c, "training.stage[1].name");

  c = Valid();
  c.mutable_data()->set_image_size(16);
  ExpectInvalid(c, "data.image_size");
}

TEST(ConfigTest, AllProblemsAreReportedTogether) {
  ExperimentConfig c = Valid();
  c.mutable_training()->mutable_stage(0)->set_epochs(-1);
  c.mutable_data()->set_batch_size(0);
  const absl::Status s = ValidateExperimentConfig(c);
  EXPECT_NE(s.message().find("training.stage[0].epochs"), std::string::npos);
  EXPECT_NE(s.message().find("data.batch_size"), std::string::npos);
}

TEST(ConfigTest, OverridesSetScalarsEnumsStringsMessagesAndLists) {
  ExperimentConfig c = Valid();
  ASSERT_TRUE(ApplyOverride("data.image_size=96", &c).ok());
  EXPECT_EQ(c.data().image_size(), 96);
  ASSERT_TRUE(ApplyOverride("training.stage[1].epochs=7", &c).ok());
  EXPECT_EQ(c.training().stage(1).epochs(), 7);
  ASSERT_TRUE(ApplyOverride("data.path=/data/cell images", &c).ok());
  EXPECT_EQ(c.data().path(), "/data/cell images");
  ASSERT_TRUE(ApplyOverride("training.device=DEVICE_CPU", &c).ok());
  EXPECT_EQ(c.training().device(), training::DEVICE_CPU);
  ASSERT_TRUE(ApplyOverride("training.stage[0].lr={slice {start: 1e-5 stop: 1e-3}}", &c).ok());
  EXPECT_TRUE(c.training().stage(0).lr().has_slice());
  EXPECT_FALSE(c.training().stage(0).lr().has_max());
  ASSERT_TRUE(ApplyOverride("training.stage[0].lr.max=0.01", &c).ok());
  EXPECT_DOUBLE_EQ(c.training().stage(0).lr().max(), 0.01);
  EXPECT_FALSE(c.training().stage(0).lr().has_slice());
  ASSERT_TRUE(ApplyOverride("model.head.dropout=[0.1, 0.2]", &c).ok());
  EXPECT_EQ(c.model().head().dropout_size(), 2);
  ASSERT_TRUE(ApplyOverride("data.augmentation.enabled=false", &c).ok());
  EXPECT_FALSE(c.data().augmentation().enabled());
  ASSERT_TRUE(ApplyOverride(" seed = 7 ", &c).ok());
  EXPECT_EQ(c.seed(), 7u);
}

TEST(ConfigTest, BadOverridesNameWhatIsWrong) {
  ExperimentConfig c = Valid();
  const ExperimentConfig before = c;
  auto message = [&](const std::string& o) { return std::string(ApplyOverride(o, &c).message()); };
  EXPECT_NE(message("data.image_sise=64").find("no field 'image_sise'"), std::string::npos);
  EXPECT_NE(message("data.image_size=big").find("cannot parse"), std::string::npos);
  EXPECT_NE(message("training.stage[5].epochs=1").find("out of range"), std::string::npos);
  EXPECT_NE(message("data.image_size").find("field.path=value"), std::string::npos);
  EXPECT_NE(message("data.image_size.x=1").find("not a message"), std::string::npos);
  EXPECT_NE(message("training.device=DEVICE_TPU").find("cannot parse"), std::string::npos);
  // A failed override leaves the config unchanged.
  EXPECT_EQ(ToText(c), ToText(before));
}

}  // namespace
}  // namespace malaria::experiments
