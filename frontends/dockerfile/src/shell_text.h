// Characters of a shell word: UTF-8 decoding and the character classes of
// Go's unicode package that BuildKit's shell lexer relies on.
//
// Go's text/scanner turns invalid UTF-8 into U+FFFD; we keep such bytes as
// they are, as one character each with a code point outside Unicode
// (kInvalidBase + byte), so that output bytes equal input bytes.
//
// Thread safety: all functions are reentrant.
#ifndef KILN_DOCKERFILE_SRC_SHELL_TEXT_H_
#define KILN_DOCKERFILE_SRC_SHELL_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::dockerfile::internal {

inline constexpr int32_t kEof = -1;
inline constexpr int32_t kInvalidBase = 0x110000;

// One decoded character and the bytes it came from (a view into the source).
struct Char {
  int32_t cp = kEof;
  std::string_view bytes;
};

// Decodes the character at the start of `s` (which must not be empty).
Char DecodeChar(std::string_view s);

// All characters of `s`, in order.
std::vector<Char> DecodeChars(std::string_view s);

// Concatenated bytes of `chars`.
std::string JoinChars(const std::vector<Char>& chars);

// A cursor over a word, like Go's text/scanner: Peek and Next return kEof at
// the end, and a leading byte order mark is skipped. `source` must outlive
// the reader.
class CharReader {
 public:
  explicit CharReader(std::string_view source);

  int32_t Peek() const;
  // Consumes and returns the next character ({kEof, ""} at the end).
  Char Next();

 private:
  std::string_view source_;
  size_t pos_ = 0;
};

// unicode.IsSpace: the Unicode White_Space property.
bool IsSpace(int32_t cp);
// unicode.IsDigit for ASCII; other scripts' digits count as letters.
bool IsDigit(int32_t cp);
// unicode.IsLetter: ASCII letters, and non-ASCII letters as the C.UTF-8
// locale classifies them.
bool IsLetter(int32_t cp);

}  // namespace kiln::dockerfile::internal

#endif  // KILN_DOCKERFILE_SRC_SHELL_TEXT_H_
