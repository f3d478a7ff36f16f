// .dockerignore parsing, as moby/patternmatcher/ignorefile.ReadAll.
#include <string>
#include <string_view>
#include <vector>

#include "convert_internal.h"
#include "kiln/dockerfile/frontend.h"

namespace kiln::dockerfile {
namespace {

std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<std::vector<std::string>> ParseDockerignore(std::string_view text) {
  std::vector<std::string> patterns;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(
        pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line[0] == '#') continue;
    std::string_view pattern = TrimSpace(line);
    if (pattern.empty()) continue;
    bool invert = pattern[0] == '!';
    if (invert) pattern = TrimSpace(pattern.substr(1));
    std::string cleaned;
    if (!pattern.empty()) {
      cleaned = convert::PathClean(pattern);
      if (cleaned.size() > 1 && cleaned[0] == '/') cleaned.erase(0, 1);
    }
    if (invert && cleaned.empty()) {
      return InvalidArgumentError("invalid .dockerignore pattern \"!\"");
    }
    patterns.push_back(invert ? "!" + cleaned : cleaned);
  }
  return patterns;
}

}  // namespace kiln::dockerfile
