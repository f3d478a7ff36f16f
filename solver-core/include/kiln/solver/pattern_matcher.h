// Path patterns with the semantics of Docker's moby/patternmatcher, as used
// by .dockerignore, local source include/exclude patterns and COPY
// --exclude.
//
// Syntax (slash-separated, matched against slash-separated relative paths):
//   *        any run of characters except '/'
//   ?        one character (UTF-8 code point) except '/'
//   [a-z] [^a]  a character class ('^' negates), "\x" escapes inside
//   **       any number of directories: "**/x", "a/**/b", "a/**"; a leading
//            "**" followed by plain text is a suffix match ("**.go")
//   \x       the character x
//   !p       an exception: a path matched by an earlier pattern and by p is
//            not matched (later patterns override earlier ones)
// Patterns are trimmed of surrounding white space; empty ones are ignored.
// Each is cleaned lexically ("./a//b/../c" → "a/c") and a leading '/' is
// dropped, as .dockerignore does.
//
// Matches() is MatchesOrParentMatches: a pattern that matches a directory
// matches everything below it, so {"a"} matches "a/b/c", and {"a", "!a/b"}
// matches "a/x" but not "a/b" or "a/b/c".
//
// Thread safety: immutable after Create(); const methods may be called
// concurrently.
#ifndef KILN_SOLVER_PATTERN_MATCHER_H_
#define KILN_SOLVER_PATTERN_MATCHER_H_

#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver {

class PatternMatcher {
 public:
  // An empty matcher: matches nothing.
  PatternMatcher() = default;

  // Parses `patterns`. InvalidArgument ("invalid pattern \"<p>\": <why>")
  // for a lone "!", a trailing backslash or a bad character class (unclosed,
  // empty, or an unescaped '-' or ']' where a range bound belongs).
  static Result<PatternMatcher> Create(
      const std::vector<std::string>& patterns);

  // True when no (non-empty) pattern was given.
  bool empty() const { return patterns_.empty(); }
  // True when some pattern is a "!" exception.
  bool HasExceptions() const { return has_exceptions_; }
  // The cleaned patterns, in order, exceptions with their leading '!'.
  std::vector<std::string> Patterns() const;

  // Whether `path` (relative, slash-separated; cleaned first) or one of its
  // parent directories matches the last pattern that applies to it
  // (MatchesOrParentMatches). "" and "." never match.
  bool Matches(std::string_view path) const;

  // Like Matches() but without parent matching (MatchesExact).
  bool MatchesExact(std::string_view path) const;

  // For walks that prune: whether some path strictly below directory `dir`
  // could be matched by a non-exception pattern. Conservative: may say true
  // when nothing below matches, never false when something could. For
  // include patterns: a directory that neither Matches() nor MayMatchBelow()
  // can be skipped.
  bool MayMatchBelow(std::string_view dir) const;

  // Whether some "!" exception could re-include a path strictly below
  // directory `dir` (so an excluded directory must still be walked).
  // Conservative in the same way. False when there are no exceptions.
  bool ExceptionMayMatchBelow(std::string_view dir) const;

  // A compiled pattern (public only for the implementation's helpers).
  struct Token {
    enum Kind { kLiteral, kStar, kQuestion, kClass, kDoubleStar, kTailStar };
    Kind kind = kLiteral;
    char ch = 0;            // kLiteral
    bool negated = false;   // kClass
    std::u32string ranges;  // kClass: code point pairs lo,hi
  };
  struct Pattern {
    std::string text;  // cleaned, without '!'
    bool exception = false;
    bool suffix = false;  // leading "**" then plain text: suffix match
    std::vector<Token> tokens;
  };

 private:
  static bool MatchOne(const Pattern& p, std::string_view path);
  bool MayMatchBelowImpl(std::string_view dir, bool exceptions) const;

  std::vector<Pattern> patterns_;
  bool has_exceptions_ = false;
};

// What a tree walk does with an entry under include and exclude patterns
// (either may be empty): leave it out, take it whole, or — for a directory
// the patterns select only partly — descend and keep it only if something
// below it is kept.
enum class WalkChoice { kSkip, kTake, kPartial };
WalkChoice ChooseForWalk(const PatternMatcher& include,
                         const PatternMatcher& exclude, const std::string& rel,
                         bool is_dir);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_PATTERN_MATCHER_H_
