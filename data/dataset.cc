#include "data/dataset.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace malaria::data {
namespace {

namespace fs = std::filesystem;

bool IsImageExtension(const fs::path& path) {
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" ||
         ext == ".tiff";
}

}  // namespace

std::vector<int> Dataset::CountPerClass() const {
  std::vector<int> counts(classes.size(), 0);
  for (const Example& e : examples) ++counts[e.label];
  return counts;
}

absl::StatusOr<std::vector<std::string>> ListImages(const std::string& folder) {
  std::error_code ec;
  const fs::file_status status = fs::status(folder, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("folder ", folder, " does not exist"));
  }
  if (!fs::is_directory(status)) {
    return absl::InvalidArgumentError(absl::StrCat(folder, " is not a folder"));
  }
  std::vector<std::string> images;
  fs::recursive_directory_iterator it(folder, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && IsImageExtension(it->path())) {
      images.push_back(it->path().string());
    }
  }
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot read ", folder, ": ", ec.message()));
  if (images.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("folder ", folder, " holds no images (.png, .jpg, .jpeg, .bmp, .tif)"));
  }
  std::sort(images.begin(), images.end());
  return images;
}

absl::StatusOr<Dataset> ScanImageFolder(const std::string& root) {
  std::error_code ec;
  const fs::file_status status = fs::status(root, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("data folder ", root, " does not exist"));
  }
  if (!fs::is_directory(status)) {
    return absl::InvalidArgumentError(absl::StrCat("data path ", root, " is not a folder"));
  }
  const fs::path root_path = fs::path(root).lexically_normal();

  std::vector<std::pair<std::string, std::string>> found;  // (path, class)
  int ignored = 0;
  // Every folder is read once: a link to a folder inside the tree (a symlink loop such as
  // `ln -s . loop`, or a second way into a class folder) is skipped and named, so no image is read
  // twice and no link's name becomes a class; a link out of the tree is followed once.
  std::map<std::pair<dev_t, ino_t>, std::string> folders;  // identity -> first path
  std::vector<std::string> repeated;
  auto identity = [](const fs::path& p, std::pair<dev_t, ino_t>* id) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) return false;
    *id = {st.st_dev, st.st_ino};
    return true;
  };
  const fs::path canonical_root = fs::weakly_canonical(root_path, ec);
  auto inside_tree = [&](const fs::path& p) {
    const std::string c = p.string(), r = canonical_root.string();
    return c == r || (c.size() > r.size() && c.compare(0, r.size(), r) == 0 && c[r.size()] == '/');
  };
  fs::recursive_directory_iterator it(root_path, fs::directory_options::follow_directory_symlink,
                                      ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read data folder ", root, ": ", ec.message()));
  }
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot read below data folder ", root, ": ", ec.message()));
    }
    const fs::directory_entry& entry = *it;
    if (entry.is_directory(ec)) {
      std::error_code link_ec;
      if (entry.is_symlink(link_ec)) {
        const fs::path target = fs::canonical(entry.path(), link_ec);
        if (!link_ec && inside_tree(target)) {
          it.disable_recursion_pending();
          repeated.push_back(absl::StrCat(entry.path().string(), " (a link to ", target.string(),
                                          ", which the folder is read as: a symlink loop or a "
                                          "second way in)"));
          continue;
        }
      }
      std::pair<dev_t, ino_t> id;
      if (!identity(entry.path(), &id)) continue;
      if (const auto [first, inserted] = folders.emplace(id, entry.path().string()); !inserted) {
        it.disable_recursion_pending();
        repeated.push_back(absl::StrCat(entry.path().string(), " (the folder ", first->second,
                                        " again: a second link to it)"));
      }
      continue;
    }
    const fs::path& path = entry.path();
    if (!IsImageExtension(path) || path.parent_path() == root_path) {
      ++ignored;
      continue;
    }
    found.emplace_back(path.string(), path.parent_path().filename().string());
  }
  std::sort(found.begin(), found.end());

  Dataset dataset;
  dataset.root = root_path.string();
  dataset.ignored_files = ignored;
  dataset.repeated_folders = std::move(repeated);
  std::map<std::string, int> class_index;
  for (const auto& [path, cls] : found) class_index.emplace(cls, 0);
  for (auto& [cls, index] : class_index) {
    index = static_cast<int>(dataset.classes.size());
    dataset.classes.push_back(cls);
  }
  dataset.examples.reserve(found.size());
  for (auto& [path, cls] : found) {
    Example e;
    e.group = PatientFromFileName(fs::path(path).filename().string());
    e.path = std::move(path);
    e.label = class_index[cls];
    dataset.examples.push_back(std::move(e));
  }

  if (dataset.examples.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data folder ", root,
        " holds no images (.png, .jpg, .jpeg, .bmp, .tif) inside class "
        "folders; expected the NIH layout <root>/Parasitized/*.png, <root>/Uninfected/*.png"));
  }
  if (dataset.classes.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data folder ", root, " holds only one class (", dataset.classes[0], ", ",
        dataset.examples.size(),
        " images); a classifier needs at least two class folders, such as Parasitized/ and "
        "Uninfected/"));
  }
  return dataset;
}

std::string PatientFromFileName(absl::string_view name) {
  // The first 'C' followed by digits (some copies prefix the class name: "ParasitizedC100P61...").
  size_t i = 0;
  while (i + 1 < name.size() && !((name[i] == 'C' || name[i] == 'c') &&
                                  std::isdigit(static_cast<unsigned char>(name[i + 1])))) {
    ++i;
  }
  if (i + 1 >= name.size()) return "";
  const size_t slide_start = ++i;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  const std::string slide = absl::StrCat("C", name.substr(slide_start, i - slide_start));
  if (i < name.size() && (name[i] == 'P' || name[i] == 'p')) {
    const size_t patient_start = ++i;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
    if (i > patient_start) return absl::StrCat("P", name.substr(patient_start, i - patient_start));
  }
  return slide;
}

std::string Fingerprint(const Dataset& dataset) {
  // FNV-1a, 64 bits, over "relative_path\tlabel\tsize\n" for each example.
  uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&h](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  const fs::path root(dataset.root);
  for (const Example& e : dataset.examples) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(e.path, ec);
    feed(fs::path(e.path).lexically_relative(root).string());
    feed(absl::StrCat("\t", dataset.classes[e.label], "\t", ec ? 0 : size, "\n"));
  }
  return absl::StrFormat("%016x", h);
}

Dataset SubsetOf(const Dataset& dataset, const std::vector<int>& indices) {
  Dataset subset;
  subset.root = dataset.root;
  subset.classes = dataset.classes;
  subset.examples.reserve(indices.size());
  for (int i : indices) subset.examples.push_back(dataset.examples[i]);
  return subset;
}

}  // namespace malaria::data
