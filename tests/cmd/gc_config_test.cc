// kiln.toml's GC settings (gc_config.h) and du/prune output
// (usage_print.h).
#include "gc_config.h"

#include <gtest/gtest.h>

#include <string>

#include "usage_print.h"

namespace kiln::cli {
namespace {

constexpr int64_t kDisk = int64_t{1000} << 30;  // a 1000GiB disk
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kHour = int64_t{3600} * 1'000'000'000;

Result<std::vector<solver::PruneOptions>> Parse(const std::string& text) {
  return ParseGcConfig(text, "kiln.toml", kDisk);
}

TEST(ParseByteSizeTest, UnitsPercentagesAndErrors) {
  EXPECT_EQ(*ParseByteSize("1048576", kDisk), 1048576);
  EXPECT_EQ(*ParseByteSize("512MB", kDisk), 512LL << 20);
  EXPECT_EQ(*ParseByteSize("10GB", kDisk), 10 * kGiB);
  EXPECT_EQ(*ParseByteSize("10gib", kDisk), 10 * kGiB);
  EXPECT_EQ(*ParseByteSize("1.5k", kDisk), 1536);
  EXPECT_EQ(*ParseByteSize("20 MB", kDisk), 20LL << 20);
  EXPECT_EQ(*ParseByteSize("10%", kDisk), kDisk / 10);
  for (const char* bad : {"", "ten", "10XB", "-5", "150%", "%", "1.2.3MB"}) {
    auto r = ParseByteSize(bad, kDisk);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("invalid size"), std::string::npos);
  }
}

TEST(GcConfigTest, DefaultsLikeBuildkitd) {
  for (const char* text : {"", "[registry]\n", "[worker.oci]\ngc = true\n"}) {
    auto policies = Parse(text);
    ASSERT_TRUE(policies.ok()) << policies.status().ToString();
    ASSERT_EQ(policies->size(), 4u) << text;
    const auto& p = *policies;
    EXPECT_EQ(p[0].keep_duration_ns, 48 * kHour);
    EXPECT_EQ(p[0].max_used_space, 512'000'000);
    ASSERT_EQ(p[0].filters.size(), 1u);
    EXPECT_TRUE(solver::CheckGcFilters(p[0].filters).ok());
    EXPECT_EQ(p[1].keep_duration_ns, 60 * 24 * kHour);
    // 10% of 1000GiB capped at 10GiB, 80% capped at 100GiB, 20% free.
    EXPECT_EQ(p[2].reserved_space, 10 * kGiB);
    EXPECT_EQ(p[2].max_used_space, 100 * kGiB);
    EXPECT_EQ(p[2].min_free_space, kDisk / 5);
    EXPECT_FALSE(p[2].all);
    EXPECT_TRUE(p[3].all);
  }
}

TEST(GcConfigTest, BuildkitdsOtherWorkerKeys) {
  auto policies = Parse(
      "[worker.oci]\nmax-parallelism = 4\nenabled = true\n"
      "gckeepstorage = \"2GB\"\n");
  ASSERT_TRUE(policies.ok()) << policies.status().ToString();
  ASSERT_EQ(policies->size(), 4u);
  EXPECT_EQ((*policies)[2].reserved_space, 2 * kGiB);
  // What kiln does not do is refused, never silently ignored.
  auto platforms = Parse("[worker.oci]\nplatforms = [\"linux/arm64\"]\n");
  ASSERT_FALSE(platforms.ok());
  EXPECT_NE(platforms.status().message().find(
                "[worker.oci] platforms is not supported by kiln"),
            std::string::npos)
      << platforms.status().ToString();
  EXPECT_FALSE(Parse("[worker.oci]\nenabled = false\n").ok());
}

TEST(GcConfigTest, GcOffAndKeepStorage) {
  auto off = Parse("[worker.oci]\ngc = false\ngckeepstorage = \"1GB\"\n");
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->empty());
  auto keep = Parse("[worker.oci]\ngckeepstorage = 5000000\n");
  ASSERT_TRUE(keep.ok()) << keep.status().ToString();
  ASSERT_EQ(keep->size(), 4u);
  EXPECT_EQ((*keep)[3].reserved_space, 5000000);
  EXPECT_EQ((*keep)[3].max_used_space, 0);
}

