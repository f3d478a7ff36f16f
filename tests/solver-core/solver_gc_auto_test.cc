// Automatic GC policies (SolverOptions::gc_policies), layer blobs and image
// blobs, crash leftovers, and pruning concurrently with solves.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "gc_test_util.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::gc_test {
namespace {

constexpr int64_t kMiB = 1 << 20;

// The acceptance test of issue 8: 20 builds, each adding 3MiB of new cache
// on a shared 1MiB base, under a 20MiB policy.
TEST_F(GcTest, AutomaticGcKeepsTheCacheUnderItsLimitAcrossTwentyBuilds) {
  constexpr int64_t kLimit = 20 * kMiB;
  // Directory blocks, overlay work dirs: a little over the files' bytes.
  constexpr int64_t kSlack = 256 << 10;
  Open({{.max_used_space = kLimit}});
  const std::string base = Data(kMiB, 1000);
  for (int i = 0; i < 20; ++i) {
    const std::string data = Data(3 * kMiB, static_cast<uint32_t>(i));
    auto result = Solve(llb::Scratch()
                            .File(llb::Mkfile("/base", 0644, base))
                            .File(llb::Mkfile("/data", 0644, data)));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const int64_t reported = Total(Records());
    const int64_t measured = MeasuredCache();
    EXPECT_LE(reported, kLimit) << "after build " << i;
    EXPECT_LE(measured, kLimit + kSlack) << "after build " << i;
    EXPECT_LE(reported, measured) << "after build " << i;
    EXPECT_EQ(ResultFile(*result, "/data"), data) << "build " << i;
    EXPECT_EQ(ResultFile(*result, "/base"), base) << "build " << i;
    if (i >= 6) {
      // It did have to collect: 7 builds hold more than the limit.
      EXPECT_GT(reported, kLimit - 5 * kMiB) << "after build " << i;
    }
  }
  // The base every build shares is the most used: it survived.
  auto base_record = Records({"description==mkfile /base"});
  ASSERT_EQ(base_record.size(), 1u);
  EXPECT_EQ(base_record[0].usage_count, 20);
}

TEST_F(GcTest, PoliciesOnlyRunWhenTheCacheExceedsThem) {
  Open({{.max_used_space = 100 * kMiB}});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        Solve(llb::Scratch().File(llb::Mkfile("/f", 0644, Data(kMiB, i))))
            .ok());
  }
  EXPECT_EQ(Records().size(), 5u);
  // A policy that keeps recent records keeps everything.
  Open({{.all = true, .keep_duration_ns = 3600'000'000'000}});
  ASSERT_TRUE(Solve(llb::Scratch().File(llb::Mkfile("/g", 0644, "g"))).ok());
  EXPECT_EQ(Records().size(), 6u);
}

// A blob as an exporter would pack it for a snapshot.
LayerBlob PutBlob(ContentStore& content, const std::string& data) {
  auto digest = content.Put(data);
  EXPECT_TRUE(digest.ok());
  LayerBlob blob;
  blob.descriptor.media_type = "application/vnd.oci.image.layer.v1.tar";
  blob.descriptor.digest = *digest;
  blob.descriptor.size = static_cast<int64_t>(data.size());
  blob.diff_id = *digest;
  return blob;
}

TEST_F(GcTest, PackedLayerBlobsGoWithTheirSnapshotUnlessAnImageNamesThem) {
  auto a = Solve(llb::Scratch().File(llb::Mkfile("/a", 0644, "a")));
  auto b = Solve(llb::Scratch().File(llb::Mkfile("/b", 0644, "b")));
  ASSERT_TRUE(a.ok() && b.ok());
  ContentStore& content = *stores_.content;
  LayerBlob named = PutBlob(content, Data(kMiB, 1));
  LayerBlob unnamed = PutBlob(content, Data(kMiB, 2));
  ASSERT_TRUE(solver_->layers().PutLayer(a->snapshot, named).ok());
  ASSERT_TRUE(solver_->layers().PutLayer(b->snapshot, unnamed).ok());
  // An image naming the first blob.
  const std::string config = R"({"architecture":"amd64","os":"linux",)"
                             R"("rootfs":{"type":"layers","diff_ids":[")" +
                             named.diff_id.str() + R"("]}})";
  auto config_digest = content.Put(config);
  ASSERT_TRUE(config_digest.ok());
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      config_digest->str() + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
      named.descriptor.digest.str() + R"(","size":)" +
      std::to_string(named.descriptor.size) + "}]}";
  auto manifest_digest = content.Put(manifest);
  ASSERT_TRUE(manifest_digest.ok());
  oci::Descriptor target;
  target.media_type = "application/vnd.oci.image.manifest.v1+json";
  target.digest = *manifest_digest;
  target.size = static_cast<int64_t>(manifest.size());
  ASSERT_TRUE(stores_.images->Put("example.com/gc/kept:1", target).ok());

  auto records = Records();
  EXPECT_LT(Find(records, "mkfile /a").size, kMiB);  // the image's blob
  EXPECT_GE(Find(records, "mkfile /b").size, kMiB);  // its own blob
  auto removed = solver_->Prune({.all = true});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_TRUE(content.Has(named.descriptor.digest));
  EXPECT_FALSE(content.Has(unnamed.descriptor.digest));
  EXPECT_TRUE(content.Has(*manifest_digest) && content.Has(*config_digest));
  EXPECT_TRUE(stores_.images->Resolve(target, llb::HostPlatform()).ok());
}

