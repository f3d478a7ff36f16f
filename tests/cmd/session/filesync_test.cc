// FileSync over a real session: what the daemon receives equals what
// SyncLocal copies, and re-syncs transfer only what changed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kiln/session/session_providers.h"
#include "kiln/solver/local_source.h"
#include "session_harness.h"

namespace kiln::session {
namespace {

using solver::testing::DumpTree;
using solver::testing::ReadFile;
using solver::testing::TempDir;
using solver::testing::WriteFile;
using testing::SessionHarness;

// A tree with files, nested dirs, symlinks, modes, a fifo and odd mtimes.
void MakeTree(const std::string& root) {
  WriteFile(root + "/a.txt", "alpha\n");
  WriteFile(root + "/a.b", "dot\n");
  WriteFile(root + "/a/b/c.txt", "deep\n");
  WriteFile(root + "/a/keep.log", "log\n");
  WriteFile(root + "/src/main.go", "package main\n");
  WriteFile(root + "/src/skip.tmp", "tmp\n");
  WriteFile(root + "/exec.sh", "#!/bin/sh\n");
  chmod((root + "/exec.sh").c_str(), 04755);
  WriteFile(root + "/ro/file", "read only\n");
  chmod((root + "/ro").c_str(), 0555);
  symlink("a/b/c.txt", (root + "/link").c_str());
  symlink("/etc/passwd", (root + "/abs-link").c_str());
  symlink("missing", (root + "/dangling").c_str());
  mkfifo((root + "/fifo").c_str(), 0640);
  if (geteuid() == 0) {
    lchown((root + "/src/main.go").c_str(), 1000, 1001);
    lchown((root + "/link").c_str(), 1002, 1003);
  }
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 7)
    big[i] = static_cast<char>('a' + i % 26);
  WriteFile(root + "/big.bin", big);
  timespec times[2] = {{0, UTIME_OMIT}, {1234567890, 123456789}};
  utimensat(AT_FDCWD, (root + "/a.txt").c_str(), times, 0);
  utimensat(AT_FDCWD, (root + "/a/b").c_str(), times, 0);
  utimensat(AT_FDCWD, (root + "/link").c_str(), times, AT_SYMLINK_NOFOLLOW);
}

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
         st.st_mtim.tv_nsec;
}

class FileSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.ok());
    src_ = h_.dir() + "/src";
    MakeTree(src_);
  }

  std::unique_ptr<ClientSession> Connect(const std::string& key = "k") {
    auto c = h_.Connect({.shared_key = key, .dirs = {{"context", src_}}});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  SessionHarness h_;
  std::string src_;
};

