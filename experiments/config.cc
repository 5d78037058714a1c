#include "experiments/config.h"

#include <cmath>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/field_options.pb.h"
#include "base/files.h"
#include "base/machine.h"
#include "base/problems.h"
#include "base/text_proto.h"
#include "data/data_config.h"
#include "evaluation/evaluation_config.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/text_format.h"
#include "models/model_config.h"
#include "models/model_size.h"
#include "training/training_config.h"

namespace malaria::experiments {
namespace {

namespace pb = google::protobuf;

// Sets every unset optional field to its default, recursively, but those in an unset oneof and
// those declared [(malaria.keep_unset) = true] (whose being unset means something a default would
// not).
void MaterializeDefaults(pb::Message* message) {
  const pb::Descriptor* d = message->GetDescriptor();
  const pb::Reflection* r = message->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int j = 0; j < r->FieldSize(*message, f); ++j) {
          MaterializeDefaults(r->MutableRepeatedMessage(message, f, j));
        }
      }
      continue;
    }
    if (f->containing_oneof() != nullptr && !r->HasField(*message, f)) continue;
    if (f->options().GetExtension(malaria::keep_unset)) continue;
    if (f->options().deprecated()) continue;  // read into its new field when parsed
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        MaterializeDefaults(r->MutableMessage(message, f));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        if (!r->HasField(*message, f)) r->SetInt32(message, f, f->default_value_int32());
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        if (!r->HasField(*message, f)) r->SetInt64(message, f, f->default_value_int64());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        if (!r->HasField(*message, f)) r->SetUInt32(message, f, f->default_value_uint32());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        if (!r->HasField(*message, f)) r->SetUInt64(message, f, f->default_value_uint64());
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        if (!r->HasField(*message, f)) r->SetDouble(message, f, f->default_value_double());
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        if (!r->HasField(*message, f)) r->SetFloat(message, f, f->default_value_float());
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        if (!r->HasField(*message, f)) r->SetBool(message, f, f->default_value_bool());
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        if (!r->HasField(*message, f)) r->SetEnum(message, f, f->default_value_enum());
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        if (!r->HasField(*message, f)) r->SetString(message, f, f->default_value_string());
        break;
    }
  }
}

}  // namespace

absl::StatusOr<ExperimentConfig> ParseExperimentConfig(const std::string& text,
                                                       const std::string& source) {
  ExperimentConfig config;
  base::TextProtoErrors errors(source);
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config) || !errors.errors().empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  if (absl::Status s = training::UpgradeTrainingConfig(config.mutable_training()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  }
  return config;
}

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path) {
  absl::StatusOr<std::string> text = base::ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("experiment config ", path, " does not exist"));
    }
    return text.status();
  }
  absl::StatusOr<ExperimentConfig> config = ParseExperimentConfig(*text, path);
  if (!config.ok()) return config;
  if (config->has_name() && config->name().empty()) {
    // As `--set name=` is: an empty name is refused, not replaced.
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": name: is empty; leave the field out to name the experiment after the file"));
  }
  if (config->name().empty()) config->set_name(std::filesystem::path(path).stem().string());
  return config;
}

namespace {

// SetField is ApplyOverride without the upgrade of deprecated fields.
absl::Status SetField(const std::string& assignment, ExperimentConfig* config) {
  const size_t eq = assignment.find('=');
  auto fail = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("override '", assignment, "': ", why));
  };
  if (eq == std::string::npos || eq == 0) return fail("expected field.path=value");
  const std::string path(absl::StripAsciiWhitespace(assignment.substr(0, eq)));
  std::string value(absl::StripAsciiWhitespace(assignment.substr(eq + 1)));

  pb::Message* message = config;
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string name = parts[i];
    int index = -1;
    if (const size_t open = name.find('['); open != std::string::npos) {
      if (name.back() != ']' ||
          !absl::SimpleAtoi(name.substr(open + 1, name.size() - open - 2), &index) || index < 0) {
        return fail(absl::StrCat("bad index in '", name, "'"));
      }
      name = name.substr(0, open);
    }
    const pb::Descriptor* d = message->GetDescriptor();
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) return fail(absl::StrCat(d->name(), " has no field '", name, "'"));
    const pb::Reflection* r = message->GetReflection();
    const bool last = i + 1 == parts.size();
    if (index >= 0) {
      if (!f->is_repeated()) return fail(absl::StrCat("'", name, "' is not a repeated field"));
      const int size = r->FieldSize(*message, f);
      if (index >= size) {
        return fail(
            absl::StrCat("'", name, "' has ", size, " entries; [", index, "] is out of range"));
      }
      if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return fail(absl::StrCat("set the whole list instead: ", name, "=[...]"));
      }
      message = r->MutableRepeatedMessage(message, f, index);
      if (last) {
        // Replace the whole entry: `training.stage[0]={name: 'a' epochs: 1 ...}`.
        std::string body = value;
        if (body.size() >= 2 && body.front() == '{' && body.back() == '}') {
          body = body.substr(1, body.size() - 2);
        }
        std::unique_ptr<pb::Message> entry(message->New());
        if (absl::Status parsed = base::ParseTextProto(body, "value", entry.get()); !parsed.ok()) {
          return fail(absl::StrCat("cannot parse '", value, "' as ", f->message_type()->name(),
                                   ": ", parsed.message()));
        }
        message->CopyFrom(*entry);
        return absl::OkStatus();
      }
      continue;
    }
    if (!last) {
      if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
        return fail(absl::StrCat("'", name, "' is not a message field"));
      }
      message = r->MutableMessage(message, f);
      continue;
    }
    // The last part: clear the field, then let the text-format parser set it (with the usual
    // type checks and oneof rules).
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && !f->is_repeated() &&
        !(value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
          value.back() == value.front())) {
      value = absl::StrCat("\"", absl::CEscape(value), "\"");
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !value.empty() &&
        value.front() != '{' && value.front() != '[') {
      value = absl::StrCat("{", value, "}");
    }
    std::unique_ptr<pb::Message> scratch(message->New());
    scratch->CopyFrom(*message);
    r->ClearField(scratch.get(), f);
    base::TextProtoErrors errors("value");
    pb::TextFormat::Parser parser;
    parser.RecordErrorsTo(&errors);
    if (!parser.MergeFromString(absl::StrCat(name, ": ", value), scratch.get())) {
      return fail(absl::StrCat("cannot parse '", value, "' for ", d->name(), ".", name, ": ",
                               absl::StrJoin(errors.errors(), "; ")));
    }
    message->CopyFrom(*scratch);
    return absl::OkStatus();
  }
  return fail("empty field path");
}

