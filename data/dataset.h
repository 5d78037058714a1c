// Scanning an NIH-layout image folder into a list of labelled examples.
//
// The NIH malaria dataset is published as `cell_images/Parasitized/*.png` and
// `cell_images/Uninfected/*.png`. Any folder whose images sit in folders named after their class,
// at any depth below the root, is read the same way: the label is the parent folder's name, and the
// class list is the sorted set of those names.
//
//   absl::StatusOr<Dataset> ds = ScanImageFolder("/data/cell_images");
//   if (!ds.ok()) return ds.status();  // names the folder and what is wrong with it
//   for (const Example& e : ds->examples) { ... e.path, e.label, e.group ... }
#ifndef MALARIA_DATA_DATASET_H_
#define MALARIA_DATA_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace malaria::data {

// One labelled image file.
struct Example {
  std::string path;   // absolute or root-relative path to the image file
  int label = -1;     // index into Dataset::classes
  std::string group;  // patient ("P61") or, for healthy donors, slide ("C1"); "" if unknown
};

// A scanned dataset: examples sorted by path, so scans are reproducible.
struct Dataset {
  std::string root;
  std::vector<std::string> classes;  // sorted class (folder) names
  std::vector<Example> examples;
  int ignored_files = 0;  // files skipped because of their extension or place
  // Folders skipped because they were reached a second time (symlink loops, second links), each
  // with the folder it repeats.
  std::vector<std::string> repeated_folders;

  // CountPerClass returns the number of examples of each class, indexed like `classes`.
  std::vector<int> CountPerClass() const;
};

// ScanImageFolder lists the images below `root` (extensions .png, .jpg, .jpeg, .bmp, .tif, .tiff,
// any case), labelled by their parent folder's name. Returns NotFound if `root` does not exist,
// InvalidArgument if it is not a folder, holds no images, or holds fewer than two classes.
absl::StatusOr<Dataset> ScanImageFolder(const std::string& root);

// ListImages returns the image files below `folder` (the extensions ScanImageFolder reads, any
// depth, links to folders not followed), sorted: one patient's cells, say, as `classify` reads a
// folder. NotFound if `folder` does not exist, InvalidArgument if it is not a folder or holds no
// images; the message names it.
absl::StatusOr<std::vector<std::string>> ListImages(const std::string& folder);

// PatientFromFileName returns the patient or slide group of an NIH file name:
// "C100P61ThinF_IMG_..._cell_162.png" -> "P61"; healthy donors have no P<number> and form one
// group per slide: "C1_thinF_IMG_..." -> "C1", "C231ThinF_..." -> "C231". The first C<number> in
// the name counts, so prefixed copies ("ParasitizedC100P61ThinF_...") work too. Returns "" for
// names without C<number>.
std::string PatientFromFileName(absl::string_view file_name);

// Fingerprint returns a hex digest of the examples' paths (relative to the root), labels and file
// sizes, so two runs can tell whether they saw the same data.
std::string Fingerprint(const Dataset& dataset);

// SubsetOf returns the examples at `indices`, in that order, with the same classes and root.
Dataset SubsetOf(const Dataset& dataset, const std::vector<int>& indices);

}  // namespace malaria::data

#endif  // MALARIA_DATA_DATASET_H_
