// The loader's typed accessors, suggestions and `${NAME}` substitution.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "load_internal.h"

namespace kiln::recipe::internal {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                            std::tolower(static_cast<unsigned char>(b[j - 1]))
                        ? 0
                        : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

bool IsArgName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

std::string Suggestion(std::string_view word,
                       const std::vector<std::string>& candidates) {
  if (word.size() > 256) return "";
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(word, c);
    if (best == nullptr || d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  if (best == nullptr || best_distance == 0 || best_distance > limit) return "";
  return " (did you mean " + Quote(*best) + "?)";
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

Status Loader::Error(const Mark& mark, const std::string& message) const {
  return InvalidArgumentError(message).WithRange(SourceRange{
      .file = options_.filename, .line = mark.line, .column = mark.column});
}

Status Loader::WrongType(const YamlNode& value, std::string_view key,
                         std::string_view where,
                         std::string_view expected) const {
  return Error(value.mark, "wrong type for " + Quote(key) + " in " +
                               std::string(where) + ": expected " +
                               std::string(expected) + ", got " +
                               std::string(KindName(value)));
}

Status Loader::CheckMap(const YamlNode& node, std::string_view key,
                        std::string_view where,
                        const std::vector<std::string>& allowed) const {
  if (!node.IsMap()) return WrongType(node, key, where, "a mapping");
  std::vector<std::string> seen;
  for (const auto& [k, v] : node.entries) {
    if (!k.IsScalar()) {
      return Error(k.mark, "wrong type for a key in " + std::string(where) +
                               ": expected a scalar, got " +
                               std::string(KindName(k)));
    }
    if (std::find(allowed.begin(), allowed.end(), k.scalar) == allowed.end()) {
      return Error(k.mark, "unknown key " + Quote(k.scalar) + " in " +
                               std::string(where) +
                               Suggestion(k.scalar, allowed));
    }
    if (std::find(seen.begin(), seen.end(), k.scalar) != seen.end()) {
      return Error(k.mark, "duplicate key " + Quote(k.scalar) + " in " +
                               std::string(where));
    }
    seen.push_back(k.scalar);
  }
  return Status::Ok();
}

const YamlNode* Loader::Find(const YamlNode& map, std::string_view key) {
  for (const auto& [k, v] : map.entries) {
    if (k.IsScalar() && k.scalar == key) return &v;
  }
  return nullptr;
}

Result<const YamlNode*> Loader::Require(const YamlNode& map,
                                        std::string_view key,
                                        std::string_view where) const {
  const YamlNode* value = Find(map, key);
  if (value == nullptr) {
    return Error(map.mark,
                 "missing key " + Quote(key) + " in " + std::string(where));
  }
  return value;
}

Result<std::string> Loader::String(const YamlNode& value, std::string_view key,
                                   std::string_view where,
                                   bool substitute) const {
  if (!value.IsScalar()) return WrongType(value, key, where, "a scalar");
  if (!substitute) return value.scalar;
  return Substitute(value, value.scalar);
}

Result<std::vector<std::string>> Loader::StringList(const YamlNode& value,
                                                    std::string_view key,
                                                    std::string_view where,
                                                    bool allow_scalar) const {
  std::vector<std::string> out;
  if (allow_scalar && value.IsScalar()) {
    KILN_ASSIGN_OR_RETURN(std::string s, String(value, key, where));
    out.push_back(std::move(s));
    return out;
  }
  if (!value.IsSequence()) {
    return WrongType(value, key, where,
                     allow_scalar ? "a scalar or a sequence" : "a sequence");
  }
  for (const YamlNode& item : value.items) {
    if (!item.IsScalar()) {
      return WrongType(item, key, where, "a sequence of scalars");
    }
    KILN_ASSIGN_OR_RETURN(std::string s, String(item, key, where));
    out.push_back(std::move(s));
  }
  return out;
}

Result<EnvList> Loader::StringMap(const YamlNode& value, std::string_view key,
                                  std::string_view where) const {
  if (!value.IsMap()) return WrongType(value, key, where, "a mapping");
  EnvList out;
  for (const auto& [k, v] : value.entries) {
    if (!k.IsScalar()) return WrongType(k, key, where, "scalar keys");
    if (k.scalar.empty()) return Error(k.mark, "empty key in " + Quote(key));
    for (const auto& [seen, unused] : out) {
      if (seen == k.scalar) {
        return Error(k.mark, "duplicate key " + Quote(k.scalar) + " in " +
                                 Quote(key) + " of " + std::string(where));
      }
    }
    std::string text;
    if (!v.IsNull()) {
      KILN_ASSIGN_OR_RETURN(text, String(v, k.scalar, where));
    }
    out.emplace_back(k.scalar, std::move(text));
  }
  return out;
}

Result<bool> Loader::Bool(const YamlNode& value, std::string_view key,
                          std::string_view where) const {
  if (value.IsScalar() && !value.quoted) {
    const std::string& s = value.scalar;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  return WrongType(value, key, where, "a boolean");
}

Result<uint32_t> Loader::Octal(const YamlNode& value, std::string_view key,
                               std::string_view where) const {
  KILN_ASSIGN_OR_RETURN(std::string s, String(value, key, where));
  if (s.empty() || s.size() > 5 ||
      s.find_first_not_of("01234567") != std::string::npos ||
      std::stoul(s, nullptr, 8) > 07777) {
    return Error(value.mark, "invalid " + std::string(key) + " " + Quote(s) +
                                 " in " + std::string(where) +
                                 ": expected an octal mode such as 0755");
  }
  return static_cast<uint32_t>(std::stoul(s, nullptr, 8));
}

Result<int64_t> Loader::Integer(const YamlNode& value, std::string_view key,
                                std::string_view where) const {
  KILN_ASSIGN_OR_RETURN(std::string s, String(value, key, where));
  if (s.empty() || s.size() > 18 ||
      s.find_first_not_of("0123456789") != std::string::npos) {
    return Error(value.mark, "invalid " + std::string(key) + " " + Quote(s) +
                                 " in " + std::string(where) +
                                 ": expected a non-negative integer");
  }
  return static_cast<int64_t>(std::stoll(s));
}

Result<std::string> Loader::Substitute(const YamlNode& node,
                                       std::string_view text) const {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out.push_back(c);
      continue;
    }
    if (text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out.push_back(c);
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Error(node.mark, "unterminated \"${\" in " + Quote(text));
    }
    std::string name(text.substr(i + 2, close - i - 2));
    if (!IsArgName(name)) {
      return Error(node.mark,
                   "invalid arg name " + Quote(name) + " in " + Quote(text));
    }
    auto it = args_.find(name);
    if (it == args_.end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : args_) names.push_back(k);
      return Error(node.mark,
                   "undefined arg " + Quote(name) + Suggestion(name, names));
    }
    out += it->second;
    if (out.size() > kMaxValueSize) {
      return Error(node.mark, "value longer than " +
                                  std::to_string(kMaxValueSize) +
                                  " bytes after substituting args");
    }
    i = close;
  }
  return out;
}

}  // namespace kiln::recipe::internal
