#include "path_util.h"

#include <algorithm>

namespace kiln::solver::internal {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

std::string JoinPath(const std::vector<std::string>& components, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < components.size(); ++i) {
    if (i > 0) out += '/';
    out += components[i];
  }
  return out;
}

std::optional<std::vector<std::string>> CleanPath(std::string_view path) {
  std::vector<std::string> out;
  for (std::string& comp : SplitPath(path)) {
    if (comp != "..") {
      out.push_back(std::move(comp));
      continue;
    }
    if (out.empty()) return std::nullopt;
    out.pop_back();
  }
  return out;
}

std::optional<std::string> CleanPathWithoutDotDot(std::string_view path) {
  std::vector<std::string> parts = SplitPath(path);
  if (std::find(parts.begin(), parts.end(), "..") != parts.end())
    return std::nullopt;
  return JoinPath(parts);
}

}  // namespace kiln::solver::internal
