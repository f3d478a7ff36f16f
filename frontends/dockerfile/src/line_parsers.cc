#include "line_parsers.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "go_text.h"

namespace kiln::dockerfile {
namespace {

constexpr std::string_view kNotStringArray =
    "when using JSON array syntax, arrays must be comprised of strings only";

// The arguments of an instruction and whether they came from JSON.
struct Args {
  std::vector<Node> next;
  bool json = false;
};

Node Leaf(std::string value) {
  Node n;
  n.value = std::move(value);
  return n;
}

// regexp `[\t\v\f\r ]+` Split(s, limit) for a trimmed, non-empty `s`
// (limit 0 = no limit).
std::vector<std::string> SplitBlanks(std::string_view s, size_t limit) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    if (limit != 0 && parts.size() + 1 == limit) {
      parts.emplace_back(s.substr(pos));
      break;
    }
    size_t end = pos;
    while (end < s.size() && !gotext::IsAsciiBlank(s[end])) ++end;
    parts.emplace_back(s.substr(pos, end - pos));
    if (end == s.size()) break;
    pos = end;
    while (pos < s.size() && gotext::IsAsciiBlank(s[pos])) ++pos;
  }
  return parts;
}

// parseWords: words split on spaces, quotes and escapes kept as written.
std::vector<std::string> ParseWords(std::string_view rest, char escape) {
  enum Phase { kInSpaces, kInWord, kInQuote };
  std::vector<std::string> words;
  Phase phase = kInSpaces;
  char quote = 0;
  bool blank_ok = false;
  std::string word;
  size_t width = 0;
  for (size_t pos = 0; pos <= rest.size(); pos += width) {
    char32_t ch = 0;
    if (pos != rest.size()) ch = gotext::DecodeRune(rest.substr(pos), &width);
    if (phase == kInSpaces) {
      if (pos == rest.size()) break;
      if (gotext::IsSpace(ch)) continue;
      phase = kInWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == kInWord) {
      if (gotext::IsSpace(ch)) {
        phase = kInSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = static_cast<char>(ch);
        blank_ok = true;
        phase = kInQuote;
      }
      if (ch == static_cast<unsigned char>(escape)) {
        if (pos + width == rest.size())
          continue;  // a trailing escape is dropped
        word.append(rest.substr(pos, width));
        pos += width;
        gotext::DecodeRune(rest.substr(pos), &width);
      }
      word.append(rest.substr(pos, width));
      continue;
    }
    // kInQuote
    if (ch == static_cast<unsigned char>(quote)) phase = kInWord;
    if (ch == static_cast<unsigned char>(escape) && quote != '\'') {
      if (pos + width == rest.size()) {
        phase = kInWord;
        continue;
      }
      word.append(rest.substr(pos, width));
      pos += width;
      gotext::DecodeRune(rest.substr(pos), &width);
    }
    word.append(rest.substr(pos, width));
  }
  return words;
}

void AppendKeyValue(Args* args, std::string key, std::string value,
                    std::string sep) {
  args->next.push_back(Leaf(std::move(key)));
  args->next.push_back(Leaf(std::move(value)));
  args->next.push_back(Leaf(std::move(sep)));
}

// parseNameVal (ENV, LABEL): `KEY name value` (legacy) or `KEY n=v ...`.
Result<Args> ParseNameVal(std::string_view rest, std::string_view key,
                          char escape) {
  Args args;
  std::vector<std::string> words = ParseWords(rest, escape);
  if (words.empty()) return args;
  if (words[0].find('=') == std::string::npos) {
    std::vector<std::string> parts = SplitBlanks(rest, 2);
    if (parts.size() < 2) {
      return InvalidArgumentError(std::string(key) +
                                  " must have two arguments");
    }
    AppendKeyValue(&args, std::move(parts[0]), std::move(parts[1]), "");
    return args;
  }
  for (std::string& word : words) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError("syntax error - can't find = in " +
                                  gotext::Quote(word) +
                                  ", must be of the form: name=value");
    }
    AppendKeyValue(&args, word.substr(0, eq), word.substr(eq + 1), "=");
  }
  return args;
}

// parseNameOrNameVal (ARG): the words as they are.
Args ParseNameOrNameVal(std::string_view rest, char escape) {
  Args args;
  for (std::string& word : ParseWords(rest, escape))
    args.next.push_back(Leaf(std::move(word)));
  return args;
}

// parseStringsWhitespaceDelimited (FROM, EXPOSE, shell-form ADD/COPY/VOLUME).
Args ParseStringsWhitespaceDelimited(std::string_view rest) {
  Args args;
  if (rest.empty()) return args;
  for (std::string& part : SplitBlanks(rest, 0))
    args.next.push_back(Leaf(std::move(part)));
  return args;
}

// parseString (MAINTAINER, STOPSIGNAL, USER, WORKDIR).
Args ParseString(std::string_view rest) {
  Args args;
  if (!rest.empty()) args.next.push_back(Leaf(std::string(rest)));
  return args;
}

