#include "kiln/solver/pattern_matcher.h"

#include <string>
#include <utility>

namespace kiln::solver {
namespace {

using Token = PatternMatcher::Token;
using Pattern = PatternMatcher::Pattern;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

// filepath.Clean, then without a leading '/' (as .dockerignore reads them).
std::string CleanPattern(std::string_view p) {
  bool absolute = !p.empty() && p[0] == '/';
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!absolute) {
        out.emplace_back("..");
      }
      continue;
    }
    out.emplace_back(c);
  }
  std::string s;
  for (const auto& c : out) {
    if (!s.empty()) s += '/';
    s += c;
  }
  return s.empty() ? "." : s;
}

Status BadPattern(std::string_view p, std::string_view why) {
  return InvalidArgumentError("invalid pattern \"" + std::string(p) +
                              "\": " + std::string(why));
}

// The code point at s[i] (UTF-8; a bad byte stands for itself) and its
// length in `len`.
char32_t DecodeRune(std::string_view s, size_t i, size_t& len) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80         ? 1
             : (b >> 5) == 6  ? 2
             : (b >> 4) == 14 ? 3
             : (b >> 3) == 30 ? 4
                              : 0;
  if (n <= 1 || i + n > s.size()) {
    len = 1;
    return b;
  }
  char32_t r = b & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c >> 6) != 2) {
      len = 1;
      return b;
    }
    r = (r << 6) | (c & 0x3f);
  }
  len = n;
  return r;
}

// Parses "[...]" starting after '[' with filepath.Match's rules (an
// unescaped '-' or ']' cannot start or end a range); `i` ends after ']'.
Status ParseClass(std::string_view p, size_t& i, Token& t) {
  t.kind = Token::kClass;
  if (i < p.size() && p[i] == '^') {
    t.negated = true;
    ++i;
  }
  auto esc = [&](char32_t& c) -> bool {
    if (i >= p.size() || p[i] == '-' || p[i] == ']') return false;
    if (p[i] == '\\') {
      ++i;
      if (i >= p.size()) return false;
    }
    size_t len = 0;
    c = DecodeRune(p, i, len);
    i += len;
    return true;
  };
  while (true) {
    if (i < p.size() && p[i] == ']' && !t.ranges.empty()) {
      ++i;
      return Status::Ok();
    }
    char32_t lo = 0;
    if (!esc(lo)) return BadPattern(p, "bad character class");
    char32_t hi = lo;
    if (i < p.size() && p[i] == '-') {
      ++i;
      if (!esc(hi)) return BadPattern(p, "bad character class");
      if (hi < lo) return BadPattern(p, "bad range in character class");
    }
    t.ranges += lo;
    t.ranges += hi;
  }
}

Result<Pattern> Compile(std::string text, bool exception) {
  Pattern pat;
  pat.exception = exception;
  std::string_view p = text;
  bool leading_double_star = false;
  bool plain_after = true;  // nothing but literals after a leading "**"
  size_t i = 0;
  for (int n = 0; i < p.size(); ++n) {
    char c = p[i++];
    Token t;
    if (c == '*') {
      if (i < p.size() && p[i] == '*') {
        ++i;
        if (i < p.size() && p[i] == '/') ++i;
        t.kind = i == p.size() ? Token::kTailStar : Token::kDoubleStar;
        if (n == 0) {
          leading_double_star = true;
        } else {
          plain_after = false;
        }
      } else {
        t.kind = Token::kStar;
        plain_after = false;
      }
    } else if (c == '?') {
      t.kind = Token::kQuestion;
      plain_after = false;
    } else if (c == '[') {
      KILN_RETURN_IF_ERROR(ParseClass(p, i, t));
      plain_after = false;
    } else if (c == '\\') {
      if (i >= p.size()) return BadPattern(p, "trailing backslash");
      t.ch = p[i++];
      plain_after = false;
    } else {
      t.ch = c;
    }
    pat.tokens.push_back(std::move(t));
  }
  pat.suffix = leading_double_star && plain_after;
  pat.text = std::move(text);
  return pat;
}

bool IsIn(const Token& t, char32_t c) {
  bool in = false;
  for (size_t k = 0; k + 1 < t.ranges.size(); k += 2) {
    if (c >= t.ranges[k] && c <= t.ranges[k + 1]) in = true;
  }
  return in != t.negated;
}