TEST(GcConfigTest, PolicyEntriesReplaceTheDefaults) {
  auto policies = Parse(R"(
[worker.oci]
  gc = true
  [[worker.oci.gcpolicy]]
    keepBytes = "512MB"
    keepDuration = 172800
    filters = ["type==source.local", "type==exec.cachemount"]
  [[worker.oci.gcpolicy]]
    all = true
    keepDuration = "1h30m"
    reservedSpace = "10%"
    maxUsedSpace = "20MB"
    minFreeSpace = 1073741824
)");
  ASSERT_TRUE(policies.ok()) << policies.status().ToString();
  ASSERT_EQ(policies->size(), 2u);
  const auto& p = *policies;
  EXPECT_EQ(p[0].reserved_space, 512LL << 20);
  EXPECT_EQ(p[0].keep_duration_ns, 48 * kHour);
  EXPECT_EQ(p[0].filters.size(), 2u);
  EXPECT_FALSE(p[0].all);
  EXPECT_TRUE(p[1].all);
  EXPECT_EQ(p[1].keep_duration_ns, 90 * 60 * int64_t{1'000'000'000});
  EXPECT_EQ(p[1].reserved_space, kDisk / 10);
  EXPECT_EQ(p[1].max_used_space, 20LL << 20);
  EXPECT_EQ(p[1].min_free_space, kGiB);
}

TEST(GcConfigTest, ErrorsNameTheKeyAndTheLine) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"[worker.oci]\ngcc = true\n", "unknown key \"gcc\" in [worker.oci]"},
      {"[worker.oci]\ngc = \"yes\"\n", "gc must be a bool"},
      {"[worker.oci]\ngckeepstorage = \"lots\"\n",
       "gckeepstorage: invalid size"},
      {"[[worker.oci.gcpolicy]]\nkeepduration = \"1h\"\n",
       "unknown key \"keepduration\" in [[worker.oci.gcpolicy]]"},
      {"[[worker.oci.gcpolicy]]\nmaxUsedSpace = \"20QB\"\n",
       "gcpolicy.maxUsedSpace: invalid size"},
      {"[[worker.oci.gcpolicy]]\nkeepDuration = \"2 days\"\n",
       "gcpolicy.keepDuration: invalid duration"},
      {"[[worker.oci.gcpolicy]]\nfilters = [\"colour==red\"]\n",
       "gcpolicy.filters: filter \"colour==red\""},
      {"[[worker.oci.gcpolicy]]\nall = 1\n", "gcpolicy.all must be a bool"},
      {"[worker.oci]\ngcpolicy = 3\n", "gcpolicy must be an array of tables"},
      {"[worker.oci\n", "kiln.toml:1:"},
  };
  for (const Case& c : cases) {
    auto r = Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << r.status().message();
    EXPECT_EQ(r.status().message().rfind("kiln.toml:", 0), 0u)
        << r.status().message();
  }
}

TEST(GcConfigTest, LoadReadsTheFileOrUsesTheDefaults) {
  auto defaults = LoadGcPolicies("", "/tmp/does/not/exist/yet");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->size(), 4u);
  EXPECT_GT(DiskBytesOf("/tmp/does/not/exist/yet"), 0);
  auto missing = LoadGcPolicies("/nonexistent/kiln.toml", "/tmp");
  EXPECT_FALSE(missing.ok());
}