enum class JsonOutcome { kOk, kNotJson, kNotStrings };

// parseJSON: a JSON array of strings (Go's json.Unmarshal acceptance).
JsonOutcome ParseJson(std::string_view rest, Args* args) {
  rest = gotext::TrimLeftSpace(rest);
  if (rest.empty() || rest[0] != '[') return JsonOutcome::kNotJson;
  nlohmann::json doc = nlohmann::json::parse(rest.begin(), rest.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) return JsonOutcome::kNotJson;
  for (const nlohmann::json& item : doc) {
    if (!item.is_string()) return JsonOutcome::kNotStrings;
  }
  args->next.clear();
  for (const nlohmann::json& item : doc)
    args->next.push_back(Leaf(item.get<std::string>()));
  args->json = true;
  return JsonOutcome::kOk;
}

// `rest` as a JSON array of strings into `args`: true if it is one, false if
// it is no JSON array, an error if it is an array of other values.
Result<bool> ParseJsonArgs(std::string_view rest, Args* args) {
  switch (ParseJson(rest, args)) {
    case JsonOutcome::kOk:
      return true;
    case JsonOutcome::kNotStrings:
      return InvalidArgumentError(std::string(kNotStringArray));
    case JsonOutcome::kNotJson:
      break;
  }
  return false;
}

// parseMaybeJSON (RUN, CMD, ENTRYPOINT, SHELL): JSON, else one string.
Result<Args> ParseMaybeJson(std::string_view rest) {
  Args args;
  if (rest.empty()) return args;
  KILN_ASSIGN_OR_RETURN(bool json, ParseJsonArgs(rest, &args));
  if (json) return args;
  args.next.push_back(Leaf(std::string(rest)));
  return args;
}

// parseMaybeJSONToList (ADD, COPY, VOLUME): JSON, else blank-split words.
Result<Args> ParseMaybeJsonToList(std::string_view rest) {
  Args args;
  KILN_ASSIGN_OR_RETURN(bool json, ParseJsonArgs(rest, &args));
  if (json) return args;
  return ParseStringsWhitespaceDelimited(rest);
}

// parseHealthConfig: the type word (CMD, NONE, ...), then parseMaybeJSON.
Result<Args> ParseHealthConfig(std::string_view rest) {
  size_t sep = 0;
  while (sep < rest.size() &&
         !gotext::IsSpaceByte(static_cast<unsigned char>(rest[sep])))
    ++sep;
  size_t next = sep;
  while (next < rest.size() &&
         gotext::IsSpaceByte(static_cast<unsigned char>(rest[next])))
    ++next;
  if (sep == 0) return Args{};
  KILN_ASSIGN_OR_RETURN(Args cmd, ParseMaybeJson(rest.substr(next)));
  Args args;
  args.next.push_back(Leaf(std::string(rest.substr(0, sep))));
  for (Node& n : cmd.next) args.next.push_back(std::move(n));
  args.json = cmd.json;
  return args;
}

// parseSubCommand (ONBUILD): the rest is an instruction of its own.
Result<Args> ParseSubCommand(std::string_view rest, char escape) {
  Args args;
  if (rest.empty()) return args;
  KILN_ASSIGN_OR_RETURN(Node child, NewNodeFromLine(rest, escape));
  Node holder;
  holder.children.push_back(std::move(child));
  args.next.push_back(std::move(holder));
  return args;
}

Result<Args> Dispatch(const std::string& cmd, std::string_view rest,
                      char escape) {
  if (cmd == "add" || cmd == "copy" || cmd == "volume")
    return ParseMaybeJsonToList(rest);
  if (cmd == "run" || cmd == "cmd" || cmd == "entrypoint" || cmd == "shell") {
    return ParseMaybeJson(rest);
  }
  if (cmd == "env") return ParseNameVal(rest, "ENV", escape);
  if (cmd == "label") return ParseNameVal(rest, "LABEL", escape);
  if (cmd == "arg") return ParseNameOrNameVal(rest, escape);
  if (cmd == "from" || cmd == "expose")
    return ParseStringsWhitespaceDelimited(rest);
  if (cmd == "maintainer" || cmd == "stopsignal" || cmd == "user" ||
      cmd == "workdir") {
    return ParseString(rest);
  }
  if (cmd == "healthcheck") return ParseHealthConfig(rest);
  if (cmd == "onbuild") return ParseSubCommand(rest, escape);
  // parseIgnore: an unknown instruction keeps one empty argument.
  Args args;
  args.next.emplace_back();
  return args;
}

}  // namespace

Result<Node> NewNodeFromLine(std::string_view line, char escape_token) {
  SplitLine split = SplitCommand(line);
  KILN_ASSIGN_OR_RETURN(Args args,
                        Dispatch(split.command, split.args, escape_token));
  Node node;
  node.value = std::move(split.command);
  node.original = std::string(line);
  node.flags = std::move(split.flags);
  node.next = std::move(args.next);
  node.json = args.json;
  return node;
}

}  // namespace kiln::dockerfile
