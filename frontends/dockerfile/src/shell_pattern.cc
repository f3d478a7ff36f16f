#include "shell_pattern.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "shell_text.h"

namespace kiln::dockerfile::internal {
namespace {

constexpr int32_t kByteOrderMark = 0xFEFF;

// One position of a fixed-length run: a literal character or `?`.
struct Token {
  bool any = false;
  int32_t cp = 0;
};

// A pattern as fixed runs separated by stars: fixed[0], then for each k >= 1
// a star followed by fixed[k]. Consecutive stars are merged (`**` and `*`
// choose the same matches).
struct Compiled {
  std::vector<std::vector<Token>> fixed{1};
};

Status PatternError(std::string_view pattern, std::string_view why) {
  return InvalidArgumentError("invalid pattern (" + std::string(pattern) +
                              ") in substitution: " + std::string(why));
}

// Mirrors upstream's convertShellPatternToRegex, including its scanner
// skipping a leading byte order mark.
Result<Compiled> Compile(const std::vector<Char>& pattern,
                         std::string_view shown) {
  Compiled out;
  size_t i = 0;
  if (!pattern.empty() && pattern[0].cp == kByteOrderMark) i = 1;
  for (; i < pattern.size(); ++i) {
    const int32_t cp = pattern[i].cp;
    if (cp == '*') {
      if (out.fixed.size() == 1 || !out.fixed.back().empty()) {
        out.fixed.emplace_back();
      }
      continue;
    }
    if (cp == '?') {
      out.fixed.back().push_back(Token{true, 0});
      continue;
    }
    int32_t literal = cp;
    if (cp == '\\') {
      const int32_t next = i + 1 < pattern.size() ? pattern[i + 1].cp : kEof;
      // `\}` and `\/` only escape the ${} syntax: the next character is
      // then read as an ordinary one.
      if (next == '}' || next == '/') continue;
      if (next == kEof) return PatternError(shown, "invalid escape at end");
      if (next != '*' && next != '?' && next != '\\') {
        return PatternError(shown, "invalid escape '\\" +
                                       std::string(pattern[i + 1].bytes) + "'");
      }
      literal = next;
      ++i;
    }
    out.fixed.back().push_back(Token{false, literal});
  }
  return out;
}

// Leftmost-first matching of a Compiled pattern against one text. Memoizes
// (star index, position) pairs known to fail, so a search costs at most
// O(stars * n^2) and never recurses.
class Matcher {
 public:
  Matcher(const Compiled& pattern, const std::vector<Char>& text, bool greedy)
      : pattern_(pattern),
        text_(text),
        greedy_(greedy),
        n_(static_cast<int>(text.size())),
        line_end_(text.size() + 1),
        failed_(pattern.fixed.size()) {
    int end = n_;
    for (int p = n_; p >= 0; --p) {
      if (p < n_ && text_[p].cp == '\n') end = p;
      line_end_[p] = end;
    }
  }

  // The end of the preferred match starting exactly at `start`, or -1.
  int MatchAt(int start) {
    const auto& fixed = pattern_.fixed;
    if (!FixedAt(fixed[0], start)) return -1;
    const int p0 = start + static_cast<int>(fixed[0].size());
    const int stars = static_cast<int>(fixed.size()) - 1;
    if (stars == 0) return p0;
    struct Frame {
      int k;  // the star being tried
      int p;  // where it starts
      int q;  // the next candidate end of the star
    };
    std::vector<Frame> stack;
    auto push = [&](int k, int p) {
      if (Failed(k, p)) return;
      stack.push_back(Frame{k, p, greedy_ ? line_end_[p] : p});
    };
    push(1, p0);
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (greedy_ ? f.q < f.p : f.q > line_end_[f.p]) {
        MarkFailed(f.k, f.p);
        stack.pop_back();
        continue;
      }
      const int q = f.q;
      const int k = f.k;
      f.q += greedy_ ? -1 : 1;
      if (!FixedAt(fixed[k], q)) continue;
      const int e = q + static_cast<int>(fixed[k].size());
      if (k == stars) return e;
      push(k + 1, e);  // invalidates `f`
    }
    return -1;
  }

  // The leftmost match starting at or after `from`: {start, end} or {-1,-1}.
  std::pair<int, int> Find(int from) {
    for (int s = from; s <= n_; ++s) {
      const int e = MatchAt(s);
      if (e >= 0) return {s, e};
    }
    return {-1, -1};
  }

 private:
  bool FixedAt(const std::vector<Token>& fixed, int q) const {
    if (q + static_cast<int>(fixed.size()) > n_) return false;
    for (size_t i = 0; i < fixed.size(); ++i) {
      const int32_t c = text_[q + i].cp;
      if (fixed[i].any ? c == '\n' : c != fixed[i].cp) return false;
    }
    return true;
  }
  bool Failed(int k, int p) const {
    return !failed_[k].empty() && failed_[k][p];
  }
  void MarkFailed(int k, int p) {
    if (failed_[k].empty()) failed_[k].assign(n_ + 1, false);
    failed_[k][p] = true;
  }

