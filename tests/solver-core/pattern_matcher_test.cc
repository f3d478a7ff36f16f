// Table tests for PatternMatcher, from the behaviour of moby/patternmatcher
// (and the Go filepath.Match cases it carries).
#include "kiln/solver/pattern_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kiln::solver {
namespace {

PatternMatcher Make(const std::vector<std::string>& patterns) {
  auto m = PatternMatcher::Create(patterns);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : PatternMatcher();
}

enum Want { kFail, kExact, kInexact };  // inexact: only via a parent

struct Case {
  const char* pattern;
  const char* text;
  Want want;
};

TEST(PatternMatcherTest, SinglePatternTable) {
  const Case cases[] = {
      {"**", "file", kExact},
      {"**/", "file", kExact},
      {"**", "dir/file", kExact},
      {"**/", "dir/file", kExact},
      {"**/**", "dir/file", kExact},
      {"dir/**", "dir/file", kExact},
      {"dir/**", "dir/dir2/file", kExact},
      {"**/dir", "dir", kExact},
      {"**/dir", "dir/file", kInexact},
      {"**/dir2/*", "dir/dir2/file", kExact},
      {"**/dir2/**", "dir/dir2/dir3/file", kExact},
      {"**file", "file", kExact},
      {"**file", "dir/file", kExact},
      {"**/file", "dir/file", kExact},
      {"**file", "dir/dir/file", kExact},
      {"**/file", "dir/dir/file", kExact},
      {"**/file*", "dir/dir/file", kExact},
      {"**/file*", "dir/dir/file.txt", kExact},
      {"**/file*txt", "dir/dir/file.txt", kExact},
      {"**/file*.txt", "dir/dir/file.txt", kExact},
      {"**/file*.txt*", "dir/dir/file.txt", kExact},
      {"**/**/*.txt", "dir/dir/file.txt", kExact},
      {"**/**/*.txt2", "dir/dir/file.txt", kFail},
      {"**/*.txt", "file.txt", kExact},
      {"**/**/*.txt", "file.txt", kExact},
      {"a**/*.txt", "a/file.txt", kExact},
      {"a**/*.txt", "a/dir/file.txt", kExact},
      {"a**/*.txt", "a/dir/dir/file.txt", kExact},
      {"a/*.txt", "a/dir/file.txt", kFail},
      {"a/*.txt", "a/file.txt", kExact},
      {"a/*.txt**", "a/file.txt", kExact},
      {"a[b-d]e", "ae", kFail},
      {"a[b-d]e", "ace", kExact},
      {"a[b-d]e", "aae", kFail},
      {"a[^b-d]e", "aze", kExact},
      {".*", ".foo", kExact},
      {".*", "foo", kFail},
      {"abc.def", "abcdef", kFail},
      {"abc.def", "abc.def", kExact},
      {"abc.def", "abcZdef", kFail},
      {"abc?def", "abcZdef", kExact},
      {"abc?def", "abcdef", kFail},
      {"**/foo/bar", "foo/bar", kExact},
      {"**/foo/bar", "dir/foo/bar", kExact},
      {"**/foo/bar", "dir/dir2/foo/bar", kExact},
      {"abc/**", "abc", kFail},
      {"abc/**", "abc/def", kExact},
      {"abc/**", "abc/def/ghi", kExact},
      {"**/.foo", ".foo", kExact},
      {"**/.foo", "bar.foo", kFail},
      {"a(b)c/def", "a(b)c/def", kExact},
      {"a(b)c/def", "a(b)c/xyz", kFail},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", kExact},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
       kExact},
      {"a\\\\", "a\\", kExact},
      {"a\\*b", "a*b", kExact},
      {"a\\*b", "ab", kFail},
      // Leading "/" and "./" are cleaned, as are "." and ".." inside.
      {"/docs", "docs", kExact},
      {"./docs/x", "docs/x", kExact},
      {"docs/./a/../b", "docs/b", kExact},
      {"docs/", "docs/README.md", kInexact},
      // A directory pattern matches everything below it.
      {"docs", "docs/a/b/c", kInexact},
      {"docs/*", "docs/a/b", kInexact},
      {"doc", "docs/a", kFail},
  };
  for (const auto& c : cases) {
    PatternMatcher m = Make({c.pattern});
    EXPECT_EQ(m.MatchesExact(c.text), c.want == kExact)
        << "exact: pattern=" << c.pattern << " text=" << c.text;
    EXPECT_EQ(m.Matches(c.text), c.want != kFail)
        << "or-parent: pattern=" << c.pattern << " text=" << c.text;
  }
}

// Go's filepath.Match cases (matched with parent matching, as
// patternmatcher's Matches does).
TEST(PatternMatcherTest, FilepathMatchTable) {
  struct M {
    const char* pattern;
    const char* text;
    bool match;
  };
  const M cases[] = {
      {"abc", "abc", true},
      {"*", "abc", true},
      {"*c", "abc", true},
      {"a*", "a", true},
      {"a*", "abc", true},
      {"a*", "ab/c", true},
      {"a*/b", "abc/b", true},
      {"a*/b", "a/c/b", false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true},
      {"a*b?c*x", "abxbbxdbxebxczzy", false},
      {"ab[c]", "abc", true},
      {"ab[b-d]", "abc", true},
      {"ab[e-g]", "abc", false},
      {"ab[^c]", "abc", false},
      {"ab[^b-d]", "abc", false},
      {"ab[^e-g]", "abc", true},
      {"a?b",
       "a\u263a"
       "b",
       true},
      {"a[^a]b",
       "a\u263a"
       "b",
       true},
      {"a???b",
       "a\u263a"
       "b",
       false},
      {"a[^a][^a][^a]b",
       "a\u263a"
       "b",
       false},
      {"[a-\u03b6]*", "\u03b1", true},
      {"*[a-\u03b6]", "A", false},
      {"a?b", "a/b", false},
      {"a*b", "a/b", false},
      {"[\\]a]", "]", true},
      {"[\\-]", "-", true},
      {"[x\\-]", "x", true},
      {"[x\\-]", "-", true},
      {"[x\\-]", "z", false},
      {"[\\-x]", "x", true},
      {"[\\-x]", "-", true},
      {"[\\-x]", "a", false},
      {"*x", "xxx", true},
  };
  for (const auto& c : cases) {
    PatternMatcher m = Make({c.pattern});
    EXPECT_EQ(m.Matches(c.text), c.match)
        << "pattern=" << c.pattern << " text=" << c.text;
  }
}

