// compare_runs' static page (HtmlReport, tools/compare.h): the tables as HTML, the learning curves
// as an SVG, and each run's confusion matrix and pictures.
#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/files.h"
#include "experiments/store/out_of_fold.h"
#include "tools/compare.h"

namespace malaria::tools {
namespace {

using experiments::LoadedRun;
using experiments::RunInfo;

std::string Escape(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

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
  const std::vector<experiments::KFoldSummary>& kfolds = KFolds(c);
  for (const experiments::KFoldSummary& k : kfolds) {
    absl::StrAppend(&html, "<h2>Cross-validation: ", Escape(k.experiment), "</h2><pre>",
                    Escape(experiments::KFoldText(k)), "</pre>");
  }
  for (const experiments::PairedKFolds& p : Pairs(c)) {
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
