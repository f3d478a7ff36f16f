// Unit tests of the Dockerfile parser: directives, escapes, continuations,
// JSON vs shell form, flags, heredocs, errors and source ranges.
#include "kiln/dockerfile/parser.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::dockerfile {
namespace {

ParseResult MustParse(std::string_view text) {
  Result<ParseResult> parsed = Parse(text, "Dockerfile");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? std::move(*parsed) : ParseResult{};
}

std::string DumpOf(std::string_view text) { return Dump(MustParse(text)); }

TEST(DockerfileParser, Directives) {
  ParseResult r = MustParse(
      "# syntax = docker/dockerfile:1.7\n#CHECK=skip=all;error=true\n"
      "# escape=`\n\nFROM a\n");
  ASSERT_TRUE(r.directives.syntax.has_value());
  EXPECT_EQ(r.directives.syntax->value, "docker/dockerfile:1.7");
  EXPECT_EQ(r.directives.syntax->line, 1);
  ASSERT_TRUE(r.directives.check.has_value());
  EXPECT_EQ(r.directives.check->name, "check");
  EXPECT_EQ(r.directives.check->value, "skip=all;error=true");
  ASSERT_TRUE(r.directives.escape.has_value());
  EXPECT_EQ(r.directives.escape->line, 3);
  EXPECT_EQ(r.directives.escape_token, '`');
}

TEST(DockerfileParser, DirectivesOnlyAtTheTop) {
  // A blank line, another comment or an instruction ends the directive block.
  ParseResult r = MustParse("# hello\n# escape=`\nFROM a\n# syntax=x\n");
  EXPECT_FALSE(r.directives.escape.has_value());
  EXPECT_FALSE(r.directives.syntax.has_value());
  EXPECT_EQ(r.directives.escape_token, '\\');
  r = MustParse("\n# escape=`\nFROM a\n");
  EXPECT_FALSE(r.directives.escape.has_value());
  // An unknown directive ends the block too.
  r = MustParse("# foo=bar\n# escape=`\nFROM a\n");
  EXPECT_FALSE(r.directives.escape.has_value());
}

TEST(DockerfileParser, DirectiveErrors) {
  Result<ParseResult> r = Parse("# escape=`\n# escape=\\\nFROM a\n", "df");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("only one escape parser directive"),
            std::string::npos);
  ASSERT_FALSE(r.status().ranges().empty());
  EXPECT_EQ(r.status().ranges()[0].line, 2);
  r = Parse("# escape=x\nFROM a\n", "df");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid escape token 'x'"),
            std::string::npos);
}

TEST(DockerfileParser, EscapeTokenChangesContinuation) {
  EXPECT_EQ(DumpOf("# escape=`\nFROM a\nRUN echo \\\nRUN b `\n  c\n"),
            "(from \"a\")\n(run \"echo \\\\\")\n(run \"b   c\")");
  // With `, a backslash is a literal and ENV values keep it.
  EXPECT_EQ(DumpOf("#escape=`\nFROM a\nENV p C:\\dir\n"),
            "(from \"a\")\n(env \"p\" \"C:\\\\dir\" \"\")");
}

TEST(DockerfileParser, ContinuationsCommentsAndEmptyLines) {
  ParseResult r =
      MustParse("FROM a\nRUN one \\\n# comment\n\n  two\nRUN three\n");
  EXPECT_EQ(Dump(r), "(from \"a\")\n(run \"one   two\")\n(run \"three\")");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].rule, "NoEmptyContinuation");
  EXPECT_EQ(r.warnings[0].message,
            "Empty continuation line found in: RUN one   two");
  // The escaped escape is not a continuation.
  EXPECT_EQ(
      DumpOf("FROM a\nENV C x\\\\\nENV D y\n"),
      "(from \"a\")\n(env \"C\" \"x\\\\\\\\\" \"\")\n(env \"D\" \"y\" \"\")");
}

