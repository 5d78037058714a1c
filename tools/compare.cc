#include "tools/compare.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/files.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/text_format.h"

namespace malaria::tools {
namespace {

namespace pb = google::protobuf;
using experiments::LoadedRun;
using experiments::RunInfo;

void Flatten(const pb::Message& m, const std::string& prefix,
             std::map<std::string, std::string>* out) {
  const pb::Reflection* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string name = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    const int count = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < count; ++i) {
      const std::string path = f->is_repeated() ? absl::StrCat(name, "[", i, "]") : name;
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        Flatten(f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), path, out);
      } else {
        std::string value;
        pb::TextFormat::PrintFieldValueToString(m, f, f->is_repeated() ? i : -1, &value);
        (*out)[path] = value;
      }
    }
  }
}

std::string Escape(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string Minutes(double seconds) { return absl::StrFormat("%.1f min", seconds / 60); }

std::string HtmlTable(const base::TextTable& table, const std::string& id) {
  std::string out = absl::StrCat("<table id=\"", id, "\"><thead><tr>");
  for (const std::string& h : table.header) absl::StrAppend(&out, "<th>", Escape(h), "</th>");
  absl::StrAppend(&out, "</tr></thead><tbody>");
  for (const auto& row : table.rows) {
    absl::StrAppend(&out, "<tr>");
    for (const std::string& cell : row) absl::StrAppend(&out, "<td>", Escape(cell), "</td>");
    absl::StrAppend(&out, "</tr>");
  }
  return out + "</tbody></table>\n";
}

// An <h2> with the table's title, then the table.
std::string HtmlSection(const base::TextTable& table, const std::string& id) {
  return absl::StrCat("<h2>", Escape(table.title), "</h2>", HtmlTable(table, id));
}

const char* kColours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                          "#e69f00", "#56b4e9", "#000000"};

// Validation accuracy (solid) and loss (dashed) of every run against its epoch count, overlaid.
std::string CurvesSvg(const Comparison& c) {
  const int w = 760, h = 360, left = 50, right = 20, top = 20, bottom = 40;
  size_t max_epochs = 1;
  double max_loss = 0;
  for (const LoadedRun& run : c.runs) {
    max_epochs = std::max(max_epochs, run.table.rows().size());
    for (const auto& r : run.table.rows())
      max_loss = std::max(max_loss, std::min(r.valid_loss, 5.0));
  }
  if (max_loss <= 0) max_loss = 1;
  auto x = [&](size_t i) { return left + (w - left - right) * (i + 1.0) / (max_epochs + 1.0); };
  auto y = [&](double v, double hi) {
    return top + (h - top - bottom) * (1 - std::clamp(v / hi, 0.0, 1.0));
  };
  std::string svg = absl::StrFormat(
      "<svg id=\"curves\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
      "stroke=\"#888\"/>",
      w, h, w, h, left, top, w - left - right, h - top - bottom);
  for (int k = 0; k <= 4; ++k) {
    const double v = k / 4.0;
    absl::StrAppendFormat(
        &svg, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.2f</text>",
        left - 4, y(v, 1.0) + 4, v);
  }
  absl::StrAppendFormat(&svg, "<text x=\"%d\" y=\"%d\" font-size=\"12\">epoch (all stages)</text>",
                        w / 2 - 50, h - 8);
  for (size_t k = 0; k < c.runs.size(); ++k) {
    const auto& rows = c.runs[k].table.rows();
    std::string acc, loss;
    for (size_t i = 0; i < rows.size(); ++i) {
      absl::StrAppendFormat(&acc, "%.1f,%.1f ", x(i), y(rows[i].accuracy, 1.0));
      absl::StrAppendFormat(&loss, "%.1f,%.1f ", x(i),
                            y(std::min(rows[i].valid_loss, 5.0), max_loss));
    }
    const char* colour = kColours[k % 7];
    absl::StrAppendFormat(
        &svg,
        "<polyline class=\"accuracy\" data-run=\"%s\" points=\"%s\" fill=\"none\" "
        "stroke=\"%s\" stroke-width=\"2\"/>",
        Escape(RunLabel(c.runs[k])), acc, colour);
    absl::StrAppendFormat(&svg,
                          "<polyline class=\"loss\" points=\"%s\" fill=\"none\" stroke=\"%s\" "
                          "stroke-width=\"1.5\" stroke-dasharray=\"5,4\"/>",
                          loss, colour);
    absl::StrAppendFormat(&svg, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">%s</text>",
                          left + 10, top + 16 + 15 * static_cast<int>(k), colour,
                          Escape(RunLabel(c.runs[k])));
  }
  return svg + "</svg>\n";
}

