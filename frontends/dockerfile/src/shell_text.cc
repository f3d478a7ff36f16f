#include "shell_text.h"

#include <locale.h>
#include <wctype.h>

namespace kiln::dockerfile::internal {
namespace {

constexpr int32_t kByteOrderMark = 0xFEFF;

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// The C.UTF-8 locale for classifying non-ASCII letters, created once and
// never freed (locale_t objects are safe to share between threads).
locale_t Utf8Locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
  return locale;
}

}  // namespace

Char DecodeChar(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  Char invalid{kInvalidBase + b0, s.substr(0, 1)};
  if (b0 < 0x80) return Char{b0, s.substr(0, 1)};
  size_t len = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return invalid;
  }
  if (s.size() < len) return invalid;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (!IsContinuation(b)) return invalid;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid, as in
  // Go's utf8.DecodeRuneInString.
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return invalid;
  }
  return Char{cp, s.substr(0, len)};
}

std::vector<Char> DecodeChars(std::string_view s) {
  std::vector<Char> out;
  out.reserve(s.size());
  while (!s.empty()) {
    Char c = DecodeChar(s);
    s.remove_prefix(c.bytes.size());
    out.push_back(c);
  }
  return out;
}

std::string JoinChars(const std::vector<Char>& chars) {
  std::string out;
  for (const Char& c : chars) out.append(c.bytes);
  return out;
}

CharReader::CharReader(std::string_view source) : source_(source) {
  if (!source_.empty() && DecodeChar(source_).cp == kByteOrderMark) {
    pos_ = DecodeChar(source_).bytes.size();
  }
}

int32_t CharReader::Peek() const {
  if (pos_ >= source_.size()) return kEof;
  return DecodeChar(source_.substr(pos_)).cp;
}

Char CharReader::Next() {
  if (pos_ >= source_.size()) return Char{};
  Char c = DecodeChar(source_.substr(pos_));
  pos_ += c.bytes.size();
  return c;
}

bool IsSpace(int32_t cp) {
  switch (cp) {
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
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool IsDigit(int32_t cp) { return cp >= '0' && cp <= '9'; }

bool IsLetter(int32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  if (cp >= kInvalidBase) return false;
  locale_t locale = Utf8Locale();
  if (locale == static_cast<locale_t>(nullptr)) {
    // Without the locale, treat every non-space character as a letter.
    return !IsSpace(cp);
  }
  return iswalpha_l(static_cast<wint_t>(cp), locale) != 0;
}

}  // namespace kiln::dockerfile::internal
