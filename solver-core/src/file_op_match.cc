// filepath.Match for the FileOp executor's wildcards.
#include <string>

#include "file_op_internal.h"

namespace kiln::solver::internal {
namespace {

Status BadPattern(std::string_view pattern) {
  return InvalidArgumentError("syntax error in pattern " +
                              std::string(pattern));
}

// One character of a class, handling '\' escapes; false when malformed.
bool ClassChar(std::string_view p, size_t* pi, char* out) {
  if (*pi >= p.size() || p[*pi] == '-' || p[*pi] == ']') return false;
  if (p[*pi] == '\\') {
    ++*pi;
    if (*pi >= p.size()) return false;
  }
  *out = p[(*pi)++];
  return true;
}

// Matches the class starting after '[' at *pi against `c`; advances *pi past
// ']'. -1 when malformed, else 1 for a match, 0 for none.
int MatchClass(std::string_view p, size_t* pi, char c) {
  bool negate = false;
  if (*pi < p.size() && p[*pi] == '^') {
    negate = true;
    ++*pi;
  }
  bool matched = false;
  int ranges = 0;
  while (true) {
    if (*pi < p.size() && p[*pi] == ']' && ranges > 0) {
      ++*pi;
      break;
    }
    char lo, hi;
    if (!ClassChar(p, pi, &lo)) return -1;
    hi = lo;
    if (*pi < p.size() && p[*pi] == '-') {
      ++*pi;
      if (!ClassChar(p, pi, &hi)) return -1;
    }
    if (lo <= c && c <= hi) matched = true;
    ++ranges;
  }
  return matched != negate ? 1 : 0;
}

// Checks the syntax of a whole pattern (Go reports ErrBadPattern lazily; we
// reject malformed patterns up front).
bool ValidPattern(std::string_view p) {
  for (size_t i = 0; i < p.size();) {
    if (p[i] == '\\') {
      if (i + 1 >= p.size()) return false;
      i += 2;
    } else if (p[i] == '[') {
      ++i;
      if (MatchClass(p, &i, 'a') < 0) return false;
    } else {
      ++i;
    }
  }
  return true;
}

bool MatchFrom(std::string_view p, std::string_view n) {
  size_t pi = 0, ni = 0;
  while (pi < p.size()) {
    const char pc = p[pi];
    if (pc == '*') {
      while (pi < p.size() && p[pi] == '*') ++pi;
      for (size_t k = ni;; ++k) {
        if (MatchFrom(p.substr(pi), n.substr(k))) return true;
        if (k >= n.size() || n[k] == '/') return false;
      }
    }
    if (ni >= n.size()) return false;
    if (pc == '?') {
      if (n[ni] == '/') return false;
    } else if (pc == '[') {
      ++pi;
      if (MatchClass(p, &pi, n[ni]) != 1) return false;
      ++ni;
      continue;
    } else if (pc == '\\') {
      ++pi;
      if (p[pi] != n[ni]) return false;
    } else if (pc != n[ni]) {
      return false;
    }
    ++pi;
    ++ni;
  }
  return ni == n.size();
}

}  // namespace

bool HasMeta(std::string_view pattern) {
  return pattern.find_first_of("*?[\\") != std::string_view::npos;
}

Result<bool> MatchPattern(std::string_view pattern, std::string_view name) {
  if (!ValidPattern(pattern)) return BadPattern(pattern);
  return MatchFrom(pattern, name);
}

}  // namespace kiln::solver::internal