TEST(UsagePrintTest, HumanSizesAndDurationsAsDocker) {
  EXPECT_EQ(HumanSize(0), "0B");
  EXPECT_EQ(HumanSize(512), "512B");
  EXPECT_EQ(HumanSize(4096), "4.096kB");
  EXPECT_EQ(HumanSize(10'000'000), "10MB");
  EXPECT_EQ(HumanSize(1'234'567), "1.235MB");
  EXPECT_EQ(HumanSize(1'500'000'000), "1.5GB");
  const int64_t s = 1'000'000'000;
  EXPECT_EQ(HumanDuration(s / 2), "Less than a second");
  EXPECT_EQ(HumanDuration(s), "1 second");
  EXPECT_EQ(HumanDuration(30 * s), "30 seconds");
  EXPECT_EQ(HumanDuration(90 * s), "About a minute");
  EXPECT_EQ(HumanDuration(5 * 60 * s), "5 minutes");
  EXPECT_EQ(HumanDuration(3600 * s), "About an hour");
  EXPECT_EQ(HumanDuration(5 * 3600 * s), "5 hours");
  EXPECT_EQ(HumanDuration(3 * 24 * 3600 * s), "3 days");
}

TEST(UsagePrintTest, TableVerboseAndSummary) {
  const int64_t now = int64_t{1'700'000'000} * 1'000'000'000;
  std::vector<solver::UsageRecord> records(2);
  records[0] = {.id = "small",
                .type = "exec.cachemount",
                .description = "cached mount",
                .size = 4096,
                .created_at_ns = now - 7200'000'000'000,
                .last_used_at_ns = now - 300'000'000'000,
                .usage_count = 3,
                .in_use = true,
                .is_mutable = true};
  records[1] = {.id = "big",
                .type = "regular",
                .description = "mkfile /a",
                .size = 3'000'000,
                .created_at_ns = now,
                .shared = true,
                .parents = {"p1", "p2"}};
  std::string du = FormatDiskUsage(records, false, now);
  EXPECT_EQ(du.rfind("ID      RECLAIMABLE  SIZE     LAST ACCESSED\n"
                     "big     true         3MB*\n"
                     "small*  false        4.096kB  5 minutes ago\n",
                     0),
            0u)
      << du;
  EXPECT_NE(du.find("Shared:       3MB\n"), std::string::npos) << du;
  EXPECT_NE(du.find("Private:      4.096kB\n"), std::string::npos) << du;
  EXPECT_NE(du.find("Reclaimable:  3MB\n"), std::string::npos) << du;
  EXPECT_NE(du.find("Total:        3.004MB\n"), std::string::npos) << du;
  std::string verbose = FormatUsageRecords(records, true, now);
  EXPECT_NE(verbose.find("ID:           small\n"), std::string::npos)
      << verbose;
  EXPECT_NE(verbose.find("Parents:      p1;p2\n"), std::string::npos);
  EXPECT_NE(verbose.find("Usage count:  3\n"), std::string::npos);
  EXPECT_NE(verbose.find("Type:         exec.cachemount\n"), std::string::npos);
  EXPECT_NE(verbose.find("Reclaimable:  false\n"), std::string::npos);
  EXPECT_NE(verbose.find("Created at:   2023-11-14 20:13:20 +0000 UTC\n"),
            std::string::npos)
      << verbose;
  std::string pruned = FormatPruned({records[1]}, false, now);
  EXPECT_NE(pruned.find("big "), std::string::npos);
  EXPECT_NE(pruned.find("Total:  3MB\n"), std::string::npos) << pruned;
  EXPECT_EQ(FormatPruned({}, false, now), "Total:  0B\n");
}

TEST(WorkerSettingsTest, RuntimeAndParallelism) {
  auto none = ParseWorkerSettings("", "kiln.toml");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->binary, "");
  EXPECT_EQ(none->max_parallelism, 0);
  auto set = ParseWorkerSettings(
      "[worker.oci]\nbinary = \"/usr/sbin/runc\"\nmax-parallelism = 3\n",
      "kiln.toml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->binary, "/usr/sbin/runc");
  EXPECT_EQ(set->max_parallelism, 3);
  // The GC parser leaves both to this one.
  EXPECT_TRUE(Parse("[worker.oci]\nbinary = \"crun\"\n").ok());
  auto bad =
      ParseWorkerSettings("[worker.oci]\nmax-parallelism = 0\n", "kiln.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("kiln.toml:2:"), std::string::npos)
      << bad.status().ToString();
  EXPECT_FALSE(
      ParseWorkerSettings("[worker.oci]\nbinary = 5\n", "kiln.toml").ok());
}

}  // namespace
}  // namespace kiln::cli
