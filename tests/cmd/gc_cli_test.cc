// `kiln du` and `kiln prune` through the real binary, and kiln.toml's GC
// policy keeping the cache of 20 `kiln build`s under its size.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "cli_run.h"
#include "kiln/llb/definition.h"
#include "kiln/llb/file.h"
#include "kiln/llb/state.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;
using cli_test::Slurp;

constexpr int64_t kMiB = 1 << 20;

std::string Data(size_t size, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

// st_blocks bytes under `path`, hard links once (0 when missing).
int64_t MeasureBytes(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  int64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
        !seen.insert({st.st_dev, st.st_ino}).second) {
      continue;
    }
    total += int64_t{st.st_blocks} * 512;
  }
  return total;
}

// "Total:  19.92MB" → bytes (decimal units, as printed).
int64_t ParseTotal(const std::string& out) {
  size_t at = out.rfind("Total:");
  if (at == std::string::npos) return -1;
  std::string value = out.substr(at + 6);
  size_t start = value.find_first_not_of(' ');
  char* end = nullptr;
  double number = std::strtod(value.c_str() + start, &end);
  const char* line_end = value.c_str() + value.find('\n');
  std::string unit(static_cast<const char*>(end), line_end);
  double scale = unit == "B"    ? 1
                 : unit == "kB" ? 1e3
                 : unit == "MB" ? 1e6
                 : unit == "GB" ? 1e9
                                : -1;
  return static_cast<int64_t>(number * scale);
}

class GcCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-gc-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    unsetenv("KILN_CONFIG");
    fs::remove_all(dir_);
  }

  CliRun Kiln(const std::string& args, const std::string& input = "") {
    return cli_test::RunKilnIn(
        dir_, "--root " + (dir_ / "root").string() + " " + args, input);
  }
  CliRun Build(const llb::State& state) {
    auto def = state.Marshal();
    EXPECT_TRUE(def.ok()) << def.status().ToString();
    return Kiln("build --llb - --progress plain -o type=local,dest=" +
                    (dir_ / "result").string(),
                llb::SerializeDefinition(*def));
  }
  int64_t MeasuredCache() {
    fs::path root = dir_ / "root";
    return MeasureBytes(root / "snapshots" / "snapshots") +
           MeasureBytes(root / "content" / "blobs") +
           MeasureBytes(root / "solver" / "cachemounts") +
           MeasureBytes(root / "solver" / "locals");
  }

  fs::path dir_;
};

TEST_F(GcCliTest, HelpAndUsageErrors) {
  CliRun r = Kiln("du --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage: kiln du"), std::string::npos);
  EXPECT_NE(r.out.find("--filter FILTER"), std::string::npos);
  r = Kiln("prune --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--keep-storage SIZE"), std::string::npos);
  EXPECT_NE(r.out.find("--max-used-space SIZE"), std::string::npos);
  r = Kiln("prune --keep-storage lots");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--keep-storage: invalid size \"lots\""),
            std::string::npos)
      << r.err;
  r = Kiln("prune --keep-duration soon");
  EXPECT_EQ(r.exit_code, 2);
  r = Kiln("du extra");
  EXPECT_EQ(r.exit_code, 2);
  r = Kiln("du --filter colour==red");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("filter \"colour==red\""), std::string::npos) << r.err;
}

TEST_F(GcCliTest, DuListsTheCacheAndPruneRemovesIt) {
  CliRun r = Build(llb::Scratch()
                       .File(llb::Mkfile("/a", 0644, Data(2 * kMiB, 1)))
                       .File(llb::Mkfile("/b", 0644, "b")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kiln("du");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ID ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("RECLAIMABLE  SIZE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Reclaimable:"), std::string::npos) << r.out;
  EXPECT_GE(ParseTotal(r.out), 2 * kMiB) << r.out;
  EXPECT_NE(r.out.find(" ago\n"), std::string::npos) << r.out;
  r = Kiln("du -v --filter type==regular");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Description:  mkfile /a\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Usage count:  1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Type:         regular\n"), std::string::npos);

  r = Kiln("prune --filter description~=/b$");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("RECLAIMABLE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Total:"), std::string::npos) << r.out;
  EXPECT_LT(ParseTotal(r.out), 100'000) << r.out;
  r = Kiln("prune --all -v");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Description:  mkfile /a\n"), std::string::npos)
      << r.out;
  EXPECT_GE(ParseTotal(r.out), 2 * kMiB) << r.out;
  r = Kiln("du");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Total:        0B\n"), std::string::npos) << r.out;
  r = Kiln("prune");
  EXPECT_EQ(r.out, "Total:  0B\n");
}

TEST_F(GcCliTest, ConfiguredPolicyKeepsTwentyBuildsUnderItsSize) {
  constexpr int64_t kLimit = 20 * kMiB;  // "20MB": buildkitd's binary units
  constexpr int64_t kSlack = 256 << 10;  // directory blocks, overlay work
  fs::path config = dir_ / "kiln.toml";
  std::ofstream(config) << "[worker.oci]\n"
                           "gc = true\n"
                           "[[worker.oci.gcpolicy]]\n"
                           "all = true\n"
                           "maxUsedSpace = \"20MB\"\n";
  setenv("KILN_CONFIG", config.c_str(), 1);
  const std::string base = Data(kMiB, 99);
  for (int i = 0; i < 20; ++i) {
    const std::string data = Data(3 * kMiB, static_cast<uint32_t>(i));
    CliRun r = Build(llb::Scratch()
                         .File(llb::Mkfile("/base", 0644, base))
                         .File(llb::Mkfile("/data", 0644, data)));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Slurp(dir_ / "result" / "data"), data) << "build " << i;
    EXPECT_LE(MeasuredCache(), kLimit + kSlack) << "after build " << i;
    r = Kiln("du");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_LE(ParseTotal(r.out), kLimit + 10'000) << r.out;
  }
  // The policy did prune: 20 builds made 61MiB.
  CliRun r = Kiln("du --filter description==mkfile\\ /data");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(ParseTotal(r.out), 15 * kMiB) << r.out;
  // A bad config is an error naming the key.
  std::ofstream(config) << "[worker.oci]\nmaxUsedSpace = \"huge\"\n";
  r = Kiln("du");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("maxUsedSpace: invalid size"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace kiln
