// Instruction flags, as BuildKit's instructions.BFlags: each instruction
// declares the flags it knows, then Parse() checks the node's `--name=value`
// words against them. Private to the Dockerfile frontend.
#ifndef KILN_DOCKERFILE_BFLAGS_H_
#define KILN_DOCKERFILE_BFLAGS_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::dockerfile {

// Not thread-safe; one object per instruction being parsed.
class BFlags {
 public:
  explicit BFlags(std::vector<std::string> args) : args_(std::move(args)) {}

  // Declarations. A bool flag is `--name`, `--name=true` or `--name=false`
  // (any letter case); a string flag needs `=value`; a strings flag may
  // repeat and collects its values in order.
  void AddBool(std::string name, bool default_value);
  void AddString(std::string name, std::string default_value);
  void AddStrings(std::string name);

  // Checks the words. Errors (InvalidArgument, no range): "unknown flag:
  // --x" (with a suggestion among the declared names), "duplicate flag
  // specified: --x", "missing a value on flag: --x", "expecting boolean
  // value for flag --x, not: y", a word not starting with "--". A word "--"
  // ends the flags.
  Status Parse();

  // Values after Parse (the default when absent). The name must have been
  // declared with the matching Add* (KILN_CHECK).
  bool Bool(std::string_view name) const;
  const std::string& String(std::string_view name) const;
  const std::vector<std::string>& Strings(std::string_view name) const;
  bool IsUsed(std::string_view name) const;
  // Names of the flags given, in first-use order.
  const std::vector<std::string>& Used() const { return used_; }

 private:
  enum class Type { kBool, kString, kStrings };
  struct Flag {
    std::string name;
    Type type;
    std::string value;
    std::vector<std::string> values;
  };
  const Flag& Find(std::string_view name, Type type) const;

  std::vector<std::string> args_;
  std::vector<Flag> flags_;
  std::vector<std::string> used_;
};

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_BFLAGS_H_
