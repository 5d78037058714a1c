// A table of strings, and its plain-text form with aligned columns, for the terminal reports of
// compare_runs and the k-fold aggregate (the dashboard sends the same tables as JSON).
//
//   base::TextTable t{"Best accuracy", {"run", "accuracy"}, {{"a/1", "0.9512"}}};
//   std::cout << base::FormatTextTable(t, /*rule=*/true);
//   // run  accuracy
//   // ---  --------
//   // a/1  0.9512
#ifndef MALARIA_BASE_TEXT_TABLE_H_
#define MALARIA_BASE_TEXT_TABLE_H_

#include <string>
#include <vector>

namespace malaria::base {

struct TextTable {
  std::string title;  // not printed by FormatTextTable
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // rows shorter than the header are allowed
};

// FormatTextTable returns the header and rows with columns padded to their widest cell and two
// spaces between columns, trailing spaces removed, one line each; with `rule`, a line of dashes
// under the header.
std::string FormatTextTable(const TextTable& table, bool rule);

}  // namespace malaria::base

#endif  // MALARIA_BASE_TEXT_TABLE_H_
