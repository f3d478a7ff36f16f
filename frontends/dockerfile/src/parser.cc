// Parse(): physical lines (ANTLR, physical_lines.cc) → logical lines →
// instruction nodes, following BuildKit's parser.Parse line by line: the
// directive block, comments, continuation lines with the escape token, empty
// continuation lines (a warning), heredoc bodies and line numbers.
#include "kiln/dockerfile/parser.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "directives.h"
#include "go_text.h"
#include "heredoc.h"
#include "line_parsers.h"
#include "physical_lines.h"

namespace kiln::dockerfile {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool IsComment(std::string_view line) {
  line = gotext::TrimLeftSpace(line);
  return !line.empty() && line[0] == '#';
}

// The grammar's COMMENT_LINE (blanks then '#'); upstream also skips Unicode
// spaces before the '#', which the byte-level grammar leaves to IsComment.
bool IsCommentLine(const PhysicalLine& line, std::string_view text) {
  if (line.kind == PhysicalLine::Kind::kComment) return true;
  return line.kind == PhysicalLine::Kind::kText && IsComment(text);
}

bool IsEmptyContinuationLine(std::string_view line) {
  return gotext::TrimLeftSpace(TrimNewline(line)).empty();
}

// trimContinuationCharacter: `([^E])E[ \t]*$|^E[ \t]*$` replaced by `$1`.
// Returns true when the line continues on the next one.
bool TrimContinuation(std::string_view* line, char escape) {
  std::string_view s = *line;
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  if (end == 0 || s[end - 1] != escape) return false;
  if (end >= 2 && s[end - 2] == escape) return false;
  *line = s.substr(0, end - 1);
  return true;
}

class LineParser {
 public:
  LineParser(std::string_view filename, std::vector<PhysicalLine> lines)
      : filename_(filename), lines_(std::move(lines)) {}

  Result<ParseResult> Run();

 private:
  // processLine: newline (and, for a first line, leading blanks) removed,
  // directives recognized, a comment line emptied.
  Result<std::string_view> ProcessLine(std::string_view raw, bool strip_left,
                                       bool* directive);
  Status ErrorAt(const Status& error, int start, int end,
                 std::string_view text) const;
  Status ReadHeredocs(Node* node, std::string_view line, int start);

