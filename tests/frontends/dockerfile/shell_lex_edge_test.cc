// More tests of kiln/dockerfile/shell_lex.h: the cases of BuildKit's
// frontend/dockerfile/shell/lex_test.go (Apache-2.0, moby/buildkit) that
// live in Go code rather than data files, our own edge cases, a randomized
// robustness test, and ExpandsVariables.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kiln/dockerfile/instruction_expansion.h"
#include "kiln/dockerfile/shell_lex.h"

namespace kiln::dockerfile {
namespace {

using Names = std::set<std::string>;

EnvLookup FromMap(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct MatchCase {
  std::string input;
  std::map<std::string, std::string> env;
  std::string expected;  // "<error>" for an error
  Names matched;
  Names unmatched;
};

// lex_test.go TestProcessWithMatches, in order.
const std::vector<MatchCase>& UpstreamMatchCases() {
  const std::map<std::string, std::string> fb = {{"FOO", "xxx"}, {"BAR", ""}};
  static const std::vector<MatchCase> cases = {
      {"x", {{"DUMMY", "dummy"}}, "x", {}, {}},
      {"x ${UNUSED}", {{"DUMMY", "dummy"}}, "x ", {}, {"UNUSED"}},
      {"x ${FOO}", {{"FOO", "y"}}, "x y", {"FOO"}, {}},
      {"${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
       fb,
       "xxx  ccc",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
       fb,
       "xxx bbb ccc",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO:-}", fb, "xxx", {"FOO"}, {}},
      {"${FOO:-}", {}, "", {}, {"FOO"}},
      {"${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
       fb,
       "aaa bbb ",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
       fb,
       "aaa  ",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO?aaa}", fb, "xxx", {"FOO"}, {}},
      {"${BAR?bbb}", fb, "", {"BAR"}, {}},
      {"${BAZ?ccc}", fb, "<error>", {}, {}},
      {"${FOO:?aaa}", fb, "xxx", {"FOO"}, {}},
      {"${BAR:?bbb}", fb, "<error>", {}, {}},
      {"${BAZ:?ccc}", fb, "<error>", {}, {}},
      {"${BAZ:?}", fb, "<error>", {}, {}},
      {"${FOO=aaa}", fb, "<error>", {}, {}},
      {"${FOO=:aaa}", fb, "<error>", {}, {}},
      {"${FOO=}", {}, "<error>", {}, {}},
      // Regex special characters are literal; `\}` escapes the brace.
      {R"(${FOO#()[]{\}^$.\*\?|\\})",
       {{"FOO", R"(()[]{}^$.*?|\x)"}},
       "x",
       {"FOO"},
       {}},
      {R"(${FOO%%\**})", {{"FOO", "xx**"}}, "xx", {"FOO"}, {}},
      {"${FOO#*x*y}", {{"FOO", "xxyy"}}, "y", {"FOO"}, {}},
      {"${FOO#*}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO#$BAR}",
       {{"FOO", "xxyy"}, {"BAR", "x"}},
       "xyy",
       {"FOO", "BAR"},
       {}},
      {"${FOO#$BAR}",
       {{"FOO", "xxyy"}, {"BAR", ""}},
       "xxyy",
       {"FOO", "BAR"},
       {}},
      {"${FOO#}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO##*x}", {{"FOO", "xxyy"}}, "yy", {"FOO"}, {}},
      {"${FOO##}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {R"(${FOO#?\?})", {{"FOO", "???y"}}, "?y", {"FOO"}, {}},
      {"${ABC:-.}${FOO%x}${ABC:-.}",
       {{"FOO", "xxyy"}},
       ".xxyy.",
       {"FOO"},
       {"ABC"}},
      {R"(${FOO%%\**\*})", {{"FOO", "a***yy*"}}, "a", {"FOO"}, {}},
      {"${FOO%}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO%%$BAR}",
       {{"FOO", "xxyy"}, {"BAR", ""}},
       "xxyy",
       {"FOO", "BAR"},
       {}},
      {"${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
       {{"FOO", "/foo*/*/*.txt"}, {"NEEDLE", R"(\*/)"}},
       "/foo.*/*.txt - /foo..*.txt",
       {"FOO", "NEEDLE"},
       {}},
      {"${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
       {{"FOO", "/tmp/tmp/bar.txt"}, {"NEEDLE", "/tmp"}},
       "/tmp/bar.txt - /bar.txt",
       {"FOO", "NEEDLE"},
       {}},
      {"${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
       {{"FOO", "/a/foo/b/c.txt"}, {"NEEDLE", "/?/"}, {"REPLACEMENT", "/"}},
       "/foo/b/c.txt - /foo/c.txt",
       {"FOO", "NEEDLE", "REPLACEMENT"},
       {}},
      {"${FOO/$NEEDLE/$REPLACEMENT}",
       {{"FOO", "http://google.de"},
        {"NEEDLE", "http://"},
        {"REPLACEMENT", "https://"}},
       "https://google.de",
       {"FOO", "NEEDLE", "REPLACEMENT"},
       {}},
      {R"(${FOO//\//\/})",
       {{"FOO", "/tmp/foo.txt"}},
       R"(\/tmp\/foo.txt)",
       {"FOO"},
       {}},
      {"${FOO/$BAR/ww}",
       {{"FOO", "xxyy"}, {"BAR", ""}},
       "wwxxyy",
       {"FOO", "BAR"},
       {}},
      {"${FOO//ww}", {{"FOO", "xxyy"}}, "<error>", {}, {}},
      {"${FOO//}", {{"FOO", "xxyy"}}, "<error>", {}, {}},
      {"${FOO///}", {{"FOO", "xxyy"}}, "xxyy", {"FOO"}, {}},
      {"${FOO///}", {}, "", {}, {"FOO"}},
  };
  return cases;
}

TEST(ShellLexEdgeTest, UpstreamProcessWithMatches) {
  for (const MatchCase& c : UpstreamMatchCases()) {
    Result<ExpandResult> got = ProcessWordWithMatches(c.input, FromMap(c.env));
    if (c.expected == "<error>") {
      EXPECT_FALSE(got.ok()) << c.input;
      continue;
    }
    ASSERT_TRUE(got.ok()) << c.input << ": " << got.status().ToString();
    EXPECT_EQ(got->result, c.expected) << c.input;
    EXPECT_EQ(got->matched, c.matched) << c.input;
    EXPECT_EQ(got->unmatched, c.unmatched) << c.input;
  }
  EXPECT_EQ(UpstreamMatchCases().size(), 43u);
}

// lex_test.go TestShellParserMandatoryEnvVars.
TEST(ShellLexEdgeTest, UpstreamMandatoryEnvVars) {
  const EnvLookup set = EnvFromList({"VAR=plain", "ARG=x"});
  const EnvLookup empty = EnvFromList({"VAR=", "ARG=x"});
  const EnvLookup unset = EnvFromList({"ARG=x"});
  const std::string no_empty = "${VAR:?message here$ARG}";
  const std::string no_unset = "${VAR?message here$ARG}";
  EXPECT_EQ(ProcessWord(no_empty, set).value_or("?"), "plain");
  for (const EnvLookup* env : {&empty, &unset}) {
    Result<std::string> got = ProcessWord(no_empty, *env);
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("VAR: message herex"),
              std::string::npos)
        << got.status().message();
  }
  EXPECT_EQ(ProcessWord(no_unset, set).value_or("?"), "plain");
  EXPECT_EQ(ProcessWord(no_unset, empty).value_or("?"), "");
  Result<std::string> got = ProcessWord(no_unset, unset);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("message herex"), std::string::npos);
}

// lex_test.go TestProcessWithMatchesPlatform.
TEST(ShellLexEdgeTest, UpstreamPlatformFilename) {
  const std::string release =
      "something-${VERSION}.${TARGETOS}-${TARGETARCH}"
      "${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
  std::map<std::string, std::string> env = {{"VERSION", "v1.2.3"},
                                            {"TARGETOS", "linux"},
                                            {"TARGETARCH", "arm"},
                                            {"TARGETVARIANT", "v7"}};
  EXPECT_EQ(ProcessWord(release, FromMap(env)).value_or("?"),
            "something-v1.2.3.linux-arm-v7.tar.gz");
  env["TARGETARCH"] = "arm64";
  env["TARGETVARIANT"] = "";
  EXPECT_EQ(ProcessWord(release, FromMap(env)).value_or("?"),
            "something-v1.2.3.linux-arm64.tar.gz");
  env.erase("TARGETVARIANT");
  EXPECT_EQ(ProcessWord(release, FromMap(env)).value_or("?"),
            "something-v1.2.3.linux-arm64.tar.gz");
}

// lex_test.go TestGetEnv, through EnvFromList.
TEST(ShellLexEdgeTest, EnvFromListLastWins) {
  EXPECT_EQ(ProcessWord("[$foo]", EnvFromList({})).value_or("?"), "[]");
  EXPECT_EQ(ProcessWord("${foo+set}", EnvFromList({"foo"})).value_or("?"),
            "set");
  EXPECT_EQ(ProcessWord("${foo+set}", EnvFromList({"foo="})).value_or("?"),
            "set");
  EXPECT_EQ(
      ProcessWord("$foo $car", EnvFromList({"foo=bar", "car=hat", "car=bike"}))
          .value_or("?"),
      "bar bike");
}

struct EdgeCase {
  std::string input;
  std::string expected;  // for errors: a substring of the message
  bool error = false;
};

TEST(ShellLexEdgeTest, OwnCases) {
  const EnvLookup env = FromMap({{"PWD", "/home"},
                                 {"NULL", ""},
                                 {"P", "/usr/local/bin"},
                                 {"O", "foo boo"},
                                 {"R", "[$0]"},
                                 {"K", "한국어"},
                                 {"NL", "a\nb"},
                                 {"B", "[ab]c"}});
  const std::vector<EdgeCase> cases = {
      {"$", "$"},
      {"a$", "a$"},
      {"${NULL:-x}", "x"},
      {"${NULL-x}", ""},
      {"${NULL:+x}", ""},
      {"${NULL+x}", "x"},
      {"${NULL?}", ""},
      {"${NULL:?}", "NULL: is not allowed to be empty", true},
      {"${UNSET?}", "UNSET: is not allowed to be unset", true},
      {"${UNSET:?custom $PWD}", "UNSET: custom /home", true},
      {"${P#*/}", "usr/local/bin"},
      {"${P##*/}", "bin"},
      {"${P%/*}", "/usr/local"},
      {"${P%%/*}", ""},
      {"${P%%l*}", "/usr/"},
      {"${P#/usr}", "/local/bin"},
      {"${P#nomatch}", "/usr/local/bin"},
      {"${O/o/0}", "f0o boo"},
      {"${O//o/0}", "f00 b00"},
      {"${O//o*/X}", "fX"},
      {"${O/?/X}", "Xoo boo"},
      // `//` expands Go template references in the replacement, `/` not.
      {"${O//o/$R}", "f[o][o] b[o][o]"},
      {"${O/o/$R}", "f[$0]o boo"},
      {"${O//x/y}", "foo boo"},
      {"${UNSET//x/y}", ""},
      {"${B#[ab]}", "c"},
      {"${K#한}", "국어"},
      {"${K%?}", "한국"},
      {"${K//국/-}", "한-어"},
      {"${NL#*b}", "a\nb"},  // `*` does not cross a newline
      {"${NL#?}", "\nb"},
      {"${PWD:#x}", "unsupported modifier (:#) in substitution", true},
      {"${PWD:%x}", "unsupported modifier (:%) in substitution", true},
      {"${PWD:x}", "unsupported modifier (:x) in substitution", true},
      {"${PWD=x}", "unsupported modifier (=) in substitution", true},
      {"${PWD", "syntax error: missing '}'", true},
      {"${PWD:-x", "syntax error: missing '}'", true},
      {"${", "syntax error: missing '}'", true},
      {"${}", "syntax error: bad substitution", true},
      {"${PWD/x", "syntax error: missing '/' in ${}", true},
      {"${PWD#\\x}", "invalid pattern", true},
      {"'abc", "matching single-quote", true},
      {"\"abc", "matching double-quote", true},
      {"${PWD:-'x}", "syntax error: missing '}'", true},
      {"${PWD:-'}'}", "/home"},
      {"${UNSET:-'}'}", "}"},
      {"${UNSET:-\"a b\"}", "a b"},
  };
  for (const EdgeCase& c : cases) {
    Result<std::string> got = ProcessWord(c.input, env);
    if (c.error) {
      ASSERT_FALSE(got.ok()) << c.input << " gave " << got.value_or("");
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(got.status().message().find(c.expected), std::string::npos)
          << c.input << ": " << got.status().message();
      EXPECT_EQ(got.status().message().rfind("failed to process \"", 0), 0u)
          << got.status().message();
    } else {
      ASSERT_TRUE(got.ok()) << c.input << ": " << got.status().ToString();
      EXPECT_EQ(*got, c.expected) << c.input;
    }
  }
}

TEST(ShellLexEdgeTest, BacktickEscape) {
  const EnvLookup env = EnvFromList({"PWD=/home"});
  const LexOptions tick{.escape = '`'};
  EXPECT_EQ(ProcessWord("he`$PWD", env, tick).value_or("?"), "he$PWD");
  EXPECT_EQ(ProcessWord(R"(C:\dir\$PWD)", env, tick).value_or("?"),
            R"(C:\dir\/home)");
  EXPECT_EQ(ProcessWord("\"a`\"b\"", env, tick).value_or("?"), "a\"b");
  EXPECT_EQ(ProcessWord("a` b", env, tick).value_or("?"), "a b");
  EXPECT_EQ(ProcessWord("end`", env, tick).value_or("?"), "end");
}

TEST(ShellLexEdgeTest, Options) {
  const EnvLookup env = EnvFromList({"PWD=/home", "E="});
  const LexOptions skip{.skip_unset_env = true};
  EXPECT_EQ(ProcessWord("$X ${X} ${X:-a} ${X/a/b} ${PWD} ${E:-d}", env, skip)
                .value_or("?"),
            "$X ${X} ${X:-a} ${X/a/b} /home d");
  const LexOptions raw_quotes{.raw_quotes = true};
  EXPECT_EQ(ProcessWord(R"('a b' "c$PWD")", env, raw_quotes).value_or("?"),
            R"('a b' "c/home")");
  const LexOptions raw_escapes{.raw_escapes = true};
  EXPECT_EQ(ProcessWord(R"(a\ b\$PWD)", env, raw_escapes).value_or("?"),
            R"(a\ b\$PWD)");
  const LexOptions no_quotes{.skip_process_quotes = true};
  EXPECT_EQ(ProcessWord("'$PWD' \"x", env, no_quotes).value_or("?"),
            "'/home' \"x");
}

TEST(ShellLexEdgeTest, WordsAndMatches) {
  const EnvLookup env = EnvFromList({"A=a b", "E="});
  Result<ExpandResult> got =
      ProcessWordWithMatches(R"(x${A}y "$A" ${Z:-z} "" '')", env);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->result, "xa by a b z  ");
  EXPECT_EQ(got->words, (std::vector<std::string>{"xa", "by", "a b", "z"}));
  EXPECT_EQ(got->matched, Names{"A"});
  EXPECT_EQ(got->unmatched, Names{"Z"});
  // A modifier's word is part of the enclosing word.
  EXPECT_EQ(ProcessWords("hello${x:-y}", env).value_or({}),
            std::vector<std::string>{"helloy"});
}

TEST(ShellLexEdgeTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "${a:-";
  Result<std::string> got = ProcessWord(deep, EnvFromList({}));
  EXPECT_FALSE(got.ok());
  std::string quoted;
  for (int i = 0; i < 50000; ++i) quoted += "\"${a:-";
  EXPECT_FALSE(ProcessWord(quoted, EnvFromList({})).ok());
}

TEST(ShellLexEdgeTest, PathologicalPatternIsFast) {
  const auto start = std::chrono::steady_clock::now();
  const EnvLookup env = EnvFromList({"V=" + std::string(3000, 'a')});
  EXPECT_EQ(ProcessWord("${V##*a*a*a*a*a*a*b}", env).value_or("?").size(),
            3000u);
  EXPECT_EQ(ProcessWord("${V%%a*a*a*a*a*a*b}", env).value_or("?").size(),
            3000u);
  EXPECT_EQ(ProcessWord("${V//a*b/x}", env).value_or("?").size(), 3000u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ShellLexEdgeTest, RandomInputsNeverCrash) {
  const std::string alphabet = "${}:-+?#%/'\"\\ab";
  const EnvLookup env = EnvFromList({"a=ab", "b=", "ab=a*b"});
  std::mt19937 rng(20261126);
  std::uniform_int_distribution<int> length(0, 24);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  int ok = 0;
  int errors = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string word;
    for (int n = length(rng); n > 0; --n) word.push_back(alphabet[pick(rng)]);
    LexOptions options;
    options.escape = (i % 3 == 0) ? '`' : '\\';
    options.skip_unset_env = (i % 5 == 0);
    options.raw_escapes = (i % 7 == 0);
    Result<ExpandResult> got = ProcessWordWithMatches(word, env, options);
    if (got.ok()) {
      ++ok;
    } else {
      ++errors;
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument) << word;
      EXPECT_FALSE(got.status().message().empty());
    }
  }
  EXPECT_EQ(ok + errors, 10000);
  EXPECT_GT(ok, 0);
  EXPECT_GT(errors, 0);
}

TEST(InstructionExpansionTest, UpstreamList) {
  for (const char* name :
       {"ADD", "ARG", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL",
        "USER", "VOLUME", "WORKDIR", "copy", "Workdir"}) {
    EXPECT_TRUE(ExpandsVariables(name)) << name;
  }
  for (const char* name : {"RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK", "SHELL",
                           "ONBUILD", "MAINTAINER", "", "COPYX", "ENVIRON"}) {
    EXPECT_FALSE(ExpandsVariables(name)) << name;
  }
}

}  // namespace
}  // namespace kiln::dockerfile
