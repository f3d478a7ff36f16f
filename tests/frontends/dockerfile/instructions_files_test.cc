// Unit tests of the instruction layer: COPY and ADD, errors with ranges and
// suggestions, and ParseInstructions' grouping into stages.
#include <gtest/gtest.h>

#include <string>

#include "instructions_test_util.h"
#include "kiln/dockerfile/instructions.h"

namespace kiln::dockerfile {
namespace {

using testing_util::ErrorOf;
using testing_util::MessageOf;
using testing_util::MustCommand;

TEST(DockerfileInstructions, CopyFlagsAndSources) {
  CopyCommand copy = MustCommand<CopyCommand>(
      "COPY --from=build --chown=1000:$GID --chmod=0755 --link --parents "
      "--exclude=*.md --exclude=tmp/ a b/ /dst/\n");
  EXPECT_EQ(copy.name, "COPY");
  EXPECT_EQ(copy.files.source_paths, (std::vector<std::string>{"a", "b/"}));
  EXPECT_TRUE(copy.files.source_contents.empty());
  EXPECT_EQ(copy.files.dest, "/dst/");
  EXPECT_EQ(copy.from, "build");
  EXPECT_EQ(copy.chown, "1000:$GID");
  EXPECT_EQ(copy.chmod, "0755");
  EXPECT_TRUE(copy.link);
  EXPECT_TRUE(copy.parents);
  EXPECT_EQ(copy.excludes, (std::vector<std::string>{"*.md", "tmp/"}));

  CopyCommand plain = MustCommand<CopyCommand>("COPY --link=false x y\n");
  EXPECT_FALSE(plain.link);
  EXPECT_FALSE(plain.parents);
  EXPECT_TRUE(plain.from.empty());
  EXPECT_TRUE(MustCommand<CopyCommand>("COPY --link=TRUE x y\n").link);

  CopyCommand json =
      MustCommand<CopyCommand>("COPY [\"a b\", \"<<EOF\", \"/d\"]\n");
  EXPECT_EQ(json.files.source_paths,
            (std::vector<std::string>{"a b", "<<EOF"}));
  EXPECT_EQ(json.files.dest, "/d");
}

TEST(DockerfileInstructions, CopyHeredocSources) {
  CopyCommand copy = MustCommand<CopyCommand>(
      "COPY <<one <<-\"two\" src /dst/\nfirst "
      "$X\none\n\t\tsecond\n\tx\ttab\ntwo\n");
  EXPECT_EQ(copy.files.source_paths, std::vector<std::string>{"src"});
  ASSERT_EQ(copy.files.source_contents.size(), 2u);
  EXPECT_EQ(copy.files.source_contents[0].path, "one");
  EXPECT_EQ(copy.files.source_contents[0].data, "first $X\n");
  EXPECT_TRUE(copy.files.source_contents[0].expand);
  EXPECT_EQ(copy.files.source_contents[1].path, "two");
  EXPECT_EQ(copy.files.source_contents[1].data, "second\nx\ttab\n");
  EXPECT_FALSE(copy.files.source_contents[1].expand);

  EXPECT_EQ(MessageOf("COPY a <<EOF\nx\nEOF\n"),
            "COPY cannot accept a heredoc as a destination: \"COPY a <<EOF\"");
}

TEST(DockerfileInstructions, CopyAddErrors) {
  EXPECT_EQ(MessageOf("COPY onlyone\n"),
            "COPY requires at least two arguments, but only one was provided: "
            "destination could not be determined: \"COPY onlyone\"");
  EXPECT_EQ(
      MessageOf("COPY --fro=a x /y\n"),
      "unknown flag: --fro (did you mean --from?): \"COPY --fro=a x /y\"");
  EXPECT_EQ(MessageOf("COPY --checksum=sha256:x a /b\n"),
            "unknown flag: --checksum: \"COPY --checksum=sha256:x a /b\"");
  EXPECT_EQ(MessageOf("COPY --link=yes a b\n"),
            "expecting boolean value for flag --link, not: yes: "
            "\"COPY --link=yes a b\"");
  EXPECT_EQ(MessageOf("COPY --link= a b\n"),
            "missing a value on flag: --link: \"COPY --link= a b\"");
  EXPECT_EQ(MessageOf("COPY --from=a --from=b x y\n"),
            "duplicate flag specified: --from: \"COPY --from=a --from=b x y\"");
  EXPECT_EQ(MessageOf("COPY --chown x y\n"),
            "missing a value on flag: --chown: \"COPY --chown x y\"");
  EXPECT_EQ(MessageOf("ADD --from=x a b\n"),
            "unknown flag: --from: \"ADD --from=x a b\"");
  EXPECT_EQ(MessageOf("ADD --unpak a b\n"),
            "unknown flag: --unpak (did you mean --unpack?): "
            "\"ADD --unpak a b\"");
  EXPECT_EQ(MessageOf("ADD x\n"),
            "ADD requires at least two arguments, but only one was provided: "
            "destination could not be determined: \"ADD x\"");
}

TEST(DockerfileInstructions, AddFlags) {
  AddCommand add = MustCommand<AddCommand>(
      "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false "
      "--chown=app --chmod=644 --link --exclude=.git "
      "https://example.com/a.tar.gz /opt/\n");
  EXPECT_EQ(add.name, "ADD");
  EXPECT_EQ(add.checksum, "sha256:abc");
  EXPECT_TRUE(add.keep_git_dir);
  EXPECT_EQ(add.unpack, std::optional<bool>(false));
  EXPECT_EQ(add.chown, "app");
  EXPECT_EQ(add.chmod, "644");
  EXPECT_TRUE(add.link);
  EXPECT_EQ(add.excludes, std::vector<std::string>{".git"});
  EXPECT_EQ(add.files.source_paths,
            std::vector<std::string>{"https://example.com/a.tar.gz"});
  EXPECT_EQ(add.files.dest, "/opt/");

  AddCommand defaults = MustCommand<AddCommand>("ADD a b\n");
  EXPECT_FALSE(defaults.unpack.has_value());
  EXPECT_FALSE(defaults.keep_git_dir);
  EXPECT_EQ(MustCommand<AddCommand>("ADD --unpack a b\n").unpack,
            std::optional<bool>(true));
  AddCommand heredoc = MustCommand<AddCommand>("ADD <<EOF /f\nbody\nEOF\n");
  ASSERT_EQ(heredoc.files.source_contents.size(), 1u);
  EXPECT_EQ(heredoc.files.source_contents[0].data, "body\n");
}

TEST(DockerfileInstructions, UnknownInstructionSuggests) {
  EXPECT_EQ(MessageOf("RUNN echo\n"),
            "unknown instruction: RUNN (did you mean RUN?): \"RUNN echo\"");
  EXPECT_EQ(MessageOf("copx a b\n"),
            "unknown instruction: copx (did you mean copy?): \"copx a b\"");
  EXPECT_EQ(MessageOf("Entrypont x\n"),
            "unknown instruction: Entrypont (did you mean entrypoint?): "
            "\"Entrypont x\"");
  EXPECT_EQ(MessageOf("FOOBAR x\n"),
            "unknown instruction: FOOBAR: \"FOOBAR x\"");
}

TEST(DockerfileInstructions, ErrorsCarryTheRange) {
  Result<ParseResult> parsed =
      Parse("FROM a\n\n  RUN --netwrk=none \\\n    make\n", "ctx/Dockerfile");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Result<ParsedDockerfile> result = ParseInstructions(*parsed);
  ASSERT_FALSE(result.ok());
  const Status& status = result.status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(status.ranges().size(), 1u);
  EXPECT_EQ(status.ranges()[0].file, "ctx/Dockerfile");
  EXPECT_EQ(status.ranges()[0].line, 3);
  EXPECT_EQ(status.ranges()[0].column, 3);
  EXPECT_EQ(status.ranges()[0].end_line, 4);
  EXPECT_EQ(status.ToString(),
            "invalid argument: ctx/Dockerfile:3:3: unknown flag: --netwrk "
            "(did you mean --network?): \"RUN --netwrk=none     make\"");
}

TEST(DockerfileInstructions, ParseInstructionsGroupsStages) {
  Result<ParseResult> parsed = Parse(
      "ARG BASE=alpine\nARG V\nFROM $BASE AS one\nARG V\nRUN a\n"
      "FROM one\nCOPY --from=one /x /y\nCMD b\n",
      "Dockerfile");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  Result<ParsedDockerfile> result = ParseInstructions(*parsed);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->meta_args.size(), 2u);
  EXPECT_EQ(result->meta_args[0].args[0].key, "BASE");
  EXPECT_EQ(result->meta_args[0].args[0].value,
            std::optional<std::string>("alpine"));
  EXPECT_EQ(result->meta_args[1].range.line, 2);
  ASSERT_EQ(result->stages.size(), 2u);
  EXPECT_EQ(result->stages[0].name, "one");
  EXPECT_EQ(result->stages[0].base, "$BASE");
  ASSERT_EQ(result->stages[0].commands.size(), 2u);
  EXPECT_TRUE(
      std::holds_alternative<ArgCommand>(result->stages[0].commands[0]));
  EXPECT_EQ(BaseOf(result->stages[0].commands[1]).name, "RUN");
  EXPECT_EQ(BaseOf(result->stages[0].commands[1]).range.line, 5);
  EXPECT_EQ(result->stages[1].name, "");
  EXPECT_EQ(result->stages[1].range.line, 6);
  ASSERT_EQ(result->stages[1].commands.size(), 2u);
  EXPECT_EQ(std::get<CopyCommand>(result->stages[1].commands[0]).from, "one");
}

TEST(DockerfileInstructions, CommandBeforeFromIsRejected) {
  Result<ParseResult> parsed = Parse("ARG A\nRUN x\nFROM a\n", "Dockerfile");
  ASSERT_TRUE(parsed.ok());
  Result<ParsedDockerfile> result = ParseInstructions(*parsed);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "no build stage in current context: \"RUN x\"");
  ASSERT_FALSE(result.status().ranges().empty());
  EXPECT_EQ(result.status().ranges()[0].line, 2);
}

}  // namespace
}  // namespace kiln::dockerfile