  std::string filename_;
  std::vector<PhysicalLine> lines_;
  size_t pos_ = 0;
  int current_ = 0;
  DirectiveScanner directives_;
};

Result<std::string_view> LineParser::ProcessLine(std::string_view raw,
                                                 bool strip_left,
                                                 bool* directive) {
  std::string_view token = TrimNewline(raw);
  if (strip_left) token = gotext::TrimLeftSpace(token);
  KILN_ASSIGN_OR_RETURN(*directive, directives_.ParseLine(token));
  if (IsComment(token)) return std::string_view();
  return token;
}

Status LineParser::ErrorAt(const Status& error, int start, int end,
                           std::string_view text) const {
  std::string message = error.message();
  if (!text.empty()) message += ": " + gotext::Quote(TrimNewline(text));
  SourceRange range{filename_, start, 1, end, 0};
  return Status(error.code(), std::move(message)).WithRange(std::move(range));
}

Status LineParser::ReadHeredocs(Node* node, std::string_view line, int start) {
  KILN_ASSIGN_OR_RETURN(std::vector<Heredoc> heredocs, HeredocsFromLine(line));
  for (Heredoc& heredoc : heredocs) {
    bool terminated = false;
    while (pos_ < lines_.size()) {
      std::string_view raw = lines_[pos_++].text;
      ++current_;
      std::string_view candidate = TrimNewline(raw);
      if (heredoc.chomp) {
        while (!candidate.empty() && candidate[0] == '\t')
          candidate.remove_prefix(1);
      }
      if (candidate == heredoc.name) {
        terminated = true;
        break;
      }
      heredoc.content.append(raw);
    }
    if (!terminated)
      return ErrorAt(InvalidArgumentError("unterminated heredoc"), start,
                     current_, "");
    node->heredocs.push_back(std::move(heredoc));
  }
  return Status::Ok();
}

bool CanContainHeredoc(const Node& node) {
  const Node* target = &node;
  if (node.value == "onbuild" && !node.next.empty() &&
      !node.next[0].children.empty()) {
    target = &node.next[0].children[0];
  }
  if (target->value != "add" && target->value != "copy" &&
      target->value != "run")
    return false;
  return !target->json;
}

Result<ParseResult> LineParser::Run() {
  ParseResult result;
  std::vector<std::string> comments;
  while (pos_ < lines_.size()) {
    const PhysicalLine& physical = lines_[pos_++];
    std::string_view raw = physical.text;
    if (current_ == 0 && raw.substr(0, kBom.size()) == kBom)
      raw.remove_prefix(kBom.size());
    if (IsCommentLine(physical, raw)) {
      std::string comment(gotext::TrimSpace(raw.substr(1)));
      if (comment.empty()) {
        comments.clear();
      } else {
        comments.push_back(std::move(comment));
      }
    }
    bool directive = false;
    Result<std::string_view> processed = ProcessLine(raw, true, &directive);
    if (!processed.ok())
      return ErrorAt(processed.status(), current_ + 1, current_ + 1, raw);
    if (directive && !comments.empty()) comments.pop_back();
    ++current_;

    const int start = current_;
    const std::string_view first = raw;
    std::string_view text = *processed;
    bool continues =
        TrimContinuation(&text, directives_.directives().escape_token);
    if (!continues && text.empty()) continue;
    std::string line(text);

    bool empty_continuation = false;
    while (continues && pos_ < lines_.size()) {
      const PhysicalLine& next_physical = lines_[pos_++];
      std::string_view next_raw = next_physical.text;
      bool ignored = false;
      Result<std::string_view> next = ProcessLine(next_raw, false, &ignored);
      if (!next.ok())
        return ErrorAt(next.status(), current_ + 1, current_ + 1, next_raw);
      ++current_;
      if (IsCommentLine(next_physical, next_raw)) continue;
      if (IsEmptyContinuationLine(*next)) {
        empty_continuation = true;
        continue;
      }
      std::string_view piece = *next;
      continues =
          TrimContinuation(&piece, directives_.directives().escape_token);
      line.append(piece);
    }

    if (empty_continuation) {
      ParseWarning warning;
      warning.rule = "NoEmptyContinuation";
      warning.message = "Empty continuation line found in: " + line;
      warning.detail =
          "Empty continuation lines will become errors in a future release";
      warning.url =
          "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/";
      warning.range = SourceRange{filename_, current_, 0, current_, 0};
      result.warnings.push_back(std::move(warning));
    }

    Result<Node> node =
        NewNodeFromLine(line, directives_.directives().escape_token);
    if (!node.ok()) return ErrorAt(node.status(), start, current_, first);
    if (CanContainHeredoc(*node) && line.find("<<") != std::string::npos) {
      KILN_RETURN_IF_ERROR(ReadHeredocs(&*node, line, start));
    }
    const std::string_view trimmed_first = TrimNewline(first);
    const std::string_view last = TrimNewline(lines_[pos_ - 1].text);
    node->range = SourceRange{
        filename_, start,
        static_cast<int>(trimmed_first.size() -
                         gotext::TrimLeftSpace(trimmed_first).size()) +
            1,
        current_, static_cast<int>(last.size()) + 1};
    node->prev_comment = std::move(comments);
    comments.clear();
    if (result.children.empty()) result.start_line = start;
    result.end_line = current_;
    result.children.push_back(std::move(*node));
  }
  if (result.children.empty()) {
    return ErrorAt(InvalidArgumentError("file with no instructions"),
                   current_ > 0 ? current_ : 1, current_ > 0 ? current_ : 1,
                   "");
  }
  result.directives = directives_.directives();
  return result;
}

}  // namespace

Result<ParseResult> Parse(std::string_view dockerfile,
                          std::string_view filename) {
  KILN_ASSIGN_OR_RETURN(std::vector<PhysicalLine> lines,
                        SplitPhysicalLines(dockerfile));
  LineParser parser(filename, std::move(lines));
  return parser.Run();
}

}  // namespace kiln::dockerfile
