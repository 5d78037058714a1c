// Command-line flags for the platform's programs: declared once with their help text, parsed with
// one set of rules, so every program treats --help, a missing value and an unknown flag alike.
//
//   std::string run;
//   int tta = 0;
//   std::vector<std::string> images;
//   FlagParser flags("classify --run RUN_DIR [flags] IMAGE...", "Classifies cell images.");
//   flags.String("run", &run, "the run directory whose model classifies");
//   flags.Int("tta", &tta, "flip averaging: 0, 1 or 2");
//   flags.PositionalPaths("IMAGE", &images);
//   flags.Require({"run", "IMAGE"});
//   absl::StatusOr<bool> go = flags.Parse(argc, argv);
//   if (!go.ok()) return go.status();   // names the flag; the usage follows
//   if (!*go) return kExitOk;           // --help: the usage was printed
//
// Accepted forms: --name VALUE, --name=VALUE, and for booleans --name, --name=true|false. -h and
// --help print the usage to stdout. "--" ends the flags: what follows is positional.
#ifndef MALARIA_BASE_FLAGS_H_
#define MALARIA_BASE_FLAGS_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace malaria::base {

class FlagParser {
 public:
  // `synopsis`: "program --run DIR [flags] IMAGE..."; `description`: what the program does.
  FlagParser(std::string synopsis, std::string description = "");

  void String(const std::string& name, std::string* value, const std::string& help);
  void Int(const std::string& name, int* value, const std::string& help);
  void Double(const std::string& name, double* value, const std::string& help);
  void Bool(const std::string& name, bool* value, const std::string& help);
  // Strings: a flag that may be repeated; each value is appended.
  void Strings(const std::string& name, std::vector<std::string>* values, const std::string& help);
  // Positional: arguments that are not flags go to `values` (without it, they are an error).
  void Positional(const std::string& name, std::vector<std::string>* values);
  // Path, Paths and PositionalPaths: as String, Strings and Positional for paths the user typed,
  // each made absolute against the folder the command started in (ResolveUserPath, base/files.h:
  // what `bazel run` changes).
  void Path(const std::string& name, std::string* value, const std::string& help);
  void Paths(const std::string& name, std::vector<std::string>* values, const std::string& help);
  void PositionalPaths(const std::string& name, std::vector<std::string>* values);
  // Require makes Parse fail unless each of `names` (flags, or the positional arguments' name) was
  // given: "--run and at least one IMAGE are required", with the usage.
  void Require(std::vector<std::string> names);

  // Parse reads argv[1..argc). Returns true when the program should go on, false after printing
  // the usage for --help; InvalidArgument naming the flag (unknown flag, missing or malformed
  // value, unexpected positional argument), with the usage appended.
  absl::StatusOr<bool> Parse(int argc, char** argv);

  // Usage returns the synopsis, the description and one line per flag.
  std::string Usage() const;

  // ArgumentsWithout returns the parsed arguments, in their order and original form, without the
  // ones of flag `name` (run_experiment passes the others on to the processes it launches).
  std::vector<std::string> ArgumentsWithout(const std::string& name) const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    bool is_bool = false;
    std::string value_name;
    // Sets the value from text; an error message when the text is malformed.
    std::function<absl::Status(const std::string&)> set;
  };
  void Add(Flag flag);
  const Flag* Find(const std::string& name) const;
  absl::Status Error(const std::string& message) const;

  std::string synopsis_;
  std::string description_;
  std::vector<Flag> flags_;
  std::string positional_name_;
  std::vector<std::string>* positional_ = nullptr;
  bool positional_paths_ = false;
  std::vector<std::string> required_;
  // (flag name or "" for positional, the argument tokens), in order.
  std::vector<std::pair<std::string, std::vector<std::string>>> parsed_;
};

}  // namespace malaria::base

#endif  // MALARIA_BASE_FLAGS_H_