std::string ConfusionHtml(const LoadedRun& run) {
  if (!run.has_final_report) return "";
  const auto& r = run.final_report;
  const int n = r.classes_size();
  std::string out =
      absl::StrCat("<div class=\"cm\"><h3>", Escape(RunLabel(run)),
                   "</h3><table class=\"confusion\"><tr><th>actual \\ predicted</th>");
  for (int p = 0; p < n; ++p) absl::StrAppend(&out, "<th>", Escape(r.classes(p)), "</th>");
  absl::StrAppend(&out, "</tr>");
  for (int a = 0; a < n; ++a) {
    absl::StrAppend(&out, "<tr><th>", Escape(r.classes(a)), "</th>");
    for (int p = 0; p < n; ++p) {
      absl::StrAppend(&out, "<td class=\"", a == p ? "hit" : "miss", "\">", r.confusion(a * n + p),
                      "</td>");
    }
    absl::StrAppend(&out, "</tr>");
  }
  return out + "</table></div>\n";
}

}  // namespace

std::string ShortCommit(const RunInfo& info) {
  std::string c = info.git_commit().substr(0, 10);
  if (info.git_dirty()) absl::StrAppend(&c, " (dirty)");
  return c.empty() ? "unknown" : c;
}

std::string SplitName(const LoadedRun& run) {
  const auto& split = run.config.data().split();
  if (split.has_patient()) return absl::StrFormat("patient %.2f", split.patient().valid_pct());
  if (split.has_patient_kfold()) {
    return absl::StrFormat("patient fold %d/%d", split.patient_kfold().fold(),
                           split.patient_kfold().folds());
  }
  return absl::StrFormat("random %.2f", split.has_random() ? split.random().valid_pct() : 0.2f);
}

ComparisonTables MakeTables(const std::vector<LoadedRun>& runs) {
  ComparisonTables t;
  t.runs = {"Runs", {"run", "model", "status", "dataset", "split", "commit"}, {}};
  t.accuracy = {"Best and final validation accuracy per model and stage",
                {"run", "model", "stage", "best accuracy", "best epoch", "final accuracy"},
                {}};
  t.time = {"Average time per epoch per model and stage",
            {"run", "model", "stage", "epochs", "seconds per epoch"},
            {}};
  t.final = {
      "Final model on its validation set (calibrated*: with the calibration fitted on this "
      "same set, in-sample)",
      {"run", "accuracy", "FN", "FP", "ROC AUC", "ECE", "patients",
       "patient diagnosis accuracy (fixed fraction)", "calibrated* accuracy",
       "calibrated* parasitemia MAE", "calibrated* patient diagnosis (fitted fraction)"},
      {}};
  t.config = {"Config fields that differ", {"config field"}, {}};
  t.reached = {
      "Wall time to reach each validation accuracy (first epoch at or above)", {"run"}, {}};
  std::vector<std::map<std::string, std::string>> configs;
  for (const LoadedRun& run : runs) {
    const std::string label = RunLabel(run);
    const std::string model = run.config.model().architecture();
    t.runs.rows.push_back(
        {label, model, RunInfo::Status_Name(run.info.status()),
         absl::StrCat(experiments::DatasetInfo::Kind_Name(run.info.dataset().kind()), " ",
                      run.info.dataset().fingerprint().substr(0, 8)),
         SplitName(run), ShortCommit(run.info)});
    for (const auto& s : run.info.stage()) {
      t.accuracy.rows.push_back(
          {label, model, s.name(),
           s.has_best_accuracy() ? absl::StrFormat("%.4f", s.best_accuracy()) : "-",
           s.has_best_epoch() ? absl::StrCat(s.best_epoch()) : "-",
           s.has_final_accuracy() ? absl::StrFormat("%.4f", s.final_accuracy()) : "-"});
      t.time.rows.push_back(
          {label, model, s.name(), absl::StrCat(s.epochs_completed()),
           s.has_mean_epoch_seconds() ? absl::StrFormat("%.1f", s.mean_epoch_seconds()) : "-"});
    }
    if (run.has_final_report) {
      const auto& r = run.final_report;
      t.final.rows.push_back(
          {label, absl::StrFormat("%.4f", r.accuracy()), absl::StrCat(r.false_negatives()),
           absl::StrCat(r.false_positives()), absl::StrFormat("%.4f", r.roc_auc()),
           absl::StrFormat("%.4f", r.expected_calibration_error()),
           r.has_patients() ? absl::StrCat(r.patients().patients()) : "-",
           r.has_patients() ? absl::StrFormat("%.4f", r.patients().diagnosis_accuracy()) : "-"});
    } else {
      t.final.rows.push_back({label, "-", "-", "-", "-", "-", "-", "-"});
    }
    // With the calibration fitted on the same validation set (in-sample).
    const auto& c = run.calibrated_report;
    const bool para = run.has_calibrated_report && c.has_parasitemia();
    t.final.rows.back().push_back(run.has_calibrated_report ? absl::StrFormat("%.4f", c.accuracy())
                                                            : "-");
    t.final.rows.back().push_back(
        para ? absl::StrFormat("%.4f", c.parasitemia().mean_absolute_error()) : "-");
    t.final.rows.back().push_back(para ? absl::StrFormat("%.4f (>= %.3f)",
                                                         c.parasitemia().diagnosis_accuracy(),
                                                         c.parasitemia().diagnosis_threshold())
                                       : "-");
    configs.push_back(FlattenFields(run.config));
    t.config.header.push_back(label);
  }
  // Time to accuracy: the thresholds any run records, each run's wall time to reach them.
  std::vector<double> thresholds;
  for (const LoadedRun& run : runs) {
    for (const auto& r : run.info.time_to_accuracy()) thresholds.push_back(r.threshold());
    for (double th : run.config.evaluation().accuracy_thresholds()) thresholds.push_back(th);
  }
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  for (double th : thresholds) t.reached.header.push_back(absl::StrFormat("%.3g", th));
  for (const LoadedRun& run : runs) {
    std::vector<std::string> row = {RunLabel(run)};
    for (double th : thresholds) {
      std::string cell = "-";
      for (const auto& r : run.info.time_to_accuracy()) {
        if (std::abs(r.threshold() - th) < 1e-9) {
          cell = absl::StrFormat("%s (%s %d)", Minutes(r.seconds()), r.stage(), r.epoch());
        }
      }
      row.push_back(cell);
    }
    t.reached.rows.push_back(row);
  }
  for (const std::string& field : DifferingFields(configs)) {
    std::vector<std::string> row = {field};
    for (const auto& config : configs) {
      auto it = config.find(field);
      row.push_back(it == config.end() ? "(unset)" : it->second);
    }
    t.config.rows.push_back(row);
  }
  return t;
}