TEST_F(GcTest, OpenFinishesWhatAKilledPruneLeft) {
  ContentStore& content = *stores_.content;
  LayerBlob orphan = PutBlob(content, Data(kMiB, 3));
  LayerBlob needed = PutBlob(content, Data(kMiB, 4));
  auto a = Solve(llb::Scratch().File(llb::Mkfile("/a", 0644, "a")));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(solver_->layers().PutLayer(a->snapshot, needed).ok());
  // A prune killed after journaling both blobs and moving a tree to trash.
  const std::string trash = root_.path() + "/solver/gc-trash";
  testing::WriteFile(trash + "/blobs.pending",
                     orphan.descriptor.digest.str() + "\n" +
                         needed.descriptor.digest.str() + "\n");
  testing::WriteFile(trash + "/abc/tree/file", Data(kMiB, 5));
  Open();
  EXPECT_FALSE(content.Has(orphan.descriptor.digest));
  EXPECT_TRUE(content.Has(needed.descriptor.digest));  // a layer record's
  EXPECT_FALSE(testing::Exists(trash));
  EXPECT_EQ(Records().size(), 1u);
}

TEST_F(GcTest, SolvesRacingPrunesNeverSeeHalfRemovedRecords) {
  const std::string base = Data(kMiB, 42);
  auto graph = [&](int i) {
    return llb::Scratch()
        .File(llb::Mkfile("/base", 0644, base))
        .File(llb::Mkfile("/n", 0644, std::to_string(i % 3)));
  };
  std::atomic<bool> done{false};
  std::atomic<int> pruned{0};
  // Once Solve returns its result is no longer held (an exporter reads it
  // right away; here the test): reading it pauses the pruner.
  std::mutex reading;
  std::thread pruner([&] {
    while (!done) {
      std::lock_guard<std::mutex> lock(reading);
      auto removed = solver_->Prune({.all = true});
      EXPECT_TRUE(removed.ok()) << removed.status().ToString();
      if (removed.ok()) pruned += static_cast<int>(removed->size());
    }
  });
  for (int i = 0; i < 30; ++i) {
    auto result = Solve(graph(i));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    std::lock_guard<std::mutex> lock(reading);
    if (!snapshots_->Stat(result->snapshot).ok()) continue;  // pruned since
    EXPECT_EQ(ResultFile(*result, "/base"), base);
    EXPECT_EQ(ResultFile(*result, "/n"), std::to_string(i % 3));
  }
  done = true;
  pruner.join();
  EXPECT_GT(pruned.load(), 0);
}

TEST_F(GcTest, GitMirrorsAndHttpDownloadsAreRecords) {
  const std::string git = root_.path() + "/solver/git/git";
  const std::string mirror =
      git + "/" + std::string(Digest::FromBytes("r").hex());
  testing::WriteFile(mirror + "/config",
                     "[remote \"origin\"]\n\turl = file:///srv/repo\n");
  testing::WriteFile(mirror + "/objects/pack/p", Data(kMiB, 1));
  const std::string http = root_.path() + "/solver/http/http";
  const Digest body = Digest::FromBytes(Data(kMiB, 2));
  testing::WriteFile(http + "/blobs/" + std::string(body.hex()), Data(kMiB, 2));
  testing::WriteFile(http + "/urls/u.json",
                     R"({"etag":"","last_modified":"",)"
                     R"("disposition_filename":"tool.tgz","content":")" +
                         body.str() + R"("})");

  auto records = Records();
  UsageRecord m = Find(records, "git mirror file:///srv/repo");
  EXPECT_EQ(m.type, "source.git.checkout");
  EXPECT_GE(m.size, kMiB);
  UsageRecord h = Find(records, "http download tool.tgz");
  EXPECT_EQ(h.type, "regular");
  EXPECT_GE(h.size, kMiB);

  {
    // A fetch holds the mirror's lock: in use, and kept.
    testing::WriteFile(mirror + ".lock", "");
    int fd = open((mirror + ".lock").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(flock(fd, LOCK_SH), 0);
    EXPECT_TRUE(Find(Records(), "git mirror file:///srv/repo").in_use);
    auto removed = solver_->Prune({.all = true});
    ASSERT_TRUE(removed.ok());
    ASSERT_EQ(removed->size(), 1u);
    EXPECT_EQ((*removed)[0].description, "http download tool.tgz");
    close(fd);
  }
  EXPECT_FALSE(testing::Exists(http + "/urls/u.json"));
  auto removed = solver_->Prune({.filters = {"type==source.git.checkout"}});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->size(), 1u);
  EXPECT_FALSE(testing::Exists(mirror));
  EXPECT_TRUE(Records().empty());
  EXPECT_LT(MeasuredCache(), 64 << 10);
}

}  // namespace
}  // namespace kiln::solver::gc_test
