#include "physical_lines.h"

#include <exception>
#include <string>

#include "DockerfileLexer.h"
#include "DockerfileParser.h"
#include "antlr4-runtime.h"

namespace kiln::dockerfile {
namespace {

using gen::DockerfileLexer;
using gen::DockerfileParser;

// Feeds the source one byte per code point: the grammar only tells '\n', '#'
// and blanks from other characters, token indices become byte offsets, and
// invalid UTF-8 cannot make the runtime's decoder throw.
class ByteStream : public antlr4::ANTLRInputStream {
 public:
  explicit ByteStream(std::string_view source) {
    _data.reserve(source.size());
    for (char c : source) _data.push_back(static_cast<unsigned char>(c));
  }
};

// Turns syntax errors into a message instead of printing them to stderr.
class ErrorCollector : public antlr4::BaseErrorListener {
 public:
  void syntaxError(antlr4::Recognizer* /*recognizer*/,
                   antlr4::Token* /*offending*/, size_t line, size_t column,
                   const std::string& msg, std::exception_ptr /*e*/) override {
    if (first_.empty()) {
      first_ = std::to_string(line) + ":" + std::to_string(column) + ": " + msg;
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

PhysicalLine::Kind KindOf(DockerfileParser::ContentContext* content) {
  if (content == nullptr) return PhysicalLine::Kind::kEmpty;
  if (dynamic_cast<DockerfileParser::CommentLineContext*>(content) != nullptr) {
    return PhysicalLine::Kind::kComment;
  }
  if (dynamic_cast<DockerfileParser::BlankLineContext*>(content) != nullptr) {
    return PhysicalLine::Kind::kBlank;
  }
  return PhysicalLine::Kind::kText;
}

}  // namespace

Result<std::vector<PhysicalLine>> SplitPhysicalLines(std::string_view source) {
  try {
    ByteStream input(source);
    DockerfileLexer lexer(&input);
    ErrorCollector errors;
    lexer.removeErrorListeners();
    lexer.addErrorListener(&errors);
    antlr4::CommonTokenStream tokens(&lexer);
    DockerfileParser parser(&tokens);
    parser.removeErrorListeners();
    parser.addErrorListener(&errors);
    DockerfileParser::DockerfileContext* tree = parser.dockerfile();
    if (!errors.first().empty()) {
      return InternalError("dockerfile grammar rejected the input at " +
                           errors.first());
    }
    std::vector<PhysicalLine> lines;
    lines.reserve(tree->physicalLine().size() + 1);
    auto add = [&](antlr4::ParserRuleContext* line,
                   DockerfileParser::ContentContext* content) {
      const size_t start = line->getStart()->getStartIndex();
      const size_t stop = line->getStop()->getStopIndex();
      lines.push_back(PhysicalLine{source.substr(start, stop - start + 1),
                                   KindOf(content)});
    };
    for (DockerfileParser::PhysicalLineContext* line : tree->physicalLine()) {
      add(line, line->content());
    }
    if (DockerfileParser::LastLineContext* last = tree->lastLine()) {
      add(last, last->content());
    }
    return lines;
  } catch (const std::exception& e) {
    return InternalError(std::string("dockerfile grammar failed: ") + e.what());
  }
}

}  // namespace kiln::dockerfile
