#include "kiln/dockerfile/instruction_expansion.h"

#include <array>
#include <cctype>

namespace kiln::dockerfile {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool ExpandsVariables(std::string_view instruction) {
  static constexpr std::array<std::string_view, 11> kExpanding = {
      "add",   "arg",        "copy", "env",    "expose", "from",
      "label", "stopsignal", "user", "volume", "workdir"};
  for (std::string_view name : kExpanding) {
    if (EqualsIgnoreCase(instruction, name)) return true;
  }
  return false;
}

}  // namespace kiln::dockerfile
