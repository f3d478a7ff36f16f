// Private pieces of the build checks (checks*.cc): the emitter that applies
// the config, and the two rule groups.
#ifndef KILN_DOCKERFILE_SRC_CHECKS_INTERNAL_H_
#define KILN_DOCKERFILE_SRC_CHECKS_INTERNAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/checks.h"

namespace kiln::dockerfile::internal {

// Collects warnings of the rules the config enables.
class CheckEmitter {
 public:
  explicit CheckEmitter(const CheckConfig& config) : config_(config) {}

  // True when rule `name` runs under the config.
  bool Enabled(std::string_view name) const;
  // Adds a warning of rule `name` (one of CheckRules()) when enabled.
  void Add(std::string_view name, std::string message,
           const SourceRange& range);
  std::vector<CheckWarning>& warnings() { return warnings_; }

 private:
  const CheckConfig& config_;
  std::vector<CheckWarning> warnings_;
};

// The instruction keyword as written: the first word of `original`.
std::string KeywordOf(std::string_view original);

// True when `path` (relative to the context, cleaned) is excluded by the
// .dockerignore `patterns` (checks_ignore.cc).
bool IgnoredByDockerignore(std::string_view path,
                           const std::vector<std::string>& patterns);

// Rules over the syntax tree and single instructions (checks.cc).
void CheckSyntaxRules(const ParseResult& parsed,
                      const ParsedDockerfile& instructions, CheckEmitter& out);

// Rules that follow variables and stages: FROM expansion, UndefinedVar,
// WorkdirRelativePath, EXPOSE, JSONArgsRecommended (checks_stages.cc).
void CheckStageRules(const ParsedDockerfile& instructions,
                     const CheckInputs& inputs, char escape, CheckEmitter& out);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_CHECKS_INTERNAL_H_