TEST(PatternMatcherTest, BadPatternsAreInvalidArgument) {
  for (const char* p : {"[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[",
                        "[^", "[^bc", "a[", "!", "  !  ", "[z-a]"}) {
    auto m = PatternMatcher::Create({p});
    ASSERT_FALSE(m.ok()) << p;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << p;
  }
}

TEST(PatternMatcherTest, ExceptionsAndOrder) {
  struct Multi {
    std::vector<std::string> patterns;
    const char* text;
    bool match;
  };
  const Multi cases[] = {
      {{"**", "!util/docker/web"}, "util/docker/web/foo", false},
      {{"**", "!util/docker/web", "util/docker/web/foo"},
       "util/docker/web/foo",
       true},
      {{"**", "!dist/*.whl"}, "dist/proxy.py-2-py3-none-any.whl", false},
      {{"*.go", "!fileutils.go"}, "fileutils.go", false},
      {{"!fileutils.go", "*.go"}, "fileutils.go", true},
      {{"docs", "!docs/README.md"}, "docs/README.md", false},
      {{"docs/", "!docs/README.md"}, "docs/README.md", false},
      {{"docs/*", "!docs/README.md"}, "docs/README.md", false},
      {{"docs", "!docs/README.md"}, "docs/other.md", true},
      {{"docs", "!docs/keep"}, "docs/keep/deep/file", false},
      {{"docs", "!docs/keep", "docs/keep/deep"}, "docs/keep/deep/file", true},
      {{"*", "!*.md", "README*"}, "README.md", true},
      {{"  docs  ", "  !docs/a  "}, "docs/a", false},
  };
  for (const auto& c : cases) {
    PatternMatcher m = Make(c.patterns);
    EXPECT_EQ(m.Matches(c.text), c.match) << c.text;
  }
}

TEST(PatternMatcherTest, CleanedPatternsAndFlags) {
  PatternMatcher m = Make({"docs", "", "  ", "!./docs/README.md  ", "/a/b/"});
  EXPECT_EQ(m.Patterns(),
            (std::vector<std::string>{"docs", "!docs/README.md", "a/b"}));
  EXPECT_TRUE(m.HasExceptions());
  EXPECT_FALSE(Make({"docs", "config"}).HasExceptions());
  EXPECT_TRUE(Make({}).empty());
  EXPECT_FALSE(Make({}).Matches("anything"));
  EXPECT_FALSE(Make({"*.go"}).Matches("."));
  EXPECT_FALSE(Make({"**"}).Matches(""));
}

TEST(PatternMatcherTest, WalkPruning) {
  // Excluded directory whose child an exception re-includes must be walked.
  PatternMatcher ex = Make({"docs", "!docs/keep/*.md", "build"});
  EXPECT_TRUE(ex.Matches("docs"));
  EXPECT_TRUE(ex.ExceptionMayMatchBelow("docs"));
  EXPECT_TRUE(ex.ExceptionMayMatchBelow("docs/keep"));
  EXPECT_FALSE(ex.ExceptionMayMatchBelow("docs/other"));
  EXPECT_FALSE(ex.ExceptionMayMatchBelow("build"));
  EXPECT_FALSE(ex.Matches("docs/keep/a.md"));
  EXPECT_TRUE(ex.Matches("docs/keep/a.txt"));
  EXPECT_FALSE(Make({"docs"}).ExceptionMayMatchBelow("docs"));
  // Wildcards in exceptions.
  PatternMatcher wild = Make({"*", "!*/src/**"});
  EXPECT_TRUE(wild.ExceptionMayMatchBelow("pkg"));
  EXPECT_TRUE(wild.ExceptionMayMatchBelow("pkg/src"));
  EXPECT_FALSE(wild.ExceptionMayMatchBelow("pkg/doc"));
  EXPECT_TRUE(Make({"x", "!**/keep"}).ExceptionMayMatchBelow("x/y/z"));

  // Include patterns: which directories can hold something included.
  PatternMatcher inc = Make({"src/*.c", "docs/**/*.md", "top"});
  EXPECT_TRUE(inc.MayMatchBelow("."));
  EXPECT_TRUE(inc.MayMatchBelow("src"));
  EXPECT_FALSE(inc.MayMatchBelow("src/sub"));
  EXPECT_TRUE(inc.MayMatchBelow("docs/a/b"));
  EXPECT_FALSE(inc.MayMatchBelow("other"));
  EXPECT_FALSE(inc.MayMatchBelow("top"));  // "top" itself Matches()
  EXPECT_TRUE(inc.Matches("top/x"));
  EXPECT_TRUE(inc.Matches("src/a.c"));
  EXPECT_FALSE(inc.Matches("src/sub/a.c"));
}

}  // namespace
}  // namespace kiln::solver
