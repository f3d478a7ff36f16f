#include "heredoc.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>

#include "go_text.h"
#include "word_splitter.h"

namespace kiln::dockerfile {
namespace {

constexpr char32_t kEof = static_cast<char32_t>(-1);

// Appends pieces (operator+ chains trip GCC 12's -Wrestrict false positive).
void Append(std::string* out, std::initializer_list<std::string_view> pieces) {
  for (std::string_view piece : pieces) out->append(piece);
}

// A subset of shell.shellWord: quotes, escapes and `$` forms, no expansion.
class Lexer {
 public:
  Lexer(std::string_view text, bool raw_quotes, bool raw_escapes)
      : text_(text), raw_quotes_(raw_quotes), raw_escapes_(raw_escapes) {}

  Status Process(std::string* result, std::vector<std::string>* words) {
    return ProcessStopOn(kEof, raw_escapes_, result, words);
  }

 private:
  char32_t Peek(size_t* width = nullptr) const {
    size_t w = 0;
    char32_t ch =
        pos_ < text_.size() ? gotext::DecodeRune(text_.substr(pos_), &w) : kEof;
    if (width != nullptr) *width = w;
    return ch;
  }
  // Consumes one rune; `bytes` receives its source bytes.
  char32_t Next(std::string_view* bytes = nullptr) {
    size_t w = 0;
    char32_t ch = Peek(&w);
    if (bytes != nullptr) *bytes = text_.substr(pos_, w);
    pos_ += w;
    return ch;
  }

  Status ProcessStopOn(char32_t stop, bool raw_escapes, std::string* result,
                       std::vector<std::string>* words_out) {
    const bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    Status status = StopOn(stop, result, words_out);
    raw_escapes_ = saved;
    return status;
  }

  Status StopOn(char32_t stop, std::string* result,
                std::vector<std::string>* words_out) {
    internal::WordSplitter words;
    while (Peek() != kEof) {
      char32_t ch = Peek();
      if (stop != kEof && ch == stop) {
        Next();
        if (words_out != nullptr) *words_out = words.Take();
        return Status::Ok();
      }
      if (ch == '$' || ch == '\'' || ch == '"') {
        std::string tmp;
        Status s = ch == '$'    ? Dollar(&tmp)
                   : ch == '\'' ? SingleQuote(&tmp)
                                : DoubleQuote(&tmp);
        KILN_RETURN_IF_ERROR(s);
        result->append(tmp);
        if (ch == '$') {
          words.AddString(tmp);
        } else {
          words.AddRaw(tmp);
        }
        continue;
      }
      std::string_view bytes;
      ch = Next(&bytes);
      if (ch == '\\') {
        if (raw_escapes_) {
          words.AddRaw(bytes);
          result->append(bytes);
        }
        ch = Next(&bytes);
        if (ch == kEof) break;
        words.AddRaw(bytes);
      } else {
        words.AddChar(static_cast<int32_t>(ch), bytes);
      }
      result->append(bytes);
    }
    if (stop != kEof) {
      return InvalidArgumentError(
          "unexpected end of statement while looking for matching " +
          std::string(1, static_cast<char>(stop)));
    }
    if (words_out != nullptr) *words_out = words.Take();
    return Status::Ok();
  }

  Status SingleQuote(std::string* out) {
    std::string_view bytes;
    Next(&bytes);
    if (raw_quotes_) out->append(bytes);
    while (true) {
      char32_t ch = Next(&bytes);
      if (ch == kEof) {
        return InvalidArgumentError(
            "unexpected end of statement while looking for matching "
            "single-quote");
      }
      if (ch == '\'') {
        if (raw_quotes_) out->append(bytes);
        return Status::Ok();
      }
      out->append(bytes);
    }
  }

  Status DoubleQuote(std::string* out) {
    std::string_view bytes;
    Next(&bytes);
    if (raw_quotes_) out->append(bytes);
    while (true) {
      char32_t peek = Peek();
      if (peek == kEof) {
        return InvalidArgumentError(
            "unexpected end of statement while looking for matching "
            "double-quote");
      }
      if (peek == '"') {
        Next(&bytes);
        if (raw_quotes_) out->append(bytes);
        return Status::Ok();
      }
      if (peek == '$') {
        KILN_RETURN_IF_ERROR(Dollar(out));
        continue;
      }
      char32_t ch = Next(&bytes);
      if (ch == '\\') {
        if (raw_escapes_) out->append(bytes);
        char32_t after = Peek();
        if (after == kEof) continue;
        if (after == '"' || after == '$' || after == '\\') Next(&bytes);
      }
      out->append(bytes);
    }
  }

  static bool IsSpecialParam(char32_t ch) {
    return ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' ||
           ch == '$' || ch == '!' || ch == '0';
  }
  static bool IsDigit(char32_t ch) { return ch >= '0' && ch <= '9'; }
  // unicode.IsLetter, approximated: ASCII letters and any non-space non-ASCII
  // rune.
  static bool IsLetter(char32_t ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= 0x80 && ch != kEof && ch != gotext::kRuneError &&
            !gotext::IsSpace(ch));
  }