TEST(DockerfileParser, CommentsBeforeAnInstruction) {
  ParseResult r =
      MustParse("# syntax=x\n# first\n# second\nFROM a\n#\n# third\nRUN b\n");
  ASSERT_EQ(r.children.size(), 2u);
  EXPECT_EQ(r.children[0].prev_comment,
            (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(r.children[1].prev_comment, (std::vector<std::string>{"third"}));
}

TEST(DockerfileParser, JsonAndShellForms) {
  ParseResult r = MustParse(
      "FROM a\nCMD [\"a\", \"b c\"]\nCMD a [b]\nENTRYPOINT [\"x\"] y\nVOLUME "
      "/a /b\n"
      "COPY [\"s p\", \"/d\"]\nSHELL [\"/bin/bash\", \"-c\"]\n");
  ASSERT_EQ(r.children.size(), 7u);
  EXPECT_TRUE(r.children[1].json);
  EXPECT_EQ(DumpNode(r.children[1]), "cmd \"a\" \"b c\"");
  EXPECT_FALSE(r.children[2].json);
  EXPECT_EQ(DumpNode(r.children[2]), "cmd \"a [b]\"");
  EXPECT_FALSE(r.children[3].json);  // trailing text: not JSON
  EXPECT_EQ(DumpNode(r.children[4]), "volume \"/a\" \"/b\"");
  EXPECT_TRUE(r.children[5].json);
  EXPECT_EQ(DumpNode(r.children[5]), "copy \"s p\" \"/d\"");
  Result<ParseResult> bad = Parse("FROM a\nRUN [\"a\", 1]\n", "Dockerfile");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.status().message().find("arrays must be comprised of strings only"),
      std::string::npos);
}

TEST(DockerfileParser, NameValueForms) {
  EXPECT_EQ(DumpOf("FROM a\nENV a b c\nLABEL x=\"y z\" w=v\nARG n m=1\n"),
            "(from \"a\")\n(env \"a\" \"b c\" \"\")\n"
            "(label \"x\" \"\\\"y z\\\"\" \"=\" \"w\" \"v\" \"=\")\n(arg \"n\" "
            "\"m=1\")");
  Result<ParseResult> r = Parse("FROM a\nENV a=b c\n", "Dockerfile");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("can't find = in \"c\""),
            std::string::npos);
}

TEST(DockerfileParser, Flags) {
  ParseResult r = MustParse(
      "FROM --platform=$BUILDPLATFORM golang AS build\n"
      "RUN --mount=type=cache,target=/root/.cache --network=none go build\n"
      "COPY --from=build --chown=\"a b\" -- --x /y\n");
  ASSERT_EQ(r.children.size(), 3u);
  EXPECT_EQ(r.children[0].flags,
            (std::vector<std::string>{"--platform=$BUILDPLATFORM"}));
  EXPECT_EQ(DumpNode(r.children[0]),
            "from [\"--platform=$BUILDPLATFORM\"] \"golang\" \"AS\" \"build\"");
  EXPECT_EQ(r.children[1].flags,
            (std::vector<std::string>{"--mount=type=cache,target=/root/.cache",
                                      "--network=none"}));
  EXPECT_EQ(r.children[1].next.size(), 1u);
  EXPECT_EQ(r.children[1].next[0].value, "go build");
  // Quotes are removed from flags; "--" ends them; a flag word must start
  // with "--" (a quoted "--x" is an argument).
  EXPECT_EQ(r.children[2].flags,
            (std::vector<std::string>{"--from=build", "--chown=a b"}));
  EXPECT_EQ(DumpNode(r.children[2]),
            "copy [\"--from=build\" \"--chown=a b\"] \"--x\" \"/y\"");
}

TEST(DockerfileParser, OnbuildAndUnknownInstructions) {
  ParseResult r =
      MustParse("FROM a\nONBUILD RUN --mount=x b\nfrobnicate the thing\n");
  ASSERT_EQ(r.children.size(), 3u);
  ASSERT_EQ(r.children[1].next.size(), 1u);
  ASSERT_EQ(r.children[1].next[0].children.size(), 1u);
  EXPECT_EQ(r.children[1].next[0].children[0].flags,
            (std::vector<std::string>{"--mount=x"}));
  EXPECT_EQ(DumpNode(r.children[1]), "onbuild (run [\"--mount=x\"] \"b\")");
  // Not a parse error: the instruction layer rejects it.
  EXPECT_EQ(r.children[2].value, "frobnicate");
  EXPECT_EQ(r.children[2].original, "frobnicate the thing");
  EXPECT_EQ(DumpNode(r.children[2]), "frobnicate \"\"");
}

TEST(DockerfileParser, Heredocs) {
  ParseResult r = MustParse(
      "FROM a\n"
      "RUN <<EOF bash && cat <<-\"EOT\" 3<<'X'\n"
      "echo $HOME\n"
      "EOF\n"
      "\tquoted\n"
      "\tEOT\n"
      "x\n"
      "X\n"
      "COPY <<one <<two /dest/\n"
      "1\n"
      "one\n"
      "two\n"
      "RUN [\"echo\", \"<<EOF\"]\n"
      "ONBUILD ADD <<EOF /f\n"
      "body\n"
      "EOF\n");
  ASSERT_EQ(r.children.size(), 5u);
  const Node& run = r.children[1];
  ASSERT_EQ(run.heredocs.size(), 3u);
  EXPECT_EQ(run.heredocs[0].name, "EOF");
  EXPECT_EQ(run.heredocs[0].content, "echo $HOME\n");
  EXPECT_TRUE(run.heredocs[0].expand);
  EXPECT_FALSE(run.heredocs[0].chomp);
  EXPECT_EQ(run.heredocs[1].name, "EOT");
  EXPECT_EQ(run.heredocs[1].content,
            "\tquoted\n");  // chomping is the caller's job
  EXPECT_FALSE(run.heredocs[1].expand);
  EXPECT_TRUE(run.heredocs[1].chomp);
  EXPECT_EQ(run.heredocs[2].name, "X");
  EXPECT_EQ(run.heredocs[2].file_descriptor, 3u);
  EXPECT_FALSE(run.heredocs[2].expand);
  EXPECT_EQ(run.range.line, 2);
  EXPECT_EQ(run.range.end_line, 8);
  const Node& copy = r.children[2];
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0].content, "1\n");
  EXPECT_EQ(copy.heredocs[1].content, "");
  EXPECT_TRUE(r.children[3].heredocs.empty());  // JSON form has none
  ASSERT_EQ(r.children[4].heredocs.size(), 1u);
  EXPECT_EQ(r.children[4].heredocs[0].content, "body\n");
}

