#include "experiments/config.h"

#include <cmath>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/text_format.h"
#include "models/architectures.h"
#include "tools/util/files.h"

namespace malaria::experiments {
namespace {

namespace pb = google::protobuf;

class CollectErrors : public pb::io::ErrorCollector {
 public:
  explicit CollectErrors(std::string source) : source_(std::move(source)) {}
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    errors_.push_back(absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return name != "." && name != "..";
}

// Collects "<path>: <problem>" lines.
class Problems {
 public:
  void Add(const std::string& path, const std::string& problem) {
    lines_.push_back(absl::StrCat(path, ": ", problem));
  }
  template <typename T>
  void Require(bool ok, const std::string& path, const std::string& rule, T got) {
    if (!ok) Add(path, absl::StrCat(rule, ", got ", got));
  }
  absl::Status ToStatus() const {
    if (lines_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("invalid experiment config:\n  ", absl::StrJoin(lines_, "\n  ")));
  }

 private:
  std::vector<std::string> lines_;
};

void ValidateData(const data::DataConfig& d, Problems& p) {
  p.Require(d.image_size() >= 32 && d.image_size() <= 2048, "data.image_size",
            "must be in [32, 2048] (the ResNet body divides it by 32)", d.image_size());
  p.Require(d.batch_size() >= 1 && d.batch_size() <= 8192, "data.batch_size",
            "must be in [1, 8192]", d.batch_size());
  p.Require(d.loader_threads() >= 0, "data.loader_threads", "must be >= 0 (0: every core)",
            d.loader_threads());
  p.Require(d.prefetch_batches() >= 1, "data.prefetch_batches", "must be >= 1",
            d.prefetch_batches());
  p.Require(d.max_images() >= 0, "data.max_images", "must be >= 0 (0: all)", d.max_images());
  p.Require(d.cache_mib() >= 0, "data.cache_mib", "must be >= 0", d.cache_mib());
  if (d.split().has_random()) {
    const float v = d.split().random().valid_pct();
    p.Require(v > 0 && v < 1, "data.split.random.valid_pct", "must be in (0, 1)", v);
  }
  if (d.split().has_patient()) {
    const float v = d.split().patient().valid_pct();
    p.Require(v > 0 && v < 1, "data.split.patient.valid_pct", "must be in (0, 1)", v);
  }
  if (d.split().has_patient_kfold()) {
    const data::PatientKFold& k = d.split().patient_kfold();
    p.Require(k.folds() >= 2, "data.split.patient_kfold.folds", "must be >= 2", k.folds());
    p.Require(k.fold() >= 0 && k.fold() < k.folds(), "data.split.patient_kfold.fold",
              absl::StrCat("must be in [0, ", k.folds(), ")"), k.fold());
  }
  const data::AugmentationConfig& a = d.augmentation();
  p.Require(a.max_rotate() >= 0 && a.max_rotate() <= 180, "data.augmentation.max_rotate",
            "must be in [0, 180] degrees", a.max_rotate());
  p.Require(a.max_zoom() >= 1 && a.max_zoom() <= 4, "data.augmentation.max_zoom",
            "must be in [1, 4]", a.max_zoom());
  p.Require(a.max_warp() >= 0 && a.max_warp() < 1, "data.augmentation.max_warp",
            "must be in [0, 1)", a.max_warp());
  p.Require(a.max_lighting() >= 0 && a.max_lighting() < 1, "data.augmentation.max_lighting",
            "must be in [0, 1)", a.max_lighting());
  p.Require(a.p_affine() >= 0 && a.p_affine() <= 1, "data.augmentation.p_affine",
            "must be a probability in [0, 1]", a.p_affine());
  p.Require(a.p_lighting() >= 0 && a.p_lighting() <= 1, "data.augmentation.p_lighting",
            "must be a probability in [0, 1]", a.p_lighting());
  const data::NormalizationConfig& n = d.normalization();
  p.Require(n.mean_size() == 0 || n.mean_size() == 3, "data.normalization.mean",
            "needs 3 values (R, G, B) or none", n.mean_size());
  p.Require(n.std_size() == 0 || n.std_size() == 3, "data.normalization.std",
            "needs 3 values (R, G, B) or none", n.std_size());
  for (int i = 0; i < n.std_size(); ++i) {
    p.Require(n.std(i) > 0, absl::StrCat("data.normalization.std[", i, "]"), "must be > 0",
              n.std(i));
  }
  const data::SyntheticFallback& s = d.synthetic_fallback();
  p.Require(s.num_images() >= 20, "data.synthetic_fallback.num_images", "must be >= 20",
            s.num_images());
  p.Require(s.source_size() >= 16, "data.synthetic_fallback.source_size", "must be >= 16",
            s.source_size());
  p.Require(s.image_size() >= 32 && s.image_size() <= 2048, "data.synthetic_fallback.image_size",
            "must be in [32, 2048]", s.image_size());
  p.Require(s.hard_negative_fraction() >= 0 && s.hard_negative_fraction() <= 1,
            "data.synthetic_fallback.hard_negative_fraction", "must be in [0, 1]",
            s.hard_negative_fraction());
  p.Require(s.num_patients() >= 1, "data.synthetic_fallback.num_patients", "must be >= 1",
            s.num_patients());
  p.Require(s.difficulty() >= 0 && s.difficulty() <= 1, "data.synthetic_fallback.difficulty",
            "must be in [0, 1]", s.difficulty());
}

void ValidateModel(const models::ModelConfig& m, Problems& p) {
  if (!models::IsKnownArchitecture(m.architecture())) {
    p.Add("model.architecture", absl::StrCat("unknown architecture '", m.architecture(),
                                             "'; known: ", models::KnownArchitecturesList()));
  }
  const models::HeadConfig& h = m.head();
  for (int i = 0; i < h.hidden_features_size(); ++i) {
    p.Require(h.hidden_features(i) > 0, absl::StrCat("model.head.hidden_features[", i, "]"),
              "must be > 0", h.hidden_features(i));
  }
  const int linear = (h.hidden_features_size() == 0 ? 1 : h.hidden_features_size()) + 1;
  if (h.dropout_size() != 0 && h.dropout_size() != linear) {
    p.Add("model.head.dropout",
          absl::StrCat("needs one value per linear layer (", linear, "), got ", h.dropout_size()));
  }
  for (int i = 0; i < h.dropout_size(); ++i) {
    p.Require(h.dropout(i) >= 0 && h.dropout(i) < 1, absl::StrCat("model.head.dropout[", i, "]"),
              "must be in [0, 1)", h.dropout(i));
  }
}

void ValidateStage(const training::StageConfig& s, const std::string& at, Problems& p) {
  if (!ValidName(s.name())) {
    p.Add(at + ".name", absl::StrCat("must be set, using letters, digits, '.', '_' and '-', got '",
                                     s.name(), "'"));
  }
  p.Require(s.epochs() > 0, at + ".epochs", "must be > 0", s.epochs());
  const training::LearningRate& lr = s.lr();
  switch (lr.value_case()) {
    case training::LearningRate::kMax:
      p.Require(lr.max() > 0 && lr.max() < 10, at + ".lr.max", "must be in (0, 10)", lr.max());
      break;
    case training::LearningRate::kSlice:
      if (!lr.slice().has_stop()) {
        p.Add(at + ".lr.slice.stop", "must be set (slice(stop) or slice(start, stop))");
      } else {
        p.Require(lr.slice().stop() > 0 && lr.slice().stop() < 10, at + ".lr.slice.stop",
                  "must be in (0, 10)", lr.slice().stop());
      }
      if (lr.slice().has_start()) {
        p.Require(lr.slice().start() > 0, at + ".lr.slice.start", "must be > 0",
                  lr.slice().start());
        p.Require(lr.slice().start() <= lr.slice().stop(), at + ".lr.slice",
                  "needs start <= stop (the first layer group learns slowest)",
                  absl::StrCat("start ", lr.slice().start(), ", stop ", lr.slice().stop()));
      }
      break;
    case training::LearningRate::kAuto:
      p.Require(lr.auto_(), at + ".lr.auto", "must be true when set", "false");
      break;
    case training::LearningRate::VALUE_NOT_SET:
      p.Add(at + ".lr",
            "must be set: { max: ... }, { slice { start: ... stop: ... } } or { auto: true }");
  }
  p.Require(s.freeze_to() >= -3 && s.freeze_to() <= 2, at + ".freeze_to",
            "must be in [-3, 2] for the 3 layer groups (-1: only the head trains, 0: all train)",
            s.freeze_to());
  const training::OneCycleConfig& c = s.one_cycle();
  p.Require(c.pct_start() > 0 && c.pct_start() < 1, at + ".one_cycle.pct_start",
            "must be in (0, 1)", c.pct_start());
  p.Require(c.div_factor() > 0, at + ".one_cycle.div_factor", "must be > 0", c.div_factor());
  p.Require(c.final_div_factor() > 0, at + ".one_cycle.final_div_factor", "must be > 0",
            c.final_div_factor());
  p.Require(c.moms_max() > 0 && c.moms_max() < 1, at + ".one_cycle.moms_max", "must be in (0, 1)",
            c.moms_max());
  p.Require(c.moms_min() > 0 && c.moms_min() < 1, at + ".one_cycle.moms_min", "must be in (0, 1)",
            c.moms_min());
  const training::AdamWConfig& o = s.optimizer();
  p.Require(o.beta2() >= 0 && o.beta2() < 1, at + ".optimizer.beta2", "must be in [0, 1)",
            o.beta2());
  p.Require(o.eps() > 0, at + ".optimizer.eps", "must be > 0", o.eps());
  p.Require(o.weight_decay() >= 0, at + ".optimizer.weight_decay", "must be >= 0",
            o.weight_decay());
  const training::LrFinderConfig& f = s.lr_finder();
  p.Require(f.start_lr() > 0 && f.start_lr() < f.end_lr(), at + ".lr_finder",
            "needs 0 < start_lr < end_lr", absl::StrCat(f.start_lr(), " and ", f.end_lr()));
  p.Require(f.num_iterations() >= 2, at + ".lr_finder.num_iterations", "must be >= 2",
            f.num_iterations());
  p.Require(f.divergence_factor() > 1, at + ".lr_finder.divergence_factor", "must be > 1",
            f.divergence_factor());
  p.Require(f.smooth_beta() >= 0 && f.smooth_beta() < 1, at + ".lr_finder.smooth_beta",
            "must be in [0, 1)", f.smooth_beta());
}

void ValidateTraining(const training::TrainingConfig& t, Problems& p) {
  if (t.stage_size() == 0) p.Add("training.stage", "at least one stage is needed");
  std::vector<std::string> names;
  for (int i = 0; i < t.stage_size(); ++i) {
    const std::string at = absl::StrCat("training.stage[", i, "]");
    ValidateStage(t.stage(i), at, p);
    for (const std::string& n : names) {
      if (n == t.stage(i).name()) p.Add(at + ".name", absl::StrCat("'", n, "' is used twice"));
    }
    names.push_back(t.stage(i).name());
  }
  p.Require(t.threads() >= 0, "training.threads", "must be >= 0 (0: every core)", t.threads());
  p.Require(t.monitor() == "accuracy" || t.monitor() == "valid_loss", "training.monitor",
            "must be 'accuracy' or 'valid_loss'", absl::StrCat("'", t.monitor(), "'"));
  p.Require(t.distributed().bucket_mib() >= 1, "training.distributed.bucket_mib", "must be >= 1",
            t.distributed().bucket_mib());
}

// Sets every unset optional field (outside unset oneofs) to its default, recursively.
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
  CollectErrors errors(source);
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config) || !errors.errors().empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  return config;
}

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path) {
  absl::StatusOr<std::string> text = util::ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("experiment config ", path, " does not exist"));
    }
    return text.status();
  }
  absl::StatusOr<ExperimentConfig> config = ParseExperimentConfig(*text, path);
  if (config.ok() && config->name().empty()) {
    config->set_name(std::filesystem::path(path).stem().string());
  }
  return config;
}

