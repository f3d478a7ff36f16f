#include "shell_text.h"

#include <locale.h>
#include <wctype.h>

#include "go_text.h"

namespace kiln::dockerfile::internal {
namespace {

constexpr int32_t kByteOrderMark = 0xFEFF;

// The C.UTF-8 locale for classifying non-ASCII letters, created once and
// never freed (locale_t objects are safe to share between threads).
locale_t Utf8Locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
  return locale;
}

}  // namespace

Char DecodeChar(std::string_view s) {
  // Go's utf8.DecodeRuneInString rules (overlong forms, surrogates and values
  // past U+10FFFF are invalid); an invalid byte is kept as one character.
  size_t width = 0;
  const char32_t r = gotext::DecodeRune(s, &width);
  if (r == gotext::kRuneError && width == 1) {
    return Char{kInvalidBase + static_cast<unsigned char>(s[0]),
                s.substr(0, 1)};
  }
  return Char{static_cast<int32_t>(r), s.substr(0, width)};
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
  // kEof and kInvalidBase + byte are no Unicode code points, hence no space.
  return cp >= 0 && gotext::IsSpace(static_cast<char32_t>(cp));
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
