// A port of the algorithm of BuildKit's frontend/dockerfile/shell/lex.go
// (shellWord: processStopOn, processSingleQuote, processDoubleQuote,
// processDollar, processName). Deliberate differences, all on inputs
// upstream also rejects or mangles:
//   - `${name` at the end reports "missing '}'" (upstream: "unsupported
//     modifier (\uFFFD)");
//   - nesting deeper than kMaxDepth is an error (Go grows its stack; we
//     must not overflow ours);
//   - invalid UTF-8 bytes are kept (upstream writes U+FFFD).
#include "shell_word.h"

#include <utility>

#include "shell_pattern.h"
#include "shell_text.h"
#include "word_splitter.h"

namespace kiln::dockerfile::internal {
namespace {

constexpr int kMaxDepth = 256;

bool IsSpecialParam(int32_t cp) {
  switch (cp) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

class ShellWord {
 public:
  ShellWord(std::string_view word, const EnvLookup& env,
            const LexOptions& options)
      : reader_(word),
        env_(env),
        options_(options),
        escape_(static_cast<unsigned char>(options.escape)),
        raw_escapes_(options.raw_escapes) {}

  Status Process(ExpandResult* out) {
    return ProcessStopOn(kEof, raw_escapes_, &out->result, &out->words);
  }

  std::set<std::string> TakeMatched() { return std::move(matched_); }
  std::set<std::string> TakeUnmatched() { return std::move(unmatched_); }

 private:
  // Reads up to `stop` (consumed) or the end of the word (if stop is kEof).
  Status ProcessStopOn(int32_t stop, bool raw_escapes, std::string* result,
                       std::vector<std::string>* words) {
    const bool saved_raw_escapes = raw_escapes_;
    raw_escapes_ = raw_escapes;
    Status status = StopOnLoop(stop, result, words);
    raw_escapes_ = saved_raw_escapes;
    return status;
  }

  Status StopOnLoop(int32_t stop, std::string* result,
                    std::vector<std::string>* words) {
    WordSplitter splitter;
    while (reader_.Peek() != kEof) {
      const int32_t ch = reader_.Peek();
      if (stop != kEof && ch == stop) {
        reader_.Next();
        if (words != nullptr) *words = splitter.Take();
        return Status::Ok();
      }
      const bool quote =
          !options_.skip_process_quotes && (ch == '\'' || ch == '"');
      if (ch == '$' || quote) {
        Result<std::string> part = ch == '$'    ? ProcessDollar()
                                   : ch == '\'' ? ProcessSingleQuote()
                                                : ProcessDoubleQuote();
        if (!part.ok()) return part.status();
        result->append(*part);
        if (ch == '$') {
          splitter.AddString(*part);
        } else {
          splitter.AddRaw(*part);
        }
        continue;
      }
      Char c = reader_.Next();
      if (c.cp == escape_) {
        if (raw_escapes_) {
          splitter.AddRaw(c.bytes);
          result->append(c.bytes);
        }
        // The escape character escapes the next one; at the end it is
        // dropped.
        c = reader_.Next();
        if (c.cp == kEof) break;
        splitter.AddRaw(c.bytes);
      } else {
        splitter.AddChar(c);
      }
      result->append(c.bytes);
    }
    if (stop != kEof) {
      return InvalidArgumentError(
          "unexpected end of statement while looking for matching " +
          std::string(1, static_cast<char>(stop)));
    }
    if (words != nullptr) *words = splitter.Take();
    return Status::Ok();
  }

  Result<std::string> ProcessSingleQuote() {
    std::string result;
    Char c = reader_.Next();
    if (options_.raw_quotes) result.append(c.bytes);
    for (;;) {
      c = reader_.Next();
      if (c.cp == kEof) {
        return InvalidArgumentError(
            "unexpected end of statement while looking for matching "
            "single-quote");
      }
      if (c.cp == '\'') {
        if (options_.raw_quotes) result.append(c.bytes);
        return result;
      }
      result.append(c.bytes);
    }
  }

  Result<std::string> ProcessDoubleQuote() {
    std::string result;
    Char c = reader_.Next();
    if (options_.raw_quotes) result.append(c.bytes);
    for (;;) {
      const int32_t peek = reader_.Peek();
      if (peek == kEof) {
        return InvalidArgumentError(
            "unexpected end of statement while looking for matching "
            "double-quote");
      }
      if (peek == '"') {
        c = reader_.Next();
        if (options_.raw_quotes) result.append(c.bytes);
        return result;
      }
      if (peek == '$') {
        KILN_ASSIGN_OR_RETURN(std::string value, ProcessDollar());
        result.append(value);
        continue;
      }
      c = reader_.Next();
      if (c.cp == escape_) {
        if (raw_escapes_) result.append(c.bytes);
        const int32_t next = reader_.Peek();
        if (next == kEof) continue;  // a trailing escape is dropped
        // Only `"`, `$` and the escape itself can be escaped here.
        if (next == '"' || next == '$' || next == escape_) c = reader_.Next();
      }
      result.append(c.bytes);
    }
  }

  // Reads the `word` of `${name<op>word}` up to the closing brace.
  Result<std::string> ProcessNested(int32_t stop, bool raw_escapes,
                                    std::string_view missing) {
    if (depth_ >= kMaxDepth) {
      return InvalidArgumentError("substitutions nested too deeply");
    }
    ++depth_;
    std::string word;
    Status status = ProcessStopOn(stop, raw_escapes, &word, nullptr);
    --depth_;
    if (!status.ok()) {
      if (reader_.Peek() == kEof) {
        return InvalidArgumentError(std::string(missing));
      }
      return status;
    }
    return word;
  }

  Result<std::string> ProcessDollar() {
    reader_.Next();  // the `$`
    if (reader_.Peek() != '{') {
      const std::string name = ProcessName();
      if (name.empty()) return std::string("$");
      std::optional<std::string> value = GetEnv(name);
      if (!value && options_.skip_unset_env) return "$" + name;
      return value.value_or("");
    }
    reader_.Next();  // the `{`
    switch (reader_.Peek()) {
      case kEof:
        return InvalidArgumentError("syntax error: missing '}'");
      case '{':
      case '}':
      case ':':
        return InvalidArgumentError("syntax error: bad substitution");
      default:
        break;
    }
    const std::string name = ProcessName();
    Char c = reader_.Next();
    int32_t op = c.cp;
    std::string ops(c.bytes);
    bool null_is_unset = false;
    switch (op) {
      case kEof:
        return InvalidArgumentError("syntax error: missing '}'");
      case '}': {
        std::optional<std::string> value = GetEnv(name);
        if (!value && options_.skip_unset_env) return "${" + name + "}";
        return value.value_or("");
      }
      case '/':
        return ProcessReplace(name);
      case ':':
        null_is_unset = true;
        c = reader_.Next();
        op = c.cp;
        ops.append(c.bytes);
        if (op == '#' || op == '%') return UnsupportedModifier(ops);
        return ProcessModifier(name, op, ops, null_is_unset);
      case '+':
      case '-':
      case '?':
      case '#':
      case '%':
        return ProcessModifier(name, op, ops, null_is_unset);
      default:
        return UnsupportedModifier(ops);
    }
  }

  static Status UnsupportedModifier(std::string_view ops) {
    return InvalidArgumentError("unsupported modifier (" + std::string(ops) +
                                ") in substitution");
  }

  Result<std::string> ProcessModifier(const std::string& name, int32_t op,
                                      const std::string& ops,
                                      bool null_is_unset) {
    const bool pattern = op == '#' || op == '%';
    KILN_ASSIGN_OR_RETURN(
        std::string word,
        ProcessNested('}', pattern, "syntax error: missing '}'"));
    std::optional<std::string> value = GetEnv(name);
    if (!value && options_.skip_unset_env) {
      return "${" + name + ops + word + "}";
    }
    const bool set = value.has_value();
    const bool empty_or_unset = !set || (null_is_unset && value->empty());
    switch (op) {
      case '-':
        return empty_or_unset ? word : *value;
      case '+':
        return empty_or_unset ? std::string() : word;
      case '?':
        if (!set || empty_or_unset) {
          const char* fallback =
              set ? "is not allowed to be empty" : "is not allowed to be unset";
          return InvalidArgumentError(name + ": " +
                                      (word.empty() ? fallback : word));
        }
        return *value;
      case '#':
      case '%': {
        // `#`/`%` strip the shortest match, `##`/`%%` the longest.
        const bool longest = !word.empty() && word[0] == op;
        if (longest) word.erase(0, 1);
        const std::string current = value.value_or("");
        return op == '%' ? TrimSuffix(word, current, longest)
                         : TrimPrefix(word, current, longest);
      }
      default:
        return UnsupportedModifier(ops);
    }
  }

  Result<std::string> ProcessReplace(const std::string& name) {
    const bool all = reader_.Peek() == '/';
    if (all) reader_.Next();
    KILN_ASSIGN_OR_RETURN(
        std::string pattern,
        ProcessNested('/', true, "syntax error: missing '/' in ${}"));
    KILN_ASSIGN_OR_RETURN(
        std::string replacement,
        ProcessNested('}', true, "syntax error: missing '}'"));
    std::optional<std::string> value = GetEnv(name);
    if (!value && options_.skip_unset_env) {
      return "${" + name + "/" + pattern + "/" + replacement + "}";
    }
    return Replace(pattern, value.value_or(""), replacement, all);
  }

  // A name: a run of digits, one special parameter, or letters, digits and
  // underscores; empty if none of those follows.
  std::string ProcessName() {
    std::string name;
    while (reader_.Peek() != kEof) {
      const int32_t ch = reader_.Peek();
      if (name.empty() && IsDigit(ch)) {
        while (IsDigit(reader_.Peek())) {
          name.append(reader_.Next().bytes);
        }
        return name;
      }
      if (name.empty() && IsSpecialParam(ch)) {
        return std::string(reader_.Next().bytes);
      }
      if (!IsLetter(ch) && !IsDigit(ch) && ch != '_') {
        break;
      }
      name.append(reader_.Next().bytes);
    }
    return name;
  }

  std::optional<std::string> GetEnv(const std::string& name) {
    std::optional<std::string> value = env_ ? env_(name) : std::nullopt;
    (value ? matched_ : unmatched_).insert(name);
    return value;
  }

  CharReader reader_;
  const EnvLookup& env_;
  const LexOptions& options_;
  const int32_t escape_;
  bool raw_escapes_;
  int depth_ = 0;
  std::set<std::string> matched_;
  std::set<std::string> unmatched_;
};

}  // namespace

Status ExpandWord(std::string_view word, const EnvLookup& env,
                  const LexOptions& options, ExpandResult* out) {
  ShellWord shell_word(word, env, options);
  KILN_RETURN_IF_ERROR(shell_word.Process(out));
  out->matched = shell_word.TakeMatched();
  out->unmatched = shell_word.TakeUnmatched();
  return Status::Ok();
}

}  // namespace kiln::dockerfile::internal
