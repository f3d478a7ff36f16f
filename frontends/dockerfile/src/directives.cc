#include "directives.h"

#include <utility>

#include "go_text.h"

namespace kiln::dockerfile {
namespace {

// RE2's \s.
bool IsRegexSpace(char c) {
  return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` on the text after `#`.
bool MatchDirective(std::string_view s, std::string* key, std::string* value) {
  if (s.empty() || !IsAlpha(s[0])) return false;
  size_t i = 1;
  while (i < s.size() && (IsAlpha(s[i]) || IsDigit(s[i]))) ++i;
  *key = std::string(s.substr(0, i));
  while (i < s.size() && IsRegexSpace(s[i])) ++i;
  if (i == s.size() || s[i] != '=') return false;
  std::string_view rest = s.substr(i + 1);
  if (rest.empty()) return false;
  size_t start = 0;
  while (start < rest.size() && IsRegexSpace(rest[start])) ++start;
  size_t end = rest.size();
  while (end > start && IsRegexSpace(rest[end - 1])) --end;
  if (start == end) {
    // Only blanks: the lazy group still takes one character, the last one.
    *value = std::string(rest.substr(rest.size() - 1));
  } else {
    *value = std::string(rest.substr(start, end - start));
  }
  return true;
}

}  // namespace

Result<bool> DirectiveScanner::ParseLine(std::string_view line) {
  ++line_;
  if (done_) return false;
  if (line.empty() || line[0] != '#') {
    done_ = true;
    return false;
  }
  std::string key;
  std::string value;
  if (!MatchDirective(gotext::TrimLeftSpace(line.substr(1)), &key, &value)) {
    done_ = true;
    return false;
  }
  key = gotext::AsciiLower(key);
  if (key != "syntax" && key != "escape" && key != "check") {
    done_ = true;
    return false;
  }
  if (!seen_.insert(key).second) {
    return InvalidArgumentError("only one " + key +
                                " parser directive can be used");
  }
  Directive directive{key, value, line_};
  if (key == "escape") {
    if (value != "`" && value != "\\") {
      return InvalidArgumentError("invalid escape token '" + value +
                                  "' does not match ` or \\");
    }
    directives_.escape_token = value[0];
    directives_.escape = std::move(directive);
  } else if (key == "syntax") {
    directives_.syntax = std::move(directive);
  } else {
    directives_.check = std::move(directive);
  }
  return true;
}

}  // namespace kiln::dockerfile
