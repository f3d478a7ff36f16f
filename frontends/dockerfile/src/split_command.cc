#include <string>
#include <string_view>

#include "go_text.h"
#include "line_parsers.h"

namespace kiln::dockerfile {
namespace {

// extractBuilderFlags: returns the flags and stores the rest in `rest`.
// Upstream walks bytes (a byte >= 0x80 is tested as the rune of that value);
// unlike upstream, bytes are copied as they are rather than re-encoded.
std::vector<std::string> ExtractBuilderFlags(std::string_view line,
                                             std::string* rest) {
  enum Phase { kInSpaces, kInWord, kInQuote };
  std::vector<std::string> words;
  Phase phase = kInSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  const size_t n = line.size();
  for (size_t pos = 0; pos <= n; ++pos) {
    char ch = pos != n ? line[pos] : 0;
    if (phase == kInSpaces) {
      if (pos == n) break;
      if (gotext::IsSpaceByte(static_cast<unsigned char>(ch))) continue;
      if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') {
        *rest = std::string(line.substr(pos));
        return words;
      }
      phase = kInWord;
    }
    if (pos == n) {
      if (word != "--" && (blank_ok || !word.empty())) words.push_back(word);
      break;
    }
    if (phase == kInWord) {
      if (gotext::IsSpaceByte(static_cast<unsigned char>(ch))) {
        phase = kInSpaces;
        if (word == "--") {
          *rest = std::string(line.substr(pos));
          return words;
        }
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kInQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == n) continue;
        ch = line[++pos];
      }
      word.push_back(ch);
      continue;
    }
    // kInQuote
    if (ch == quote) {
      phase = kInWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == n) {
        phase = kInWord;
        continue;
      }
      ch = line[++pos];
    }
    word.push_back(ch);
  }
  rest->clear();
  return words;
}

}  // namespace

SplitLine SplitCommand(std::string_view line) {
  SplitLine out;
  std::string_view trimmed = gotext::TrimSpace(line);
  size_t end = 0;
  while (end < trimmed.size() && !gotext::IsAsciiBlank(trimmed[end])) ++end;
  out.command = gotext::AsciiLower(trimmed.substr(0, end));
  size_t start = end;
  while (start < trimmed.size() && gotext::IsAsciiBlank(trimmed[start]))
    ++start;
  if (end < trimmed.size()) {
    std::string rest;
    out.flags = ExtractBuilderFlags(trimmed.substr(start), &rest);
    out.args = std::string(gotext::TrimSpace(rest));
  }
  return out;
}

}  // namespace kiln::dockerfile