  std::string Name() {
    std::string name;
    std::string_view bytes;
    while (Peek() != kEof) {
      char32_t ch = Peek();
      if (name.empty() && IsDigit(ch)) {
        while (IsDigit(Peek())) {
          Next(&bytes);
          name.append(bytes);
        }
        return name;
      }
      if (name.empty() && IsSpecialParam(ch)) {
        Next(&bytes);
        return std::string(bytes);
      }
      if (!IsLetter(ch) && !IsDigit(ch) && ch != '_') break;
      Next(&bytes);
      name.append(bytes);
    }
    return name;
  }

  // processDollar with every variable unset and SkipUnsetEnv: the text stays.
  Status Dollar(std::string* out) {
    Next();
    if (Peek() != '{') {
      out->push_back('$');
      out->append(Name());
      return Status::Ok();
    }
    Next();
    char32_t peek = Peek();
    if (peek == kEof) return InvalidArgumentError("syntax error: missing '}'");
    if (peek == '{' || peek == '}' || peek == ':') {
      return InvalidArgumentError("syntax error: bad substitution");
    }
    std::string name = Name();
    std::string_view bytes;
    char32_t ch = Next(&bytes);
    std::string chs(bytes);
    if (ch == '}') {
      Append(out, {"${", name, "}"});
      return Status::Ok();
    }
    if (ch == ':') {
      ch = Next(&bytes);
      chs.append(bytes);
    }
    if ((!chs.empty() && chs[0] == ':') || ch == '+' || ch == '-' ||
        ch == '?' || ch == '#' || ch == '%') {
      std::string word;
      Status s = ProcessStopOn('}', ch == '#' || ch == '%', &word, nullptr);
      if (!s.ok()) {
        return Peek() == kEof
                   ? InvalidArgumentError("syntax error: missing '}'")
                   : s;
      }
      Append(out, {"${", name, chs, word, "}"});
      return Status::Ok();
    }
    if (ch == '/') {
      if (Peek() == '/') Next();
      std::string pattern;
      std::string replacement;
      Status s = ProcessStopOn('/', true, &pattern, nullptr);
      if (!s.ok()) {
        return Peek() == kEof
                   ? InvalidArgumentError("syntax error: missing '/' in ${}")
                   : s;
      }
      s = ProcessStopOn('}', true, &replacement, nullptr);
      if (!s.ok()) {
        return Peek() == kEof
                   ? InvalidArgumentError("syntax error: missing '}'")
                   : s;
      }
      Append(out, {"${", name, "/", pattern, "/", replacement, "}"});
      return Status::Ok();
    }
    return InvalidArgumentError("unsupported modifier (" + chs +
                                ") in substitution");
  }

  std::string_view text_;
  size_t pos_ = 0;
  bool raw_quotes_;
  bool raw_escapes_;
};

size_t CountQuotes(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\'') +
                             std::count(s.begin(), s.end(), '"'));
}

}  // namespace

Result<std::vector<std::string>> ShellWords(std::string_view text,
                                            bool raw_quotes, bool raw_escapes) {
  Lexer lexer(text, raw_quotes, raw_escapes);
  std::string result;
  std::vector<std::string> words;
  KILN_RETURN_IF_ERROR(lexer.Process(&result, &words));
  return words;
}

Result<std::optional<Heredoc>> ParseHeredocWord(std::string_view word) {
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return std::optional<Heredoc>();
  i += 2;
  bool chomp = i < word.size() && word[i] == '-';
  if (chomp) ++i;
  std::string_view rest = word.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos)
    return std::optional<Heredoc>();

  KILN_ASSIGN_OR_RETURN(std::vector<std::string> words,
                        ShellWords(rest, false, false));
  if (words.size() != 1) return std::optional<Heredoc>();
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> raw,
                        ShellWords(rest, true, false));
  if (raw.size() != words.size()) {
    return InvalidArgumentError(
        "internal lexing of heredoc produced inconsistent results: " +
        std::string(rest));
  }
  Heredoc heredoc;
  heredoc.name = words[0];
  heredoc.expand = CountQuotes(words[0]) == CountQuotes(raw[0]);
  heredoc.chomp = chomp;
  unsigned long long fd = 0;
  bool overflow = false;
  for (char c : digits) {
    if (fd > (0xFFFFFFFFull - 9) / 10) overflow = true;
    fd = fd * 10 + static_cast<unsigned>(c - '0');
  }
  heredoc.file_descriptor = overflow ? 0 : static_cast<unsigned>(fd);
  return std::optional<Heredoc>(std::move(heredoc));
}

Result<std::vector<Heredoc>> HeredocsFromLine(std::string_view line) {
  // Upstream ignores a lexing error here: no words, no heredocs.
  Result<std::vector<std::string>> words = ShellWords(line, true, true);
  std::vector<Heredoc> docs;
  if (!words.ok()) return docs;
  for (const std::string& word : *words) {
    KILN_ASSIGN_OR_RETURN(std::optional<Heredoc> doc, ParseHeredocWord(word));
    if (doc.has_value()) docs.push_back(std::move(*doc));
  }
  return docs;
}

}  // namespace kiln::dockerfile
