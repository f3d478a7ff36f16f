#include "kiln/solver/cache_index.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

Digest Key(int n) { return Digest::FromBytes("vertex " + std::to_string(n)); }

std::unique_ptr<CacheIndex> OpenOrDie(const std::string& path,
                                      const CacheIndexOptions& options = {}) {
  auto index = CacheIndex::Open(path, options);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return index.ok() ? std::move(*index) : nullptr;
}

// Runs `sql` on `path` through SQLite directly, as another program would.
std::string RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    auto collect = [](void* arg, int n, char** values, char**) {
      auto* text = static_cast<std::string*>(arg);
      for (int i = 0; i < n; ++i) *text += values[i] ? values[i] : "NULL";
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), collect, &out, nullptr) != SQLITE_OK) {
      out = std::string("error: ") + sqlite3_errmsg(db);
    }
  }
  sqlite3_close(db);
  return out;
}

class CacheIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    path_ = tmp_.path() + "/state/meta.db";  // parent created by Open
    index_ = OpenOrDie(path_, {.last_used_resolution_ms = 0});
    ASSERT_NE(index_, nullptr);
  }

  TempDir tmp_{"kiln-cacheidx-"};
  std::string path_;
  std::unique_ptr<CacheIndex> index_;
};

TEST_F(CacheIndexTest, CreatesAWalDatabaseWithTheSchemaVersion) {
  EXPECT_TRUE(std::filesystem::is_regular_file(path_));
  EXPECT_EQ(RawSql(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawSql(path_, "PRAGMA user_version"),
            std::to_string(kCacheIndexSchemaVersion));
  EXPECT_EQ(index_->path(), path_);
}

TEST_F(CacheIndexTest, RecordLookupRoundTrip) {
  auto miss = index_->Lookup(Key(1));
  ASSERT_TRUE(miss.ok()) << miss.status().ToString();
  EXPECT_FALSE(miss->has_value());

  int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  ASSERT_TRUE(
      index_->Record(Key(1), {"snap-a", "", "snap-b"}, "RUN make").ok());
  auto hit = index_->Lookup(Key(1));
  ASSERT_TRUE(hit.ok()) << hit.status().ToString();
  ASSERT_TRUE(hit->has_value());
  const CacheRecord& record = **hit;
  EXPECT_EQ(record.key, Key(1));
  EXPECT_EQ(record.outputs, (std::vector<std::string>{"snap-a", "", "snap-b"}));
  EXPECT_EQ(record.description, "RUN make");
  EXPECT_GE(record.created_unix_ms, before);
  EXPECT_GE(record.last_used_unix_ms, record.created_unix_ms);

  // No outputs at all is a record too.
  ASSERT_TRUE(index_->Record(Key(2), {}, "").ok());
  auto empty = index_->Lookup(Key(2));
  ASSERT_TRUE(empty.ok() && empty->has_value());
  EXPECT_TRUE((*empty)->outputs.empty());
  EXPECT_FALSE(index_->Lookup(Key(3))->has_value());
}

TEST_F(CacheIndexTest, LookupRefreshesLastUsed) {
  ASSERT_TRUE(index_->Record(Key(1), {"s"}, "v").ok());
  int64_t created = index_->Lookup(Key(1))->value().created_unix_ms;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto hit = index_->Lookup(Key(1));
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_GE((*hit)->last_used_unix_ms, created + 20);
  EXPECT_EQ((*hit)->created_unix_ms, created);
  // Stored, not just returned.
  auto list = index_->List();
  ASSERT_TRUE(list.ok() && list->size() == 1);
  EXPECT_EQ((*list)[0].last_used_unix_ms, (*hit)->last_used_unix_ms);

  // With the default resolution a fresh record is not rewritten.
  index_.reset();
  auto coarse = OpenOrDie(path_);
  ASSERT_TRUE(coarse->Record(Key(2), {"t"}, "w").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto again = coarse->Lookup(Key(2));
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->last_used_unix_ms, (*again)->created_unix_ms);
}

TEST_F(CacheIndexTest, RecordReplaces) {
  ASSERT_TRUE(index_->Record(Key(1), {"a", "b", "c"}, "old").ok());
  ASSERT_TRUE(index_->Record(Key(1), {"d"}, "new").ok());
  auto hit = index_->Lookup(Key(1));
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->outputs, std::vector<std::string>{"d"});
  EXPECT_EQ((*hit)->description, "new");
  auto list = index_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].outputs, std::vector<std::string>{"d"});
  // The replaced outputs are gone from the snapshot index too.
  EXPECT_EQ(RawSql(path_, "SELECT count(*) FROM record_outputs"), "1");
}