std::string RunLabel(const LoadedRun& run) {
  return absl::StrCat(run.info.experiment(), "/", run.info.run_id());
}

absl::StatusOr<Comparison> CollectRuns(const std::vector<std::string>& paths) {
  Comparison c;
  std::set<std::string> seen;
  for (const std::string& path : paths) {
    if (!base::PathExists(path)) {
      c.skipped.push_back(absl::StrCat(path, ": does not exist"));
      continue;
    }
    const std::vector<std::string> found = experiments::FindRuns(path);
    if (found.empty()) {
      c.skipped.push_back(
          absl::StrCat(path,
                       ": no run directory here (a run holds run_info.pbtxt; give runs, experiment "
                       "folders or a tracker root)"));
      continue;
    }
    for (const std::string& dir : found) {
      if (!seen.insert(dir).second) continue;
      absl::StatusOr<LoadedRun> run = experiments::LoadRun(dir);
      if (run.ok()) {
        c.runs.push_back(*std::move(run));
      } else {
        c.skipped.push_back(std::string(run.status().message()));
      }
    }
  }
  if (c.runs.empty()) {
    return absl::NotFoundError(absl::StrCat("no readable runs at ", absl::StrJoin(paths, ", "),
                                            ":\n  ", absl::StrJoin(c.skipped, "\n  ")));
  }
  return c;
}

std::map<std::string, std::string> FlattenFields(const pb::Message& message) {
  std::map<std::string, std::string> out;
  Flatten(message, "", &out);
  return out;
}

std::vector<std::string> DifferingFields(
    const std::vector<std::map<std::string, std::string>>& configs) {
  std::set<std::string> keys;
  for (const auto& c : configs) {
    for (const auto& [k, v] : c) keys.insert(k);
  }
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    std::set<std::string> values;
    bool missing = false;
    for (const auto& c : configs) {
      auto it = c.find(k);
      if (it == c.end()) {
        missing = true;
      } else {
        values.insert(it->second);
      }
    }
    if (missing || values.size() > 1) out.push_back(k);
  }
  return out;
}

