// dump-llb's decode → validate → dump path on corrupted input: every mutation
// of a valid Definition either loads and dumps, or is rejected with an
// InvalidArgument error. Never a crash (run under the asserts build).
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "kiln/llb/definition.h"
#include "kiln/llb/dump.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"

namespace kiln::llb {
namespace {

std::string Sample() {
  RunOptions run{.args = {"/bin/sh", "-c", "make > /out/log"}};
  run.mounts.push_back(Mount::Cache("/cache", "c"));
  run.mounts.push_back(Mount::Bind("/out", Scratch()));
  run.secrets.push_back({.id = "s", .dest = "/run/secrets/s"});
  State s = Image("busybox").Run(run).Root().File(
      Mkdir("/a", 0755).Copy(Local("context"), "x", "/a/"), {.custom_name = "copy <x>"});
  auto def = Merge({s, Git("https://example.com/r.git", "main")}).Marshal();
  EXPECT_TRUE(def.ok());
  return SerializeDefinition(*def);
}

// Returns true when the bytes were accepted.
bool LoadAndDump(const std::string& bytes) {
  auto def = ParseDefinition(bytes);
  if (!def.ok()) {
    EXPECT_EQ(def.status().code(), StatusCode::kInvalidArgument);
    return false;
  }
  auto loaded = LoadDefinition(*def);
  if (!loaded.ok()) {
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(loaded.status().message().empty());
    return false;
  }
  EXPECT_FALSE(DumpJsonLines(*loaded).empty());
  EXPECT_FALSE(DumpDot(*loaded).empty());
  return true;
}

TEST(DumpLlbRobustness, EveryTruncationIsHandled) {
  const std::string bytes = Sample();
  ASSERT_TRUE(LoadAndDump(bytes));
  int rejected = 0;
  for (size_t n = 0; n < bytes.size(); ++n) rejected += LoadAndDump(bytes.substr(0, n)) ? 0 : 1;
  // A prefix that ends on a field boundary can be a valid, smaller
  // Definition only if it still ends with a terminal op; nearly all are not.
  EXPECT_GT(rejected, static_cast<int>(bytes.size()) * 9 / 10);
}

TEST(DumpLlbRobustness, RandomByteFlipsAreHandled) {
  const std::string bytes = Sample();
  std::mt19937 rng(20261124);  // fixed: the test is reproducible
  std::uniform_int_distribution<size_t> pos(0, bytes.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 3000; ++i) {
    std::string mutated = bytes;
    for (int k = 0; k < 1 + i % 4; ++k) mutated[pos(rng)] = static_cast<char>(byte(rng));
    LoadAndDump(mutated);
  }
}

TEST(DumpLlbRobustness, RandomOpBytesInsideAValidDefinition) {
  auto def = ParseDefinition(Sample());
  ASSERT_TRUE(def.ok());
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    pb::Definition d = *def;
    int which = static_cast<int>(rng() % static_cast<unsigned>(d.def_size()));
    std::string op = d.def(which);
    if (!op.empty()) op[rng() % op.size()] ^= static_cast<char>(1 + rng() % 255);
    d.set_def(which, op);
    LoadAndDump(SerializeDefinition(d));
  }
}

}  // namespace
}  // namespace kiln::llb
