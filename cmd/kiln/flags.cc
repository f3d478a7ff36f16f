#include "flags.h"

namespace kiln::cli {

Flags& Flags::Value(std::string name, char alias) {
  if (alias != 0) aliases_[alias] = name;
  specs_[std::move(name)] = Spec{true};
  return *this;
}

Flags& Flags::Bool(std::string name, char alias) {
  if (alias != 0) aliases_[alias] = name;
  specs_[std::move(name)] = Spec{false};
  return *this;
}

bool Flags::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional_.insert(positional_.end(), args.begin() + i + 1, args.end());
      return true;
    }
    if (a == "-h" || a == "--help") {
      help_ = true;
      return true;
    }
    if (a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);  // includes "-" (stdin/stdout)
      continue;
    }
    std::string name;
    std::optional<std::string> inline_value;
    if (a[1] == '-') {
      name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
    } else {
      auto it = a.size() == 2 ? aliases_.find(a[1]) : aliases_.end();
      if (it == aliases_.end()) {
        error_ = "unknown flag " + a;
        return false;
      }
      name = it->second;
    }
    auto spec = specs_.find(name);
    if (spec == specs_.end()) {
      error_ = "unknown flag --" + name;
      return false;
    }
    if (!spec->second.takes_value) {
      if (inline_value && *inline_value != "true" && *inline_value != "false") {
        error_ = "flag --" + name + " takes no value (or true/false)";
        return false;
      }
      values_[name].push_back(inline_value.value_or("true"));
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        error_ = "flag --" + name + " needs a value";
        return false;
      }
      inline_value = args[++i];
    }
    values_[name].push_back(*inline_value);
  }
  return true;
}

std::optional<std::string> Flags::Get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Flags::GetOr(std::string_view name, std::string fallback) const {
  return Get(name).value_or(std::move(fallback));
}

std::vector<std::string> Flags::All(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool Flags::Has(std::string_view name) const {
  auto v = Get(name);
  return v && *v != "false";
}

}  // namespace kiln::cli
