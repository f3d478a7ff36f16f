#include "kiln/dockerfile/shell_lex.h"

#include <map>
#include <utility>

#include "shell_word.h"

namespace kiln::dockerfile {
namespace {

// Go's %q for the error prefix, enough for readable messages.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

Result<ExpandResult> ProcessWordWithMatches(std::string_view word,
                                            const EnvLookup& env,
                                            const LexOptions& options) {
  ExpandResult out;
  Status status = internal::ExpandWord(word, env, options, &out);
  if (!status.ok()) {
    return status.WithContext("failed to process " + Quote(word));
  }
  return out;
}

Result<std::string> ProcessWord(std::string_view word, const EnvLookup& env,
                                const LexOptions& options) {
  KILN_ASSIGN_OR_RETURN(ExpandResult out,
                        ProcessWordWithMatches(word, env, options));
  return std::move(out.result);
}

Result<std::vector<std::string>> ProcessWords(std::string_view word,
                                              const EnvLookup& env,
                                              const LexOptions& options) {
  KILN_ASSIGN_OR_RETURN(ExpandResult out,
                        ProcessWordWithMatches(word, env, options));
  return std::move(out.words);
}

EnvLookup EnvFromList(const std::vector<std::string>& env) {
  std::map<std::string, std::string, std::less<>> vars;
  for (const std::string& entry : env) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      vars[entry] = "";
    } else {
      vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return [vars = std::move(vars)](
             std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace kiln::dockerfile