  const Compiled& pattern_;
  const std::vector<Char>& text_;
  const bool greedy_;
  const int n_;
  std::vector<int> line_end_;  // first newline at or after p, or n
  std::vector<std::vector<bool>> failed_;
};

std::string JoinRange(const std::vector<Char>& chars, int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out.append(chars[i].bytes);
  return out;
}

// Upstream's reversePattern: reverses characters but keeps each `\x` pair
// in order, so `a\*c` becomes `c\*a`.
std::vector<Char> ReversePattern(const std::vector<Char>& pattern) {
  std::vector<Char> out(pattern.size());
  const size_t n = pattern.size();
  for (size_t i = 0; i < n;) {
    const size_t out_index = n - 1 - i;
    if (pattern[i].cp == '\\' && i + 1 < n) {
      out[out_index - 1] = pattern[i];
      out[out_index] = pattern[i + 1];
      i += 2;
    } else {
      out[out_index] = pattern[i];
      ++i;
    }
  }
  return out;
}

// Go's Regexp.Expand for a regex without groups: `$$` is `$`, `$0` and
// `${0}` the match, other well-formed `$name` empty, malformed `$` literal.
std::string ExpandTemplate(std::string_view tmpl, std::string_view match) {
  std::string out;
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) {
      out.append(tmpl);
      break;
    }
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    const bool brace = !tmpl.empty() && tmpl[0] == '{';
    std::string_view str = brace ? tmpl.substr(1) : tmpl;
    size_t len = 0;
    while (len < str.size()) {
      const Char c = DecodeChar(str.substr(len));
      if (!IsLetter(c.cp) && !IsDigit(c.cp) && c.cp != '_') break;
      len += c.bytes.size();
    }
    if (len == 0 || (brace && (len >= str.size() || str[len] != '}'))) {
      out.push_back('$');  // malformed: the `$` is literal
      continue;
    }
    const std::string_view name = str.substr(0, len);
    int64_t num = 0;
    for (char ch : name) {
      if (ch < '0' || ch > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (ch - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;
    if (num == 0) out.append(match);
    tmpl = str.substr(len + (brace ? 1 : 0));
  }
  return out;
}

// The end of the match of `pattern` anchored at the start of `text`, or -1.
Result<int> PrefixEnd(const std::vector<Char>& pattern,
                      const std::vector<Char>& text, bool longest,
                      std::string_view shown) {
  KILN_ASSIGN_OR_RETURN(Compiled compiled, Compile(pattern, shown));
  Matcher matcher(compiled, text, longest);
  return matcher.MatchAt(0);
}

}  // namespace

Result<std::string> TrimPrefix(std::string_view pattern, std::string_view value,
                               bool longest) {
  const std::vector<Char> text = DecodeChars(value);
  KILN_ASSIGN_OR_RETURN(
      int end, PrefixEnd(DecodeChars(pattern), text, longest, pattern));
  if (end < 0) return std::string(value);
  return JoinRange(text, end, static_cast<int>(text.size()));
}

Result<std::string> TrimSuffix(std::string_view pattern, std::string_view value,
                               bool longest) {
  // A leftmost regex match cannot find the shortest rightmost one, so, as
  // upstream, both the pattern and the text are reversed.
  std::vector<Char> text = DecodeChars(value);
  std::reverse(text.begin(), text.end());
  KILN_ASSIGN_OR_RETURN(int end, PrefixEnd(ReversePattern(DecodeChars(pattern)),
                                           text, longest, pattern));
  if (end < 0) return std::string(value);
  std::vector<Char> kept(text.begin() + end, text.end());
  std::reverse(kept.begin(), kept.end());
  return JoinChars(kept);
}

Result<std::string> Replace(std::string_view pattern, std::string_view value,
                            std::string_view replacement, bool all) {
  KILN_ASSIGN_OR_RETURN(Compiled compiled,
                        Compile(DecodeChars(pattern), pattern));
  const std::vector<Char> text = DecodeChars(value);
  const int n = static_cast<int>(text.size());
  Matcher matcher(compiled, text, /*greedy=*/true);
  if (!all) {
    const auto [start, end] = matcher.Find(0);
    if (start < 0) return std::string(value);
    return JoinRange(text, 0, start) + std::string(replacement) +
           JoinRange(text, end, n);
  }
  // Go's Regexp.ReplaceAllString loop, in characters instead of bytes.
  std::string out;
  int last_end = 0;
  int search = 0;
  while (search <= n) {
    const auto [start, end] = matcher.Find(search);
    if (start < 0) break;
    out += JoinRange(text, last_end, start);
    // No replacement for an empty match right after the previous match.
    if (end > last_end || start == 0) {
      out += ExpandTemplate(replacement, JoinRange(text, start, end));
    }
    last_end = end;
    search = search + 1 > end ? search + 1 : end;
  }
  out += JoinRange(text, last_end, n);
  return out;
}

}  // namespace kiln::dockerfile::internal