std::string TextReport(const Comparison& c) {
  const ComparisonTables t = MakeTables(c.runs);
  auto section = [](const base::TextTable& table) {
    return absl::StrCat("\n", table.title, "\n", base::FormatTextTable(table, /*rule=*/true));
  };
  std::string out =
      absl::StrCat(c.runs.size(), " run(s)\n\n", base::FormatTextTable(t.runs, /*rule=*/true));
  absl::StrAppend(&out, section(t.accuracy), section(t.time), section(t.final));
  if (t.reached.header.size() > 1) absl::StrAppend(&out, section(t.reached));
  const std::vector<experiments::KFoldSummary> kfolds = experiments::SummarizeKFolds(c.runs);
  for (const experiments::KFoldSummary& k : kfolds) {
    absl::StrAppend(&out, "\n", experiments::KFoldText(k));
  }
  for (const experiments::PairedKFolds& p : experiments::PairAll(kfolds, c.runs)) {
    absl::StrAppend(&out, "\n", experiments::PairedText(p));
  }
  if (t.config.rows.empty()) {
    absl::StrAppend(&out, "\nThe configs are identical.\n");
  } else {
    absl::StrAppend(&out, section(t.config));
  }
  for (const std::string& s : c.skipped) absl::StrAppend(&out, "\nskipped: ", s, "\n");
  return out;
}

std::string HtmlReport(const Comparison& c) {
  const ComparisonTables t = MakeTables(c.runs);
  std::string html = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Malaria runs compared</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; font-size: 13px; }
th { background: #f0f0f0; }
td.hit { background: #dbe9f6; } td.miss { background: #fbe3d6; }
.cms { display: flex; flex-wrap: wrap; gap: 24px; }
tr.best td { font-weight: bold; }
</style></head><body>
<h1>Malaria runs compared</h1>
<p id="summary"></p>
)";
  absl::StrAppend(&html, HtmlSection(t.runs, "runs"), HtmlSection(t.accuracy, "accuracy"),
                  HtmlSection(t.time, "time"), HtmlSection(t.final, "final"));
  if (t.reached.header.size() > 1) absl::StrAppend(&html, HtmlSection(t.reached, "reached"));
  if (!c.skipped.empty()) {
    absl::StrAppend(&html, "<h2>Skipped</h2><ul id=\"skipped\">");
    for (const std::string& s : c.skipped) absl::StrAppend(&html, "<li>", Escape(s), "</li>");
    absl::StrAppend(&html, "</ul>");
  }
  const std::vector<experiments::KFoldSummary> kfolds = experiments::SummarizeKFolds(c.runs);
  for (const experiments::KFoldSummary& k : kfolds) {
    absl::StrAppend(&html, "<h2>Cross-validation: ", Escape(k.experiment), "</h2><pre>",
                    Escape(experiments::KFoldText(k)), "</pre>");
  }
  for (const experiments::PairedKFolds& p : experiments::PairAll(kfolds, c.runs)) {
    absl::StrAppend(&html, "<h2>Paired by fold: ", Escape(p.b), " against ", Escape(p.a),
                    "</h2><pre>", Escape(experiments::PairedText(p)), "</pre>");
  }
  absl::StrAppend(&html,
                  "<h2>Learning curves</h2><p>Validation accuracy (solid) and validation loss "
                  "(dashed, scaled) per epoch over all stages.</p>",
                  CurvesSvg(c));
  absl::StrAppend(
      &html, "<h2>Confusion matrices (rows actual, columns predicted)</h2><div class=\"cms\">");
  for (const LoadedRun& run : c.runs) absl::StrAppend(&html, ConfusionHtml(run));
  absl::StrAppend(&html, "</div>");
  if (t.config.rows.empty()) {
    absl::StrAppend(&html,
                    "<h2>Config fields that differ</h2><p>None: the configs are identical.</p>");
  } else {
    absl::StrAppend(&html, HtmlSection(t.config, "config"));
  }
  // The summary is filled in by the browser: it marks the best final accuracy and says which run.
  absl::StrAppend(&html, R"(<script>
(function () {
  const rows = Array.from(document.querySelectorAll('#final tbody tr'));
  let best = null, bestAcc = -1;
  rows.forEach(r => {
    const acc = parseFloat(r.cells[1].textContent);
    if (!isNaN(acc) && acc > bestAcc) { bestAcc = acc; best = r; }
  });
  if (best) best.classList.add('best');
  document.getElementById('summary').textContent = rows.length + ' runs compared; best final accuracy ' +
      (best ? bestAcc.toFixed(4) + ' (' + best.cells[0].textContent + ')' : 'n/a') + '.';
})();
</script>
</body></html>
)");
  return html;
}

}  // namespace malaria::tools
