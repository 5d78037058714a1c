#include "base/text_table.h"

#include <algorithm>

namespace malaria::base {

std::string FormatTextTable(const TextTable& table, bool rule) {
  std::vector<size_t> width(table.header.size());
  for (size_t c = 0; c < width.size(); ++c) width[c] = table.header[c].size();
  for (const auto& row : table.rows) {
    if (row.size() > width.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      out.append(width[c] - cells[c].size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(table.header);
  if (rule) {
    std::vector<std::string> dashes;
    for (size_t c = 0; c < table.header.size(); ++c) dashes.emplace_back(width[c], '-');
    out += line(dashes);
  }
  for (const auto& row : table.rows) out += line(row);
  return out;
}

}  // namespace malaria::base