TEST_F(CacheIndexTest, RemoveAndList) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(index_
                    ->Record(Key(i),
                             {std::string("s").append(std::to_string(i))},
                             std::to_string(i))
                    .ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(index_->Remove(Key(2)).ok());
  ASSERT_TRUE(index_->Remove(Key(2)).ok());  // absent: fine
  ASSERT_TRUE(index_->Lookup(Key(0)).ok());  // now the most recently used
  auto list = index_->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> order;
  for (const CacheRecord& r : *list) {
    order.push_back(r.description);
    EXPECT_EQ(r.outputs, std::vector<std::string>{"s" + r.description});
    EXPECT_EQ(r.key, Key(std::stoi(r.description)));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"1", "3", "4", "0"}));
  EXPECT_FALSE(index_->Lookup(Key(2))->has_value());
}

TEST_F(CacheIndexTest, PersistsAcrossReopen) {
  ASSERT_TRUE(index_->Record(Key(7), {"x", "y"}, "seven").ok());
  ASSERT_TRUE(index_->PutChecksum("x", "/src", Key(70)).ok());
  LayerBlob layer{
      .descriptor = {.media_type = "m", .digest = Key(71), .size = 3},
      .diff_id = Key(72)};
  ASSERT_TRUE(index_->PutLayer("x", layer).ok());
  index_.reset();
  index_ = OpenOrDie(path_);
  ASSERT_NE(index_, nullptr);
  auto hit = index_->Lookup(Key(7));
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->outputs, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(index_->GetChecksum("x", "/src")->value(), Key(70));
  ASSERT_TRUE(index_->GetLayer("x").has_value());
  EXPECT_EQ(index_->GetLayer("x")->diff_id, Key(72));
}

