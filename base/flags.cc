#include "base/flags.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/files.h"

namespace malaria::base {

FlagParser::FlagParser(std::string synopsis, std::string description)
    : synopsis_(std::move(synopsis)), description_(std::move(description)) {}

void FlagParser::Add(Flag flag) { flags_.push_back(std::move(flag)); }

void FlagParser::String(const std::string& name, std::string* value, const std::string& help) {
  Add({name, help, false, "VALUE", [value](const std::string& text) {
         *value = text;
         return absl::OkStatus();
       }});
}

void FlagParser::Int(const std::string& name, int* value, const std::string& help) {
  Add({name, help, false, "N", [value](const std::string& text) {
         if (!absl::SimpleAtoi(text, value)) {
           return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an integer"));
         }
         return absl::OkStatus();
       }});
}

void FlagParser::Double(const std::string& name, double* value, const std::string& help) {
  Add({name, help, false, "X", [value](const std::string& text) {
         if (!absl::SimpleAtod(text, value)) {
           return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a number"));
         }
         return absl::OkStatus();
       }});
}

void FlagParser::Bool(const std::string& name, bool* value, const std::string& help) {
  Add({name, help, true, "", [value](const std::string& text) {
         if (!absl::SimpleAtob(text, value)) {
           return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not true or false"));
         }
         return absl::OkStatus();
       }});
}

void FlagParser::Strings(const std::string& name, std::vector<std::string>* values,
                         const std::string& help) {
  Add({name, help + " (repeatable)", false, "VALUE", [values](const std::string& text) {
         values->push_back(text);
         return absl::OkStatus();
       }});
}

void FlagParser::Positional(const std::string& name, std::vector<std::string>* values) {
  positional_name_ = name;
  positional_ = values;
}

void FlagParser::Path(const std::string& name, std::string* value, const std::string& help) {
  Add({name, help, false, "PATH", [value](const std::string& text) {
         *value = ResolveUserPath(text);
         return absl::OkStatus();
       }});
}

void FlagParser::Paths(const std::string& name, std::vector<std::string>* values,
                       const std::string& help) {
  Add({name, help + " (repeatable)", false, "PATH", [values](const std::string& text) {
         values->push_back(ResolveUserPath(text));
         return absl::OkStatus();
       }});
}

void FlagParser::PositionalPaths(const std::string& name, std::vector<std::string>* values) {
  Positional(name, values);
  positional_paths_ = true;
}

void FlagParser::Require(std::vector<std::string> names) { required_ = std::move(names); }

const FlagParser::Flag* FlagParser::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::Status FlagParser::Error(const std::string& message) const {
  return absl::InvalidArgumentError(absl::StrCat(message, "\n", Usage()));
}

std::string FlagParser::Usage() const {
  std::string usage = absl::StrCat("usage: ", synopsis_, "\n");
  if (!description_.empty()) absl::StrAppend(&usage, description_, "\n");
  for (const Flag& f : flags_) {
    const std::string left =
        f.is_bool ? absl::StrCat("--", f.name) : absl::StrCat("--", f.name, " ", f.value_name);
    absl::StrAppendFormat(&usage, "  %-24s %s\n", left, f.help);
  }
  absl::StrAppendFormat(&usage, "  %-24s %s\n", "--help", "print this and exit");
  return usage;
}

absl::StatusOr<bool> FlagParser::Parse(int argc, char** argv) {
  parsed_.clear();
  bool flags_ended = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (flags_ended || !absl::StartsWith(arg, "-") || arg == "-") {
      if (positional_ == nullptr) {
        return Error(absl::StrCat("unexpected argument '", arg, "'"));
      }
      positional_->push_back(positional_paths_ ? ResolveUserPath(arg) : arg);
      parsed_.push_back({"", {arg}});
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      absl::FPrintF(stdout, "%s", Usage());
      return false;
    }
    std::string name = arg.substr(absl::StartsWith(arg, "--") ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr) return Error(absl::StrCat("unknown flag '", arg, "'"));
    std::vector<std::string> tokens = {arg};
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 >= argc) {
        return Error(absl::StrCat("--", name, " needs a value"));
      } else {
        value = argv[++i];
        tokens.push_back(value);
      }
    }
    if (absl::Status s = flag->set(value); !s.ok()) {
      return Error(absl::StrCat("--", name, ": ", s.message()));
    }
    parsed_.push_back({name, std::move(tokens)});
  }
  std::vector<std::string> missing;
  for (const std::string& name : required_) {
    const std::string key = name == positional_name_ ? "" : name;
    const bool given = std::any_of(parsed_.begin(), parsed_.end(),
                                   [&key](const auto& parsed) { return parsed.first == key; });
    if (!given) missing.push_back(key.empty() ? absl::StrCat("at least one ", name) : "--" + name);
  }
  if (!missing.empty()) {
    return Error(absl::StrCat(absl::StrJoin(missing, " and "),
                              missing.size() == 1 ? " is required" : " are required"));
  }
  return true;
}

std::vector<std::string> FlagParser::ArgumentsWithout(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [flag, tokens] : parsed_) {
    if (flag == name) continue;
    out.insert(out.end(), tokens.begin(), tokens.end());
  }
  return out;
}

}  // namespace malaria::base