// Whether tokens[ti..] match s[si..]; with `partial`, also true when s runs
// out first (some extension of s could match).
bool MatchTokens(const std::vector<Token>& tokens, size_t ti,
                 std::string_view s, size_t si, bool partial) {
  while (ti < tokens.size()) {
    const Token& t = tokens[ti];
    if (partial && si == s.size()) return true;
    switch (t.kind) {
      case Token::kTailStar:
        return true;
      case Token::kDoubleStar:
        if (partial) return true;
        if (MatchTokens(tokens, ti + 1, s, si, partial)) return true;
        for (size_t k = si; k < s.size(); ++k) {
          if (s[k] == '/' && MatchTokens(tokens, ti + 1, s, k + 1, partial)) {
            return true;
          }
        }
        return false;
      case Token::kStar:
        for (size_t k = si;; ++k) {
          if (MatchTokens(tokens, ti + 1, s, k, partial)) return true;
          if (k >= s.size() || s[k] == '/') return false;
        }
      case Token::kQuestion:
      case Token::kClass: {
        if (si >= s.size()) return false;
        size_t len = 0;
        char32_t r = DecodeRune(s, si, len);
        if (t.kind == Token::kQuestion ? r == '/' : !IsIn(t, r)) return false;
        ++ti;
        si += len;
        continue;
      }
      case Token::kLiteral:
        if (si >= s.size() || s[si] != t.ch) return false;
        break;
    }
    ++ti;
    ++si;
  }
  return si == s.size();
}

}  // namespace

Result<PatternMatcher> PatternMatcher::Create(
    const std::vector<std::string>& patterns) {
  PatternMatcher m;
  for (const auto& raw : patterns) {
    std::string_view p = raw;
    while (!p.empty() && IsSpace(p.front())) p.remove_prefix(1);
    while (!p.empty() && IsSpace(p.back())) p.remove_suffix(1);
    if (p.empty()) continue;
    bool exception = false;
    if (p[0] == '!') {
      if (p.size() == 1) return BadPattern(raw, "lone \"!\"");
      exception = true;
      p.remove_prefix(1);
    }
    KILN_ASSIGN_OR_RETURN(Pattern pat, Compile(CleanPattern(p), exception));
    m.has_exceptions_ = m.has_exceptions_ || exception;
    m.patterns_.push_back(std::move(pat));
  }
  return m;
}

std::vector<std::string> PatternMatcher::Patterns() const {
  std::vector<std::string> out;
  for (const auto& p : patterns_)
    out.push_back((p.exception ? "!" : "") + p.text);
  return out;
}

bool PatternMatcher::MatchOne(const Pattern& p, std::string_view path) {
  if (p.suffix) {
    std::string_view suffix = std::string_view(p.text).substr(2);
    if (path.ends_with(suffix)) return true;
    return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
  }
  return MatchTokens(p.tokens, 0, path, 0, false);
}

bool PatternMatcher::Matches(std::string_view raw) const {
  std::string path = CleanPattern(raw);
  if (path == "." || patterns_.empty()) return false;
  bool matched = false;
  for (const auto& p : patterns_) {
    if (p.exception != matched) continue;
    bool match = MatchOne(p, path);
    for (size_t k = 0; !match && k < path.size(); ++k) {
      if (path[k] == '/')
        match = MatchOne(p, std::string_view(path).substr(0, k));
    }
    if (match) matched = !p.exception;
  }
  return matched;
}

bool PatternMatcher::MatchesExact(std::string_view raw) const {
  std::string path = CleanPattern(raw);
  if (path == ".") return false;
  bool matched = false;
  for (const auto& p : patterns_) {
    if (p.exception != matched) continue;
    if (MatchOne(p, path)) matched = !p.exception;
  }
  return matched;
}

bool PatternMatcher::MayMatchBelowImpl(std::string_view raw,
                                       bool exceptions) const {
  std::string dir = CleanPattern(raw);
  std::string prefix = dir == "." ? "" : dir + "/";
  for (const auto& p : patterns_) {
    if (p.exception != exceptions) continue;
    if (p.suffix || MatchTokens(p.tokens, 0, prefix, 0, true)) return true;
  }
  return false;
}

bool PatternMatcher::MayMatchBelow(std::string_view dir) const {
  return MayMatchBelowImpl(dir, false);
}

bool PatternMatcher::ExceptionMayMatchBelow(std::string_view dir) const {
  return MayMatchBelowImpl(dir, true);
}

WalkChoice ChooseForWalk(const PatternMatcher& include,
                         const PatternMatcher& exclude, const std::string& rel,
                         bool is_dir) {
  WalkChoice choice = WalkChoice::kTake;
  if (!exclude.empty() && exclude.Matches(rel)) {
    if (!is_dir || !exclude.ExceptionMayMatchBelow(rel))
      return WalkChoice::kSkip;
    choice = WalkChoice::kPartial;
  }
  if (!include.empty() && !include.Matches(rel)) {
    if (!is_dir || !include.MayMatchBelow(rel)) return WalkChoice::kSkip;
    choice = WalkChoice::kPartial;
  }
  return choice;
}

}  // namespace kiln::solver
