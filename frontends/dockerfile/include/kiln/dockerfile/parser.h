// The Dockerfile parser: source text → a syntax tree with source ranges.
//
// The tree follows BuildKit's parser.Node model (frontend/dockerfile/parser):
// one Node per instruction, its arguments as a `next` sequence, ONBUILD's
// sub-instruction as the `children` of its single argument node. Only the
// raw line syntax is handled here (directives, comments, escapes, line
// continuations, JSON vs shell form, flags, heredocs); variable expansion and
// instruction semantics belong to the instruction layer. As upstream, an
// unknown instruction is not a parse error: its node is kept (with one empty
// argument) for the instruction layer to reject.
//
// Thread-safety: Parse and Dump are pure functions, safe to call concurrently.
#ifndef KILN_DOCKERFILE_PARSER_H_
#define KILN_DOCKERFILE_PARSER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::dockerfile {

// A heredoc attached to a RUN/COPY/ADD instruction (`<<EOF`, `<<-EOF`).
struct Heredoc {
  std::string name;     // the delimiter word, quotes removed
  std::string content;  // body lines, each with its newline
  bool expand = true;   // false when any part of the delimiter is quoted
  bool chomp = false;   // `<<-`: leading tabs are stripped (not done here)
  unsigned file_descriptor = 0;  // the `N` in `N<<EOF`, 0 when absent
};

// One node of the tree. For an instruction: `value` is the lowercased
// keyword, `next` its arguments in order, `flags` the `--name=value` words
// before them, `original` the whole logical line (continuations joined) and
// `range` the lines it spans. Argument nodes only carry `value` (and, for
// ONBUILD's argument, `children` holding the sub-instruction).
struct Node {
  std::string value;
  std::vector<Node> next;
  std::vector<Node> children;
  std::vector<Heredoc> heredocs;
  bool json = false;  // the arguments came from a JSON array (exec form)
  std::string original;
  std::vector<std::string> flags;
  std::vector<std::string> prev_comment;  // comment lines right before it
  // 1-based; column is the first character of the instruction, end_column
  // one past the last character of its last line (heredoc terminator
  // included). file is the name given to Parse.
  SourceRange range;
};

// A parser directive (`# name=value` at the top of the file).
struct Directive {
  std::string name;   // lowercased: "syntax", "escape" or "check"
  std::string value;  // case kept, surrounding blanks trimmed
  int line = 0;       // 1-based
};

struct Directives {
  char escape_token = '\\';  // '\\' or '`'
  std::optional<Directive> syntax;
  std::optional<Directive> escape;
  std::optional<Directive> check;
};

// A non-fatal finding of the parser (upstream's parser.Warning).
struct ParseWarning {
  std::string rule;     // e.g. "NoEmptyContinuation"
  std::string message;  // e.g. "Empty continuation line found in: RUN a b"
  std::string detail;
  std::string url;
  SourceRange range;
};

struct ParseResult {
  std::vector<Node> children;  // the instructions, in file order
  Directives directives;
  std::vector<ParseWarning> warnings;
  // From the first instruction's first line to the last one's last line.
  int start_line = 0;
  int end_line = 0;
};

// Parses a Dockerfile. `filename` only labels ranges and error messages.
// Errors: InvalidArgument, with a range (file:line:column) attached and the
// offending line quoted in the message, for a file with no instructions, a
// repeated or invalid directive, a JSON array of non-strings, ENV/LABEL
// without a value or `=`, and an unterminated heredoc.
Result<ParseResult> Parse(std::string_view dockerfile,
                          std::string_view filename);

// Upstream's AST dump: one `(keyword ["--flag"...] "arg" ...)` line per
// instruction, strings quoted as Go's strconv.Quote does, no trailing newline.
std::string Dump(const ParseResult& result);
// The dump of one node (an instruction without the parentheses).
std::string DumpNode(const Node& node);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_PARSER_H_