// Adds a problem for every float or double field of `message` (recursively) that is not a finite
// number: no rule of any package means anything for NaN or infinity.
void RequireFiniteNumbers(const pb::Message& message, const base::ConfigProblems& p) {
  const pb::Descriptor* d = message.GetDescriptor();
  const pb::Reflection* r = message.GetReflection();
  auto check = [&](double v, const std::string& field) {
    if (!std::isfinite(v)) p.Add(field, absl::StrCat("must be a finite number, got ", v));
  };
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const int n = f->is_repeated() ? r->FieldSize(message, f) : 1;
    for (int j = 0; j < n; ++j) {
      const std::string field =
          f->is_repeated() ? absl::StrCat(f->name(), "[", j, "]") : std::string(f->name());
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_DOUBLE:
          check(f->is_repeated() ? r->GetRepeatedDouble(message, f, j) : r->GetDouble(message, f),
                field);
          break;
        case pb::FieldDescriptor::CPPTYPE_FLOAT:
          check(f->is_repeated() ? r->GetRepeatedFloat(message, f, j) : r->GetFloat(message, f),
                field);
          break;
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          if (f->is_repeated()) {
            RequireFiniteNumbers(r->GetRepeatedMessage(message, f, j), p.In(field));
          } else if (r->HasField(message, f)) {
            RequireFiniteNumbers(r->GetMessage(message, f), p.In(field));
          }
          break;
        default:
          break;
      }
    }
  }
}

// Refuses a network that cannot be trained in this machine's memory (models/model_size.h), with
// its size. Only for a model config that is valid otherwise.
void RequireFitsMemory(const ExperimentConfig& config, const base::ConfigProblems& p) {
  const models::ModelSize size =
      models::EstimateModelSize(config.model(), config.data().image_size());
  const double bytes = models::TrainingBytes(size, config.data().batch_size());
  if (bytes <= base::MemoryLimitBytes()) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  const std::string parameters = size.parameters >= 1e9
                                     ? absl::StrFormat("%.1f billion", size.parameters / 1e9)
                                     : absl::StrFormat("%.1f million", size.parameters / 1e6);
  p.Add("model",
        absl::StrFormat(
            "needs at least %.1f GiB to train (%s parameters: %.1f GiB with "
            "their gradients and AdamW's moments; activations of %d images of %d px: "
            "%.1f GiB), more than %s",
            bytes / kGiB, parameters, 16 * size.parameters / kGiB, config.data().batch_size(),
            config.data().image_size(),
            models::TrainingBytes({0, size.conv_outputs_per_image, 0}, config.data().batch_size()) /
                kGiB,
            base::MemoryLimitText()));
}

}  // namespace

absl::Status ApplyOverride(const std::string& assignment, ExperimentConfig* config) {
  if (absl::Status s = SetField(assignment, config); !s.ok()) return s;
  if (absl::Status s = training::UpgradeTrainingConfig(config->mutable_training()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("override '", assignment, "': ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status ValidateExperimentConfig(const ExperimentConfig& config) {
  base::ConfigProblems problems;
  if (!training::ValidName(config.name())) {
    problems.Add("name", absl::StrCat("must be set, using letters, digits, '.', '_' and '-', got '",
                                      config.name(), "'"));
  }
  data::ValidateDataConfig(config.data(), problems.In("data"));
  models::ValidateModelConfig(config.model(), problems.In("model"));
  training::ValidateTrainingConfig(config.training(), problems.In("training"));
  evaluation::ValidateEvaluationConfig(config.evaluation(), problems.In("evaluation"));
  RequireFiniteNumbers(config, problems);
  if (problems.empty()) RequireFitsMemory(config, problems);
  return problems.ToStatus();
}

void FillDefaults(ExperimentConfig* config) {
  data::FillDataDefaults(config->mutable_data());
  // The split the run's seed draws, written out: a saved config names its validation patients
  // even when the run's seed is changed later (--resume, --set seed=...).
  if (!config->data().split().has_seed()) {
    config->mutable_data()->mutable_split()->set_seed(config->seed());
  }
  models::FillModelDefaults(config->mutable_model());
  evaluation::FillEvaluationDefaults(config->mutable_evaluation());
  MaterializeDefaults(config);
}

std::string ToText(const google::protobuf::Message& message) {
  std::string text;
  pb::TextFormat::Printer printer;
  printer.SetUseShortRepeatedPrimitives(true);
  printer.PrintToString(message, &text);
  return text;
}

}  // namespace malaria::experiments