TEST_F(CacheIndexTest, ChecksumRoundTrip) {
  auto miss = index_->GetChecksum("snap", "/a:follow=0");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  ASSERT_TRUE(index_->PutChecksum("snap", "/a:follow=0", Key(1)).ok());
  ASSERT_TRUE(index_->PutChecksum("snap", "/a:follow=1", Key(2)).ok());
  EXPECT_EQ(index_->GetChecksum("snap", "/a:follow=0")->value(), Key(1));
  EXPECT_EQ(index_->GetChecksum("snap", "/a:follow=1")->value(), Key(2));
  EXPECT_FALSE(index_->GetChecksum("other", "/a:follow=0")->has_value());
  ASSERT_TRUE(index_->PutChecksum("snap", "/a:follow=0", Key(3)).ok());
  EXPECT_EQ(index_->GetChecksum("snap", "/a:follow=0")->value(), Key(3));
  EXPECT_EQ(index_->PutChecksum("snap", "/b", Digest()).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CacheIndexTest, LayerRoundTrip) {
  EXPECT_FALSE(index_->GetLayer("snap").has_value());
  LayerBlob layer;
  layer.descriptor.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  layer.descriptor.digest = Key(10);
  layer.descriptor.size = 123456789012;
  layer.descriptor.annotations = {{"org.opencontainers.image.title", "l\"1\n"},
                                  {"b", ""}};
  layer.descriptor.urls = {"https://example.com/blob"};
  layer.descriptor.artifact_type = "application/x-test";
  layer.diff_id = Key(11);
  ASSERT_TRUE(index_->PutLayer("snap", layer).ok());
  auto got = index_->GetLayer("snap");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->descriptor.media_type, layer.descriptor.media_type);
  EXPECT_EQ(got->descriptor.digest, Key(10));
  EXPECT_EQ(got->descriptor.size, 123456789012);
  EXPECT_EQ(got->descriptor.annotations, layer.descriptor.annotations);
  EXPECT_EQ(got->descriptor.urls, layer.descriptor.urls);
  EXPECT_EQ(got->descriptor.artifact_type, "application/x-test");
  EXPECT_EQ(got->diff_id, Key(11));

  layer.descriptor.annotations.clear();
  layer.diff_id = Key(12);
  ASSERT_TRUE(index_->PutLayer("snap", layer).ok());
  EXPECT_TRUE(index_->GetLayer("snap")->descriptor.annotations.empty());
  EXPECT_EQ(index_->GetLayer("snap")->diff_id, Key(12));

  layer.diff_id = Digest();
  EXPECT_EQ(index_->PutLayer("bad", layer).code(),
            StatusCode::kInvalidArgument);
  layer.diff_id = Key(1);
  layer.descriptor.annotations = {{"bad", "\xff\xfe"}};
  EXPECT_EQ(index_->PutLayer("bad", layer).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(index_->GetLayer("bad").has_value());
}

TEST_F(CacheIndexTest, ForgetSnapshot) {
  ASSERT_TRUE(index_->Record(Key(1), {"a", "b"}, "1").ok());
  ASSERT_TRUE(index_->Record(Key(2), {"b"}, "2").ok());
  ASSERT_TRUE(index_->Record(Key(3), {"c"}, "3").ok());
  ASSERT_TRUE(index_->Record(Key(4), {""}, "4").ok());
  LayerBlob layer{
      .descriptor = {.media_type = "m", .digest = Key(9), .size = 1},
      .diff_id = Key(9)};
  for (const char* snap : {"b", "c"}) {
    ASSERT_TRUE(index_->PutChecksum(snap, "/", Key(8)).ok());
    ASSERT_TRUE(index_->PutLayer(snap, layer).ok());
  }
  ASSERT_TRUE(index_->ForgetSnapshot("b").ok());
  EXPECT_FALSE(index_->Lookup(Key(1))->has_value());
  EXPECT_FALSE(index_->Lookup(Key(2))->has_value());
  EXPECT_TRUE(index_->Lookup(Key(3))->has_value());
  EXPECT_TRUE(index_->Lookup(Key(4))->has_value());
  EXPECT_FALSE(index_->GetChecksum("b", "/")->has_value());
  EXPECT_FALSE(index_->GetLayer("b").has_value());
  EXPECT_TRUE(index_->GetChecksum("c", "/")->has_value());
  EXPECT_TRUE(index_->GetLayer("c").has_value());
  // Outputs of the forgotten records ("a") went with them.
  EXPECT_EQ(RawSql(path_,
                   "SELECT group_concat(snapshot, ',') FROM "
                   "(SELECT snapshot FROM record_outputs ORDER BY 1)"),
            ",c");
  ASSERT_TRUE(index_->ForgetSnapshot("never-seen").ok());
  EXPECT_EQ(index_->ForgetSnapshot("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->List()->size(), 2u);
}

TEST_F(CacheIndexTest, InvalidKeys) {
  EXPECT_EQ(index_->Record(Digest(), {"a"}, "x").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->Lookup(Digest()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->Remove(Digest()).code(), StatusCode::kInvalidArgument);
}

TEST_F(CacheIndexTest, TwoIndexesOnOneFileSeeEachOthersWrites) {
  auto other = OpenOrDie(path_);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(index_->Record(Key(1), {"a"}, "from one").ok());
  auto seen = other->Lookup(Key(1));
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ((*seen)->description, "from one");
  ASSERT_TRUE(other->Record(Key(1), {"b"}, "from two").ok());
  ASSERT_TRUE(other->PutChecksum("b", "/", Key(5)).ok());
  EXPECT_EQ(index_->Lookup(Key(1))->value().outputs,
            std::vector<std::string>{"b"});
  EXPECT_EQ(index_->GetChecksum("b", "/")->value(), Key(5));
  ASSERT_TRUE(index_->ForgetSnapshot("b").ok());
  EXPECT_FALSE(other->Lookup(Key(1))->has_value());
}

TEST(CacheIndexOpenTest, GarbageFileIsDataLoss) {
  TempDir tmp("kiln-cacheidx-");
  std::string path = tmp.path() + "/meta.db";
  WriteFile(path, std::string(8192, 'x') + "this is not a database");
  auto index = CacheIndex::Open(path);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), StatusCode::kDataLoss)
      << index.status().ToString();
  EXPECT_NE(index.status().message().find(path), std::string::npos)
      << index.status().message();
}

TEST(CacheIndexOpenTest, DamagedPagesAreDataLoss) {
  TempDir tmp("kiln-cacheidx-");
  std::string path = tmp.path() + "/meta.db";
  {
    auto index = OpenOrDie(path);
    ASSERT_NE(index, nullptr);
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(index
                      ->Record(Key(i),
                               {std::string("s").append(std::to_string(i))},
                               "v")
                      .ok());
    }
  }  // the last close checkpoints the WAL into the file
  std::string bytes = ReadFile(path);
  ASSERT_GT(bytes.size(), 4u * 4096);
  for (size_t i = 4096; i < bytes.size(); i += 4096) {
    bytes.replace(i, 64, std::string(64, '\xa5'));  // every page's header
  }
  WriteFile(path, bytes);
  auto index = CacheIndex::Open(path);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), StatusCode::kDataLoss)
      << index.status().ToString();
}

TEST(CacheIndexOpenTest, NewerSchemaIsFailedPrecondition) {
  TempDir tmp("kiln-cacheidx-");
  std::string path = tmp.path() + "/meta.db";
  ASSERT_NE(OpenOrDie(path), nullptr);
  std::string version = std::to_string(kCacheIndexSchemaVersion + 1);
  EXPECT_EQ(RawSql(path, "PRAGMA user_version = " + version), "");
  auto index = CacheIndex::Open(path);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().code(), StatusCode::kFailedPrecondition)
      << index.status().ToString();
  EXPECT_NE(index.status().message().find("schema version " + version),
            std::string::npos)
      << index.status().message();
}

}  // namespace
}  // namespace kiln::solver
