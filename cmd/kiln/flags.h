// A small command-line flag parser for kiln's subcommands: `--name value`,
// `--name=value`, boolean `--name`, one-letter aliases (`-o FILE`), repeated
// flags, `--` to end flags, and positional arguments in order.
#ifndef KILN_CMD_KILN_FLAGS_H_
#define KILN_CMD_KILN_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::cli {

class Flags {
 public:
  // Declares a flag taking a value; `alias` is a one-letter short form or 0.
  Flags& Value(std::string name, char alias = 0);
  // Declares a boolean flag.
  Flags& Bool(std::string name, char alias = 0);

  // Parses `args`. On error returns false and sets error(). `-h`/`--help`
  // set help() and stop parsing.
  bool Parse(const std::vector<std::string>& args);

  const std::string& error() const { return error_; }
  bool help() const { return help_; }
  const std::vector<std::string>& positional() const { return positional_; }

  // The last value given for `name`, if any.
  std::optional<std::string> Get(std::string_view name) const;
  std::string GetOr(std::string_view name, std::string fallback) const;
  // Every value given for `name`, in order.
  std::vector<std::string> All(std::string_view name) const;
  bool Has(std::string_view name) const;

 private:
  struct Spec {
    bool takes_value = false;
  };
  std::map<std::string, Spec, std::less<>> specs_;
  std::map<char, std::string> aliases_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
  std::string error_;
  bool help_ = false;
};

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_FLAGS_H_
