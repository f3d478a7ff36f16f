#include "go_text.h"

#include <cstdio>

namespace kiln::dockerfile::gotext {

char32_t DecodeRune(std::string_view s, size_t* width) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  *width = 1;
  if (b0 < 0x80) return b0;
  int n = 0;
  char32_t r = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, r = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, r = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, r = b0 & 0x07, min = 0x10000;
  } else {
    return kRuneError;
  }
  if (s.size() < static_cast<size_t>(n)) return kRuneError;
  for (int i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return kRuneError;
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
    return kRuneError;
  *width = n;
  return r;
}

bool IsSpace(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

bool IsSpaceByte(unsigned char b) { return IsSpace(b); }

bool IsAsciiBlank(char c) {
  return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ';
}

std::string_view TrimLeftSpace(std::string_view s) {
  while (!s.empty()) {
    size_t w = 0;
    if (!IsSpace(DecodeRune(s, &w))) break;
    s.remove_prefix(w);
  }
  return s;
}

namespace {

// The start of the last rune of `s` (non-empty), like utf8.DecodeLastRune.
size_t LastRuneStart(std::string_view s) {
  size_t start = s.size() - 1;
  size_t limit = s.size() >= 4 ? s.size() - 4 : 0;
  while (start > limit && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
    --start;
  size_t w = 0;
  DecodeRune(s.substr(start), &w);
  return start + w == s.size() ? start : s.size() - 1;
}

// unicode.IsPrint, approximated outside ASCII: control, format, private-use,
// separator and non-character code points are not printable.
bool IsPrint(char32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  if (r < 0xA0 || r == 0xAD) return false;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F))
    return false;
  if ((r >= 0x205F && r <= 0x206F) || r == 0x1680 || r == 0x3000) return false;
  if (r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB)) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;
  if ((r & 0xFFFE) == 0xFFFE || (r >= 0xFDD0 && r <= 0xFDEF)) return false;
  if (r >= 0xF0000) return false;
  return true;
}

void AppendHex(std::string* out, const char* prefix, unsigned value,
               int digits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*x", digits, value);
  out->append(prefix);
  out->append(buf);
}

}  // namespace

std::string_view TrimSpace(std::string_view s) {
  s = TrimLeftSpace(s);
  while (!s.empty()) {
    size_t start = LastRuneStart(s);
    size_t w = 0;
    if (!IsSpace(DecodeRune(s.substr(start), &w))) break;
    s.remove_suffix(s.size() - start);
  }
  return s;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  while (!s.empty()) {
    size_t w = 0;
    char32_t r = DecodeRune(s, &w);
    if (r == kRuneError && w == 1) {
      AppendHex(&out, "\\x", static_cast<unsigned char>(s[0]), 2);
    } else if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (IsPrint(r)) {
      out.append(s.substr(0, w));
    } else {
      switch (r) {
        case '\a':
          out.append("\\a");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\v':
          out.append("\\v");
          break;
        default:
          if (r < ' ' || r == 0x7F) {
            AppendHex(&out, "\\x", r, 2);
          } else if (r < 0x10000) {
            AppendHex(&out, "\\u", r, 4);
          } else {
            AppendHex(&out, "\\U", r, 8);
          }
      }
    }
    s.remove_prefix(w);
  }
  out.push_back('"');
  return out;
}

}  // namespace kiln::dockerfile::gotext
