// BFlags::Parse: upstream's bflag.go, with its messages lowercased.
#include "bflags.h"

#include <algorithm>
#include <utility>

#include "suggest.h"

namespace kiln::dockerfile {
namespace {

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

void BFlags::AddBool(std::string name, bool default_value) {
  flags_.push_back(
      Flag{std::move(name), Type::kBool, default_value ? "true" : "false", {}});
}

void BFlags::AddString(std::string name, std::string default_value) {
  flags_.push_back(
      Flag{std::move(name), Type::kString, std::move(default_value), {}});
}

void BFlags::AddStrings(std::string name) {
  flags_.push_back(Flag{std::move(name), Type::kStrings, "", {}});
}

Status BFlags::Parse() {
  for (const std::string& word : args_) {
    if (word.rfind("--", 0) != 0)
      return InvalidArgumentError("arg should start with -- : " + word);
    if (word == "--") return Status::Ok();
    std::string_view arg = std::string_view(word).substr(2);
    std::string_view value;
    const size_t equals = arg.find('=');
    const bool has_value = equals != std::string_view::npos;
    if (has_value) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
    }
    auto it = std::find_if(flags_.begin(), flags_.end(),
                           [&](const Flag& f) { return f.name == arg; });
    if (it == flags_.end()) {
      std::vector<std::string> known;
      for (const Flag& f : flags_) known.push_back("--" + f.name);
      return InvalidArgumentError(
          WithSuggestion("unknown flag: --" + std::string(arg),
                         "--" + std::string(arg), known, true));
    }
    const std::string name(arg);
    const bool seen =
        std::find(used_.begin(), used_.end(), name) != used_.end();
    if (seen && it->type != Type::kStrings)
      return InvalidArgumentError("duplicate flag specified: --" + name);
    if (!seen) used_.push_back(name);
    switch (it->type) {
      case Type::kBool: {
        if (has_value && value.empty())
          return InvalidArgumentError("missing a value on flag: --" + name);
        const std::string lower = AsciiLower(value);
        if (lower.empty()) {
          it->value = "true";
        } else if (lower == "true" || lower == "false") {
          it->value = lower;
        } else {
          return InvalidArgumentError("expecting boolean value for flag --" +
                                      name + ", not: " + std::string(value));
        }
        break;
      }
      case Type::kString:
        if (!has_value)
          return InvalidArgumentError("missing a value on flag: --" + name);
        it->value = std::string(value);
        break;
      case Type::kStrings:
        if (!has_value)
          return InvalidArgumentError("missing a value on flag: --" + name);
        it->values.emplace_back(value);
        break;
    }
  }
  return Status::Ok();
}

const BFlags::Flag& BFlags::Find(std::string_view name, Type type) const {
  auto it = std::find_if(flags_.begin(), flags_.end(), [&](const Flag& f) {
    return f.name == name && f.type == type;
  });
  KILN_CHECK(it != flags_.end(), "flag not declared with this type");
  return *it;
}

bool BFlags::Bool(std::string_view name) const {
  return Find(name, Type::kBool).value == "true";
}

const std::string& BFlags::String(std::string_view name) const {
  return Find(name, Type::kString).value;
}

const std::vector<std::string>& BFlags::Strings(std::string_view name) const {
  return Find(name, Type::kStrings).values;
}

bool BFlags::IsUsed(std::string_view name) const {
  return std::find(used_.begin(), used_.end(), name) != used_.end();
}

}  // namespace kiln::dockerfile
