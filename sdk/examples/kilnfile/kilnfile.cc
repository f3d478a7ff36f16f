#include "kilnfile.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace kilnfile {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace

kiln::Result<std::vector<Instruction>> Parse(std::string_view text,
                                             const std::string& filename) {
  static const std::set<std::string> kKeywords = {
      "from", "env", "workdir", "user", "run", "copy", "entrypoint", "cmd"};
  std::vector<Instruction> program;
  int line = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view raw = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line;
    std::string_view s = Trim(raw);
    if (s.empty() || s.front() == '#') continue;

    auto error = [&](const std::string& message) {
      return kiln::InvalidArgumentError(message).WithRange(
          kiln::SourceRange{.file = filename, .line = line});
    };
    size_t space = std::min(s.find_first_of(" \t"), s.size());
    Instruction in{.args = std::string(Trim(s.substr(space))), .line = line};
    for (char c : s.substr(0, space)) {
      in.keyword +=
          static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!kKeywords.count(in.keyword)) {
      return error("unknown instruction \"" + in.keyword + "\"");
    }
    if (in.args.empty()) return error(in.keyword + " needs an argument");
    if (program.empty() && in.keyword != "from") {
      return error("the first instruction must be from, not " + in.keyword);
    }
    if (!program.empty() && in.keyword == "from") {
      return error("only one from is allowed");
    }
    if (in.keyword == "env" && in.args.find('=') == std::string::npos) {
      return error("env needs KEY=VALUE, got \"" + in.args + "\"");
    }
    program.push_back(std::move(in));
  }
  if (program.empty()) {
    return kiln::InvalidArgumentError(filename + ": no instructions");
  }
  return program;
}

}  // namespace kilnfile
