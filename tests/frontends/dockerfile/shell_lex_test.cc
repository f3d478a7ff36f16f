// Tests of kiln/dockerfile/shell_lex.h and instruction_expansion.h.
//
// The acceptance tables are ported from BuildKit's
// frontend/dockerfile/shell package (Apache-2.0, github.com/moby/buildkit):
// the test data files envVarTest and wordsTest, read the way lex_test.go
// reads them, and the cases of lex_test.go's TestProcessWithMatches,
// TestShellParserMandatoryEnvVars and TestProcessWithMatchesPlatform.
#include "kiln/dockerfile/shell_lex.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/dockerfile/instruction_expansion.h"

namespace kiln::dockerfile {
namespace {

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

// envVarTest, verbatim from upstream (lines tagged W, Windows only, are
// skipped by the reader below, as upstream does on Linux). Format:
// platform | source | expected, where "error" means an error.
constexpr const char* kEnvVarTest =
    R"envvar(A|hello                    |     hello
A|he'll'o                  |     hello
A|he'llo                   |     error
A|he\'llo                  |     he'llo
A|he\\'llo                 |     error
A|abc\tdef                 |     abctdef
A|"abc\tdef"               |     abc\tdef
A|"abc\\tdef"              |     abc\tdef
A|'abc\tdef'               |     abc\tdef
A|hello\                   |     hello
A|hello\\                  |     hello\
A|"hello                   |     error
A|"hello\"                 |     error
A|"hel'lo"                 |     hel'lo
A|'hello                   |     error
A|'hello\'                 |     hello\
A|'hello\there'            |     hello\there
A|'hello\\there'           |     hello\\there
A|"''"                     |     ''
A|$.                       |     $.
A|he$1x                    |     hex
A|he$.x                    |     he$.x
# Next one is different on Windows as $pwd==$PWD
U|he$pwd.                  |     he.
W|he$pwd.                  |     he/home.
A|he$PWD                   |     he/home
A|he\$PWD                  |     he$PWD
A|he\\$PWD                 |     he\/home
A|"he\$PWD"                |     he$PWD
A|"he\\$PWD"               |     he\/home
A|\${}                     |     ${}
A|\${}aaa                  |     ${}aaa
A|he\${}                   |     he${}
A|he\${}xx                 |     he${}xx
A|${}                      |     error
A|${}aaa                   |     error
A|he${}                    |     error
A|he${}xx                  |     error
A|he${hi}                  |     he
A|he${hi}xx                |     hexx
A|he${PWD}                 |     he/home
A|he${.}                   |     error
A|he${XXX:-000}xx          |     he000xx
A|he${PWD:-000}xx          |     he/homexx
A|he${XXX:-$PWD}xx         |     he/homexx
A|he${XXX:-${PWD:-yyy}}xx  |     he/homexx
A|he${XXX:-${YYY:-yyy}}xx  |     heyyyxx
A|he${XXX:YYY}             |     error
A|he${XXX:+${PWD}}xx       |     hexx
A|he${PWD:+${XXX}}xx       |     hexx
A|he${PWD:+${SHELL}}xx     |     hebashxx
A|he${XXX:+000}xx          |     hexx
A|he${PWD:+000}xx          |     he000xx
A|'he${XX}'                |     he${XX}
A|"he${PWD}"               |     he/home
A|"he'$PWD'"               |     he'/home'
A|"$PWD"                   |     /home
A|'$PWD'                   |     $PWD
A|'\$PWD'                  |     \$PWD
A|'"hello"'                |     "hello"
A|he\$PWD                  |     he$PWD
A|"he\$PWD"                |     he$PWD
A|'he\$PWD'                |     he\$PWD
A|he${PWD                  |     error
A|he${PWD:=000}xx          |     error
A|he${PWD:+${PWD}:}xx      |     he/home:xx
A|he${XXX:-\$PWD:}xx       |     he$PWD:xx
A|he${XXX:-\${PWD}z}xx     |     he${PWDz}xx
A|안녕하세요                 |     안녕하세요
A|안'녕'하세요               |     안녕하세요
A|안'녕하세요                |     error
A|안녕\'하세요               |     안녕'하세요
A|안\\'녕하세요              |     error
A|안녕\t하세요               |     안녕t하세요
A|"안녕\t하세요"             |     안녕\t하세요
A|'안녕\t하세요              |     error
A|안녕하세요\                |     안녕하세요
A|안녕하세요\\               |     안녕하세요\
A|"안녕하세요                |     error
A|"안녕하세요\"              |     error
A|"안녕'하세요"              |     안녕'하세요
A|'안녕하세요                |     error
A|'안녕하세요\'              |     안녕하세요\
A|안녕$1x                    |     안녕x
A|안녕$.x                    |     안녕$.x
# Next one is different on Windows as $pwd==$PWD
U|안녕$pwd.                  |     안녕.
W|안녕$pwd.                  |     안녕/home.
A|안녕$PWD                   |     안녕/home
A|안녕\$PWD                  |     안녕$PWD
A|안녕\\$PWD                 |     안녕\/home
A|안녕\${}                   |     안녕${}
A|안녕\${}xx                 |     안녕${}xx
A|안녕${}                    |     error
A|안녕${}xx                  |     error
A|안녕${hi}                  |     안녕
A|안녕${hi}xx                |     안녕xx
A|안녕${PWD}                 |     안녕/home
A|안녕${.}                   |     error
A|안녕${XXX:-000}xx          |     안녕000xx
A|안녕${PWD:-000}xx          |     안녕/homexx
A|안녕${XXX:-$PWD}xx         |     안녕/homexx
A|안녕${XXX:-${PWD:-yyy}}xx  |     안녕/homexx
A|안녕${XXX:-${YYY:-yyy}}xx  |     안녕yyyxx
A|안녕${XXX:YYY}             |     error
A|안녕${XXX:+${PWD}}xx       |     안녕xx
A|안녕${PWD:+${XXX}}xx       |     안녕xx
A|안녕${PWD:+${SHELL}}xx     |     안녕bashxx
A|안녕${XXX:+000}xx          |     안녕xx
A|안녕${PWD:+000}xx          |     안녕000xx
A|'안녕${XX}'                |     안녕${XX}
A|"안녕${PWD}"               |     안녕/home
A|"안녕'$PWD'"               |     안녕'/home'
A|'"안녕"'                   |     "안녕"
A|안녕\$PWD                  |     안녕$PWD
A|"안녕\$PWD"                |     안녕$PWD
A|'안녕\$PWD'                |     안녕\$PWD
A|안녕${PWD                  |     error
A|안녕${PWD:=000}xx          |     error
A|안녕${PWD:+${PWD}:}xx      |     안녕/home:xx
A|안녕${XXX:-\$PWD:}xx       |     안녕$PWD:xx
A|안녕${XXX:-\${PWD}z}xx     |     안녕${PWDz}xx
A|$KOREAN                    |     한국어
A|안녕$KOREAN                |     안녕한국어
A|${{aaa}                   |     error
A|${aaa}}                   |     }
A|${aaa                     |     error
A|${{aaa:-bbb}              |     error
A|${aaa:-bbb}}              |     bbb}
A|${aaa:-bbb                |     error
A|${aaa:-bbb}               |     bbb
A|${aaa:-${bbb:-ccc}}       |     ccc
A|${aaa:-bbb ${foo}         |     error
A|${aaa:-bbb {foo}          |     bbb {foo
A|${:}                      |     error
A|${:-bbb}                  |     error
A|${:+bbb}                  |     error

# Positional parameters won't be set:
# http://pubs.opengroup.org/onlinepubs/009695399/utilities/xcu_chap02.html#tag_02_05_01
A|$1                        |
A|${1}                      |
A|${1:+bbb}                 |
A|${1:-bbb}                 |     bbb
A|$2                        |
A|${2}                      |
A|${2:+bbb}                 |
A|${2:-bbb}                 |     bbb
A|$3                        |
A|${3}                      |
A|${3:+bbb}                 |
A|${3:-bbb}                 |     bbb
A|$4                        |
A|${4}                      |
A|${4:+bbb}                 |
A|${4:-bbb}                 |     bbb
A|$5                        |
A|${5}                      |
A|${5:+bbb}                 |
A|${5:-bbb}                 |     bbb
A|$6                        |
A|${6}                      |
A|${6:+bbb}                 |
A|${6:-bbb}                 |     bbb
A|$7                        |
A|${7}                      |
A|${7:+bbb}                 |
A|${7:-bbb}                 |     bbb
A|$8                        |
A|${8}                      |
A|${8:+bbb}                 |
A|${8:-bbb}                 |     bbb
A|$9                        |
A|${9}                      |
A|${9:+bbb}                 |
A|${9:-bbb}                 |     bbb
A|$999                      |
A|${999}                    |
A|${999:+bbb}               |
A|${999:-bbb}               |     bbb
A|$999aaa                   |     aaa
A|${999}aaa                 |     aaa
A|${999:+bbb}aaa            |     aaa
A|${999:-bbb}aaa            |     bbbaaa
A|$001                      |
A|${001}                    |
A|${001:+bbb}               |
A|${001:-bbb}               |     bbb
A|$001aaa                   |     aaa
A|${001}aaa                 |     aaa
A|${001:+bbb}aaa            |     aaa
A|${001:-bbb}aaa            |     bbbaaa

# Special parameters won't be set in the Dockerfile:
# http://pubs.opengroup.org/onlinepubs/009695399/utilities/xcu_chap02.html#tag_02_05_02
A|$@                        |
A|${@}                      |
A|${@:+bbb}                 |
A|${@:-bbb}                 |     bbb
A|$@@@                      |     @@
A|$@aaa                     |     aaa
A|${@}aaa                   |     aaa
A|${@:+bbb}aaa              |     aaa
A|${@:-bbb}aaa              |     bbbaaa
A|$*                        |
A|${*}                      |
A|${*:+bbb}                 |
A|${*:-bbb}                 |     bbb
A|$#                        |
A|${#}                      |
A|${#:+bbb}                 |
A|${#:-bbb}                 |     bbb
A|$?                        |
A|${?}                      |
A|${?:+bbb}                 |
A|${?:-bbb}                 |     bbb
A|$-                        |
A|${-}                      |
A|${-:+bbb}                 |
A|${-:-bbb}                 |     bbb
A|$$                        |
A|${$}                      |
A|${$:+bbb}                 |
A|${$:-bbb}                 |     bbb
A|$!                        |
A|${!}                      |
A|${!:+bbb}                 |
A|${!:-bbb}                 |     bbb
A|$0                        |
A|${0}                      |
A|${0:+bbb}                 |
A|${0:-bbb}                 |     bbb
)envvar";

TEST(ShellLexTest, UpstreamEnvVarTest) {
  // Upstream's environment for envVarTest.
  const EnvLookup env =
      EnvFromList({"PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="});
  std::istringstream in(kEnvVarTest);
  std::string line;
  int line_number = 0;
  int cases = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.rfind('#', 0) == 0 || Trim(line).empty()) continue;
    const std::vector<std::string> fields = Split(Trim(line), '|');
    ASSERT_EQ(fields.size(), 3u) << "line " << line_number;
    const std::string platform = Trim(fields[0]);
    const std::string source = Trim(fields[1]);
    const std::string expected = Trim(fields[2]);
    ASSERT_TRUE(platform == "A" || platform == "U" || platform == "W");
    if (platform == "W") continue;
    ++cases;
    Result<std::string> got = ProcessWord(source, env);
    if (expected == "error") {
      EXPECT_FALSE(got.ok()) << "line " << line_number << ": " << source
                             << " gave " << got.value_or("");
      if (!got.ok()) {
        EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
      }
    } else {
      ASSERT_TRUE(got.ok()) << "line " << line_number << ": " << source << ": "
                            << got.status().ToString();
      EXPECT_EQ(*got, expected) << "line " << line_number << ": " << source;
    }
  }
  EXPECT_EQ(cases, 222);
}

// wordsTest, from upstream, as a table: ENV lines add to the environment,
// the rest are input | expected words separated by ",". Upstream's file
// depends on trailing spaces, which a table shows explicitly. Its
// `hello" there` case expects an error: an unterminated double quote is
// an error in BuildKit (the legacy moby copy expected "hello there").
struct WordsCase {
  std::string input;  // "ENV k=v" or a word
  std::vector<std::string> expected;
};

const std::vector<WordsCase>& UpstreamWordsTest() {
  static const std::vector<WordsCase> cases = {
      {"hello", {"hello"}},
      {"hello${hi}bye", {"hellobye"}},
      {"ENV hi=hi", {}},
      {"hello${hi}bye", {"hellohibye"}},
      {"ENV space=abc  def", {}},
      {"hello${space}bye", {"helloabc", "defbye"}},
      {R"(hello"${space}"bye)", {"helloabc  defbye"}},
      {R"(hello "${space}"bye)", {"hello", "abc  defbye"}},
      {"ENV leading=  ab c", {}},
      {"hello${leading}def", {"hello", "ab", "cdef"}},
      {R"(hello"${leading}" def)", {"hello  ab c", "def"}},
      {R"(hello"${leading}")", {"hello  ab c"}},
      {"hello${leading}", {"hello", "ab", "c"}},
      {"ENV trailing=ab c   ", {}},
      {"hello${trailing}", {"helloab", "c"}},
      {"hello${trailing}d", {"helloab", "c", "d"}},
      {R"(hello"${trailing}"d)", {"helloab c   d"}},
      {R"(hel"lo${trailing}")", {"helloab c   "}},
      {R"(hello" there  ")", {"hello there  "}},
      {"hello there     ", {"hello", "there"}},
      {R"(hello\ there)", {"hello there"}},
      {R"(hello" there)", {"error"}},
      {R"(hello\" there)", {"hello\"", "there"}},
  };
  return cases;
}

TEST(ShellLexTest, UpstreamWordsTest) {
  std::vector<std::string> env_list;
  int cases = 0;
  for (const WordsCase& c : UpstreamWordsTest()) {
    if (c.input.rfind("ENV ", 0) == 0) {
      env_list.push_back(c.input.substr(4));
      continue;
    }
    ++cases;
    Result<std::vector<std::string>> got =
        ProcessWords(Trim(c.input), EnvFromList(env_list));
    const std::vector<std::string> words =
        got.ok() ? *got : std::vector<std::string>{"error"};
    EXPECT_EQ(words, c.expected) << c.input;
  }
  EXPECT_EQ(cases, 19);
}

}  // namespace
}  // namespace kiln::dockerfile
