// Differential test of the glob matching behind `${v#p}`, `${v%p}` and
// `${v/p/r}`: upstream converts patterns to a Go regex (`*` -> `.*` or
// `.*?`, `?` -> `.`) and uses leftmost-first matching; std::regex
// (ECMAScript) has the same semantics for such regexes on text without
// '\r', so it serves as the reference here.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>
#include <string>

#include "kiln/dockerfile/shell_lex.h"

namespace kiln::dockerfile {
namespace {

std::string ToRegex(const std::string& pattern, bool greedy) {
  std::string out;
  for (char c : pattern) {
    if (c == '*') {
      out += greedy ? ".*" : ".*?";
    } else if (c == '?') {
      out += '.';
    } else {
      out += c;  // only letters in these patterns
    }
  }
  return out;
}

// Upstream's trimPrefix through a regex.
std::string RefTrimPrefix(const std::string& pattern, const std::string& value,
                          bool greedy) {
  std::smatch m;
  std::string anchored = "^";
  anchored.append(ToRegex(pattern, greedy));
  const std::regex re(anchored);
  if (!std::regex_search(value, m, re)) return value;
  return value.substr(m.position(0) + m.length(0));
}

std::string RefTrimSuffix(std::string pattern, std::string value, bool greedy) {
  std::reverse(pattern.begin(), pattern.end());
  std::reverse(value.begin(), value.end());
  std::string out = RefTrimPrefix(pattern, value, greedy);
  std::reverse(out.begin(), out.end());
  return out;
}

// Go's ReplaceAllString / first replacement with a literal replacement.
std::string RefReplace(const std::string& pattern, const std::string& value,
                       const std::string& repl, bool all) {
  const std::regex re(ToRegex(pattern, true));
  std::smatch m;
  if (!all) {
    if (!std::regex_search(value, m, re)) return value;
    return value.substr(0, m.position(0)) + repl +
           value.substr(m.position(0) + m.length(0));
  }
  std::string out;
  size_t last_end = 0;
  size_t search = 0;
  while (search <= value.size()) {
    auto begin = value.begin() + static_cast<std::ptrdiff_t>(search);
    const auto flags = search > 0 ? std::regex_constants::match_prev_avail
                                  : std::regex_constants::match_default;
    if (!std::regex_search(begin, value.end(), m, re, flags)) break;
    const size_t start = search + m.position(0);
    const size_t end = start + m.length(0);
    out += value.substr(last_end, start - last_end);
    if (end > last_end || start == 0) out += repl;
    last_end = end;
    search = search + 1 > end ? search + 1 : end;
  }
  return out + value.substr(last_end);
}

// Builds `head + pattern + tail` by appending (GCC 12 at -O3 warns falsely
// with -Wrestrict on chained operator+ of string literals).
std::string Word(const char* head, const std::string& pattern,
                 const char* tail) {
  std::string word(head);
  word.append(pattern);
  word.append(tail);
  return word;
}

TEST(ShellPatternTest, MatchesRegexReference) {
  std::mt19937 rng(7);
  const std::string pattern_chars = "ab*?";
  const std::string text_chars = "aab\n";
  std::uniform_int_distribution<int> pattern_len(0, 6);
  std::uniform_int_distribution<int> text_len(0, 10);
  std::uniform_int_distribution<size_t> pp(0, pattern_chars.size() - 1);
  std::uniform_int_distribution<size_t> tp(0, text_chars.size() - 1);
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string pattern;
    for (int n = pattern_len(rng); n > 0; --n)
      pattern += pattern_chars[pp(rng)];
    std::string value;
    for (int n = text_len(rng); n > 0; --n) value += text_chars[tp(rng)];
    const EnvLookup env = [&](std::string_view name) {
      return name == "V" ? std::optional<std::string>(value) : std::nullopt;
    };
    const auto expand = [&](const std::string& word) {
      Result<std::string> got = ProcessWord(word, env);
      EXPECT_TRUE(got.ok()) << word << ": " << got.status().ToString();
      return got.value_or("<error>");
    };
    SCOPED_TRACE(Word("pattern: ", pattern, "") + Word(" value: ", value, ""));
    EXPECT_EQ(expand(Word("${V#", pattern, "}")),
              RefTrimPrefix(pattern, value, false));
    EXPECT_EQ(expand(Word("${V##", pattern, "}")),
              RefTrimPrefix(pattern, value, true));
    EXPECT_EQ(expand(Word("${V%", pattern, "}")),
              RefTrimSuffix(pattern, value, false));
    EXPECT_EQ(expand(Word("${V%%", pattern, "}")),
              RefTrimSuffix(pattern, value, true));
    if (!pattern.empty() && pattern[0] != '/') {
      EXPECT_EQ(expand(Word("${V/", pattern, "/X}")),
                RefReplace(pattern, value, "X", false));
      EXPECT_EQ(expand(Word("${V//", pattern, "/X}")),
                RefReplace(pattern, value, "X", true));
    }
    compared += 6;
  }
  EXPECT_EQ(compared, 18000);
}

}  // namespace
}  // namespace kiln::dockerfile
