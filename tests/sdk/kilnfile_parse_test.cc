// The example frontend's parser (sdk/examples/kilnfile): instructions keep
// their lines, and every syntax error carries the line it is on.
#include <gtest/gtest.h>

#include "kilnfile.h"

namespace kilnfile {
namespace {

TEST(SdkKilnfileTest, ParsesInstructionsWithTheirLines) {
  auto program = Parse(
      "# comment\n"
      "FROM alpine:3.20\n"
      "\n"
      "env A=b c\r\n"
      "  run   echo hi  \n"
      "copy a b /dst/\n"
      "entrypoint sh -c 'echo x'",
      "Kilnfile");
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  ASSERT_EQ(program->size(), 5u);
  EXPECT_EQ((*program)[0].keyword, "from");
  EXPECT_EQ((*program)[0].args, "alpine:3.20");
  EXPECT_EQ((*program)[0].line, 2);
  EXPECT_EQ((*program)[1].keyword, "env");
  EXPECT_EQ((*program)[1].args, "A=b c");
  EXPECT_EQ((*program)[1].line, 4);
  EXPECT_EQ((*program)[2].args, "echo hi");
  EXPECT_EQ((*program)[2].line, 5);
  EXPECT_EQ((*program)[4].keyword, "entrypoint");
  EXPECT_EQ((*program)[4].line, 7);
}

struct BadCase {
  const char* text;
  int line;
  const char* message;
};

TEST(SdkKilnfileTest, ErrorsNameTheLine) {
  const BadCase cases[] = {
      {"from a\nfrobnicate x\n", 2, "unknown instruction \"frobnicate\""},
      {"run make\n", 1, "the first instruction must be from, not run"},
      {"from a\n\nfrom b\n", 3, "only one from is allowed"},
      {"from a\nenv NOEQUALS\n", 2, "env needs KEY=VALUE, got \"NOEQUALS\""},
      {"from a\nworkdir   \n", 2, "workdir needs an argument"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.text);
    auto program = Parse(c.text, "build/Kilnfile");
    ASSERT_FALSE(program.ok());
    EXPECT_EQ(program.status().code(), kiln::StatusCode::kInvalidArgument);
    EXPECT_EQ(program.status().message(), c.message);
    ASSERT_EQ(program.status().ranges().size(), 1u);
    EXPECT_EQ(program.status().ranges()[0].file, "build/Kilnfile");
    EXPECT_EQ(program.status().ranges()[0].line, c.line);
  }
}

TEST(SdkKilnfileTest, EmptyFileIsAnError) {
  auto program = Parse("# nothing\n\n", "Kilnfile");
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.status().message(), "Kilnfile: no instructions");
}

}  // namespace
}  // namespace kilnfile