absl::Status ApplyOverride(const std::string& assignment, ExperimentConfig* config) {
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
        pb::TextFormat::Parser parser;
        if (!parser.ParseFromString(body, entry.get())) {
          return fail(absl::StrCat("cannot parse '", value, "' as ", f->message_type()->name()));
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
    CollectErrors errors("value");
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

absl::Status ValidateExperimentConfig(const ExperimentConfig& config) {
  Problems p;
  if (!ValidName(config.name())) {
    p.Add("name", absl::StrCat("must be set, using letters, digits, '.', '_' and '-', got '",
                               config.name(), "'"));
  }
  ValidateData(config.data(), p);
  ValidateModel(config.model(), p);
  ValidateTraining(config.training(), p);
  if (config.evaluation().positive_class().empty()) {
    p.Add("evaluation.positive_class", "must name one of the dataset's classes");
  }
  return p.ToStatus();
}

void FillDefaults(ExperimentConfig* config) {
  data::DataConfig* d = config->mutable_data();
  if (d->split().kind_case() == data::SplitConfig::KIND_NOT_SET)
    d->mutable_split()->mutable_random();
  if (d->normalization().mean_size() == 0) {
    for (float v : {0.485f, 0.456f, 0.406f}) d->mutable_normalization()->add_mean(v);
  }
  if (d->normalization().std_size() == 0) {
    for (float v : {0.229f, 0.224f, 0.225f}) d->mutable_normalization()->add_std(v);
  }
  models::HeadConfig* h = config->mutable_model()->mutable_head();
  if (h->hidden_features_size() == 0) h->add_hidden_features(512);
  if (h->dropout_size() == 0) {
    for (int i = 0; i < h->hidden_features_size(); ++i) h->add_dropout(0.25f);
    h->add_dropout(0.5f);
  }
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