TEST(DockerfileParser, UnterminatedHeredoc) {
  Result<ParseResult> r =
      Parse("FROM a\nRUN cat <<EOF\nhello\n", "ctx/Dockerfile");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unterminated heredoc"),
            std::string::npos);
  ASSERT_FALSE(r.status().ranges().empty());
  EXPECT_EQ(r.status().ranges()[0].line, 2);
  EXPECT_EQ(r.status().ranges()[0].end_line, 3);
}

TEST(DockerfileParser, ErrorsNameFileLineColumnAndQuoteTheLine) {
  Result<ParseResult> r = Parse("FROM a\n\n  ENV PATH\n", "sub/Dockerfile");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ASSERT_FALSE(r.status().ranges().empty());
  const SourceRange& range = r.status().ranges()[0];
  EXPECT_EQ(range.file, "sub/Dockerfile");
  EXPECT_EQ(range.line, 3);
  EXPECT_EQ(range.column, 1);
  EXPECT_NE(r.status().message().find("ENV must have two arguments"),
            std::string::npos);
  EXPECT_NE(r.status().message().find("\"  ENV PATH\""), std::string::npos);
  EXPECT_NE(r.status().ToString().find("sub/Dockerfile:3:1"),
            std::string::npos);

  r = Parse("", "Dockerfile");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("file with no instructions"),
            std::string::npos);
  r = Parse("# only\n   \n# comments\n", "Dockerfile");
  ASSERT_FALSE(r.ok());
}

TEST(DockerfileParser, SourceRanges) {
  ParseResult r =
      MustParse("\xEF\xBB\xBF# c\nFROM a\n\n   RUN b \\\n  c\nCMD x");
  ASSERT_EQ(r.children.size(), 3u);
  EXPECT_EQ(r.children[0].range.file, "Dockerfile");
  EXPECT_EQ(r.children[0].range.line, 2);
  EXPECT_EQ(r.children[0].range.column, 1);
  EXPECT_EQ(r.children[0].range.end_line, 2);
  EXPECT_EQ(r.children[0].range.end_column, 7);
  EXPECT_EQ(r.children[1].range.line, 4);
  EXPECT_EQ(r.children[1].range.column, 4);
  EXPECT_EQ(r.children[1].range.end_line, 5);
  EXPECT_EQ(r.children[1].range.end_column, 4);
  EXPECT_EQ(r.children[2].range.line, 6);  // no final newline
  EXPECT_EQ(r.children[2].range.end_column, 6);
  EXPECT_EQ(r.start_line, 2);
  EXPECT_EQ(r.end_line, 6);
}

TEST(DockerfileParser, CrlfAndOddBytes) {
  // CRLF line ends, invalid UTF-8 and NUL bytes are carried, never fatal.
  EXPECT_EQ(DumpOf("FROM a\r\nRUN b \\\r\n c\r\n"),
            "(from \"a\")\n(run \"b  c\")");
  EXPECT_EQ(DumpOf(std::string("FROM a\nRUN \xff\x00z\n", 14)),
            "(from \"a\")\n(run \"\\xff\\x00z\")");
  EXPECT_EQ(DumpOf("FROM a\nRUN caf\xC3\xA9 \xE2\x98\x83\n"),
            "(from \"a\")\n(run \"caf\xC3\xA9 \xE2\x98\x83\")");
}

TEST(DockerfileParser, QuotedFlagWordIsAnArgument) {
  ParseResult r = MustParse("FROM a\nCOPY \"--from=x\" /y\n");
  EXPECT_TRUE(r.children[1].flags.empty());
  EXPECT_EQ(DumpNode(r.children[1]), "copy \"\\\"--from=x\\\"\" \"/y\"");
}

}  // namespace
}  // namespace kiln::dockerfile