TEST_F(FileSyncTest, ReceivedTreeEqualsSyncLocal) {
  struct Case {
    solver::LocalSyncOptions options;
  };
  std::vector<Case> cases = {
      {{}},
      {{.include_patterns = {"a", "src/*.go"}}},
      {{.exclude_patterns = {"*.tmp", "a", "!a/b"}}},
      {{.follow_paths = {"link"}}},
  };
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  SessionLocalProvider provider(h_.manager(), client->id());
  int n = 0;
  for (const auto& c : cases) {
    std::string want = h_.dir() + "/want" + std::to_string(n);
    std::string got = h_.dir() + "/got" + std::to_string(n);
    ++n;
    auto local = solver::SyncLocal(src_, want, c.options);
    ASSERT_TRUE(local.ok()) << local.status().ToString();
    auto synced = provider.Sync("", "context", c.options, got, {});
    ASSERT_TRUE(synced.ok()) << synced.status().ToString();
    EXPECT_EQ(DumpTree(got, /*times=*/true), DumpTree(want, /*times=*/true))
        << "case " << n;
    EXPECT_EQ(synced->files_copied, local->files_copied) << "case " << n;
    EXPECT_EQ(synced->bytes_copied, local->bytes_copied) << "case " << n;
    EXPECT_EQ(synced->dirs, local->dirs) << "case " << n;
  }
  // Nanosecond mtimes, setuid bits and symlink targets survive the wire.
  std::string got = h_.dir() + "/got0";
  EXPECT_EQ(MtimeNs(got + "/a.txt"), 1234567890123456789);
  EXPECT_EQ(MtimeNs(got + "/a/b"), 1234567890123456789);
  EXPECT_EQ(MtimeNs(got + "/link"), MtimeNs(src_ + "/link"));
  struct stat st {};
  ASSERT_EQ(lstat((got + "/exec.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  if (geteuid() == 0) {  // owners are kept when the daemon runs as root
    ASSERT_EQ(lstat((got + "/src/main.go").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
    ASSERT_EQ(lstat((got + "/link").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1002u);
    EXPECT_EQ(st.st_gid, 1003u);
  }
  ASSERT_EQ(lstat((got + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(ReadFile(got + "/big.bin"), ReadFile(src_ + "/big.bin"));
  char target[64] = {};
  ASSERT_GT(readlink((got + "/abs-link").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "/etc/passwd");
  EXPECT_TRUE(client->Close().ok());
}

TEST_F(FileSyncTest, ResyncTransfersOnlyWhatChanged) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  SessionLocalProvider provider(h_.manager(), client->id());
  std::string dest = h_.dir() + "/dest";
  auto first = provider.Sync("", "context", {}, dest, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  TransferStats before = provider.stats();
  EXPECT_GT(before.files_requested, 5u);

  // One file changed, one removed, one added, a file turned into a dir.
  WriteFile(src_ + "/a/keep.log", "log, longer now\n");
  unlink((src_ + "/a.b").c_str());
  WriteFile(src_ + "/new.txt", "new\n");
  unlink((src_ + "/a.txt").c_str());
  WriteFile(src_ + "/a.txt/inner", "inner\n");
  auto second = provider.Sync("", "context", {}, dest, {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  TransferStats after = provider.stats();
  EXPECT_EQ(after.files_requested - before.files_requested, 3u);
  EXPECT_EQ(after.data_bytes - before.data_bytes,
            std::string("log, longer now\nnew\ninner\n").size());
  EXPECT_EQ(second->files_deleted, 1u);  // a.b
  std::string want = h_.dir() + "/want";
  ASSERT_TRUE(solver::SyncLocal(src_, want, {}).ok());
  EXPECT_EQ(DumpTree(dest, true), DumpTree(want, true));
  EXPECT_TRUE(client->Close().ok());
}

TEST_F(FileSyncTest, UnknownDirAndMissingSessionAreNotFound) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  SessionLocalProvider provider(h_.manager(), client->id());
  auto missing = provider.Sync("", "nope", {}, h_.dir() + "/x", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound)
      << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  SessionManager empty({.connect_wait = std::chrono::milliseconds(50)});
  SessionLocalProvider none(empty, "gone");
  auto gone = none.Sync("", "context", {}, h_.dir() + "/y", {});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(client->Close().ok());
}

// Issue 8's acceptance: a second client session rebuilding an unchanged
// 10,000-file context transfers no file contents.
TEST_F(FileSyncTest,
       SecondSessionResyncingUnchangedTenThousandFilesSendsNothing) {
  std::string ctx = h_.dir() + "/big-context";
  for (int d = 0; d < 100; ++d) {
    for (int f = 0; f < 100; ++f) {
      WriteFile(ctx + "/dir" + std::to_string(d) + "/file" + std::to_string(f),
                "content " + std::to_string(d * 100 + f) + "\n");
    }
  }
  std::string dest = h_.dir() + "/synced";
  auto sync = [&](std::string* shared_key) -> TransferStats {
    auto c = h_.Connect({.shared_key = "client-A", .dirs = {{"context", ctx}}});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return {};
    SessionLocalProvider provider(h_.manager(), (*c)->id());
    *shared_key = provider.SharedKey("", "context");
    auto r = provider.Sync("", "context", {}, dest, {});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE((*c)->Close().ok());
    return provider.stats();
  };
  std::string key1, key2, key3;
  TransferStats first = sync(&key1);
  EXPECT_EQ(first.entries_listed, 10100u);
  EXPECT_EQ(first.files_requested, 10000u);
  EXPECT_EQ(first.files_written, 10000u);

  TransferStats total_before = h_.manager().transfer_stats();
  TransferStats second = sync(&key2);
  TransferStats total_after = h_.manager().transfer_stats();
  EXPECT_EQ(key1, key2);  // a new session id, the same synced tree
  EXPECT_EQ(second.entries_listed, 10100u);
  EXPECT_EQ(second.files_requested, 0u);
  EXPECT_EQ(second.data_bytes, 0u);
  EXPECT_EQ(second.files_written, 0u);
  EXPECT_EQ(second.files_unchanged, 10000u);
  EXPECT_EQ(total_after.data_bytes, total_before.data_bytes);
  EXPECT_EQ(total_after.files_requested, total_before.files_requested);

  // One change: exactly that file crosses the wire.
  WriteFile(ctx + "/dir42/file7", "changed!\n");
  TransferStats third = sync(&key3);
  EXPECT_EQ(third.files_requested, 1u);
  EXPECT_EQ(third.data_bytes, std::string("changed!\n").size());
  EXPECT_EQ(ReadFile(dest + "/dir42/file7"), "changed!\n");
}

TEST_F(FileSyncTest, SharedKeyIsPerClientKeyNotPerSession) {
  auto a = Connect("same");
  auto b = Connect("same");
  auto other = Connect("different");
  ASSERT_TRUE(a && b && other);
  SessionLocalProvider pa(h_.manager(), a->id());
  SessionLocalProvider pb(h_.manager(), b->id());
  SessionLocalProvider po(h_.manager(), other->id());
  EXPECT_EQ(pa.SharedKey("", "context"), pb.SharedKey("", "context"));
  EXPECT_NE(pa.SharedKey("", "context"), po.SharedKey("", "context"));
  EXPECT_NE(pa.SharedKey("", "context"), pa.SharedKey("", "dockerfile"));
  EXPECT_EQ(pa.SharedKey("", "context").find(a->id()), std::string::npos);
  EXPECT_TRUE(a->Close().ok());
  EXPECT_TRUE(b->Close().ok());
  EXPECT_TRUE(other->Close().ok());
}

}  // namespace
}  // namespace kiln::session

namespace kiln::session {
namespace {

TEST(FileSyncConcurrencyTest, ParallelSyncsOfOneSessionEachGetTheirDir) {
  testing::SessionHarness h;
  ASSERT_TRUE(h.ok());
  std::map<std::string, std::string> dirs;
  for (int d = 0; d < 4; ++d) {
    std::string dir = h.dir() + "/src" + std::to_string(d);
    for (int f = 0; f < 200; ++f) {
      solver::testing::WriteFile(
          dir + "/f" + std::to_string(f),
          std::string(100 + f, static_cast<char>('a' + d)));
    }
    dirs["dir" + std::to_string(d)] = dir;
  }
  auto client = h.Connect({.dirs = dirs});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  SessionLocalProvider provider(h.manager(), (*client)->id());
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (int d = 0; d < 4; ++d) {
    threads.emplace_back([&, d] {
      auto r = provider.Sync("", "dir" + std::to_string(d), {},
                             h.dir() + "/dest" + std::to_string(d), {});
      results[d] = r.ok() ? Status::Ok() : r.status();
    });
  }
  for (auto& t : threads) t.join();
  for (int d = 0; d < 4; ++d) {
    EXPECT_TRUE(results[d].ok()) << results[d].ToString();
    EXPECT_EQ(solver::testing::DumpTree(h.dir() + "/dest" + std::to_string(d)),
              solver::testing::DumpTree(dirs["dir" + std::to_string(d)]));
  }
  EXPECT_EQ(provider.stats().files_requested, 800u);
  EXPECT_TRUE((*client)->Close().ok());
}

}  // namespace
}  // namespace kiln::session
