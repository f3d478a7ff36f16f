// The loader's helpers: typed access to YamlNodes with located errors, key
// checks with suggestions, and `${NAME}` substitution. Private to load*.cc.
#ifndef KILN_RECIPE_SRC_LOAD_INTERNAL_H_
#define KILN_RECIPE_SRC_LOAD_INTERNAL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/recipe/recipe.h"
#include "kiln/recipe/yaml_node.h"

namespace kiln::recipe::internal {

// " (did you mean \"x\"?)" for the candidate closest to `word` (edit
// distance at most 2, or a third of its length), else "".
std::string Suggestion(std::string_view word,
                       const std::vector<std::string>& candidates);

// "\"text\"" with quotes and backslashes escaped.
std::string Quote(std::string_view text);

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  // An InvalidArgument error located at `mark`.
  Status Error(const Mark& mark, const std::string& message) const;

  // `node` must be a mapping (else a wrong-type error naming `key` in
  // `where`) whose keys are scalars from `allowed`, each once.
  Status CheckMap(const YamlNode& node, std::string_view key,
                  std::string_view where,
                  const std::vector<std::string>& allowed) const;

  // The value of `key` in mapping `map`, nullptr when absent.
  static const YamlNode* Find(const YamlNode& map, std::string_view key);
  Result<const YamlNode*> Require(const YamlNode& map, std::string_view key,
                                  std::string_view where) const;

  Status WrongType(const YamlNode& value, std::string_view key,
                   std::string_view where, std::string_view expected) const;

  // A scalar, args substituted when `substitute`.
  Result<std::string> String(const YamlNode& value, std::string_view key,
                             std::string_view where,
                             bool substitute = true) const;
  // A sequence of scalars, or (when `allow_scalar`) one scalar.
  Result<std::vector<std::string>> StringList(const YamlNode& value,
                                              std::string_view key,
                                              std::string_view where,
                                              bool allow_scalar) const;
  // A mapping of scalar keys to scalar values (null = "").
  Result<EnvList> StringMap(const YamlNode& value, std::string_view key,
                            std::string_view where) const;
  Result<bool> Bool(const YamlNode& value, std::string_view key,
                    std::string_view where) const;
  // An octal number such as 755 or "0644" (at most 07777).
  Result<uint32_t> Octal(const YamlNode& value, std::string_view key,
                         std::string_view where) const;
  // A non-negative decimal integer.
  Result<int64_t> Integer(const YamlNode& value, std::string_view key,
                          std::string_view where) const;

  // `text` (the value of `node`) with `${NAME}` replaced.
  Result<std::string> Substitute(const YamlNode& node,
                                 std::string_view text) const;

  void SetArg(const std::string& name, const std::string& value) {
    args_[name] = value;
  }
  const LoadOptions& options() const { return options_; }

 private:
  const LoadOptions& options_;
  std::map<std::string, std::string> args_;
};

// A step of `stage` ("step N of stage \"x\""), `stage_names` for `from`.
Result<Step> LoadStep(const Loader& loader, const YamlNode& node, int index,
                      const std::string& stage,
                      const std::vector<std::string>& stage_names);

}  // namespace kiln::recipe::internal

#endif  // KILN_RECIPE_SRC_LOAD_INTERNAL_H_
