// Byte and rune helpers with Go's semantics, so that the parser splits and
// trims text exactly as BuildKit's Go parser does (private to the parser).
#ifndef KILN_DOCKERFILE_GO_TEXT_H_
#define KILN_DOCKERFILE_GO_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace kiln::dockerfile::gotext {

inline constexpr char32_t kRuneError = 0xFFFD;

// Decodes the rune at the start of `s` (non-empty) like utf8.DecodeRune:
// invalid or truncated sequences give (kRuneError, 1).
char32_t DecodeRune(std::string_view s, size_t* width);

// unicode.IsSpace.
bool IsSpace(char32_t r);
// unicode.IsSpace(rune(b)) for a single byte, as upstream's byte loops use it.
bool IsSpaceByte(unsigned char b);
// The blanks of upstream's `[\t\v\f\r ]` regular expressions.
bool IsAsciiBlank(char c);

// strings.TrimLeftFunc(s, unicode.IsSpace) and strings.TrimSpace.
std::string_view TrimLeftSpace(std::string_view s);
std::string_view TrimSpace(std::string_view s);

// strings.ToLower for ASCII letters (instruction keywords).
std::string AsciiLower(std::string_view s);

// strconv.Quote: a double-quoted Go string literal.
std::string Quote(std::string_view s);

}  // namespace kiln::dockerfile::gotext

#endif  // KILN_DOCKERFILE_GO_TEXT_H_
