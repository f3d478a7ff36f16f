// Unit tests of CacheMounts: sharing modes, waiting and cancel, init and a
// crash during it, several objects on one root, Remove and List.
#include "kiln/solver/cache_mounts.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using namespace std::chrono_literals;
using testing::Exists;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

class CacheMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cm = CacheMounts::Open(dir_.path() + "/cm");
    ASSERT_TRUE(cm.ok()) << cm.status().ToString();
    cm_ = std::move(*cm);
  }

  // An init that counts its runs and leaves a marker file.
  std::function<Status(const std::string&)> CountingInit() {
    return [this](const std::string& dir) {
      ++inits_;
      WriteFile(dir + "/marker", "init " + std::to_string(inits_.load()));
      return Status::Ok();
    };
  }

  CacheMountLease MustAcquire(const std::string& id, CacheSharing sharing,
                              CacheMounts* cm = nullptr) {
    auto lease = (cm ? cm : cm_.get())
                     ->Acquire(id, sharing, CountingInit(), std::stop_token());
    EXPECT_TRUE(lease.ok()) << lease.status().ToString();
    return std::move(*lease);
  }

  TempDir dir_{"kiln-cachemounts-"};
  std::unique_ptr<CacheMounts> cm_;
  std::atomic<int> inits_{0};
};

TEST_F(CacheMountsTest, SharedLeasesUseOneDirConcurrentlyAndInitRunsOnce) {
  CacheMountLease a = MustAcquire("go-build", CacheSharing::kShared);
  CacheMountLease b = MustAcquire("go-build", CacheSharing::kShared);
  EXPECT_EQ(a.dir(), b.dir());
  EXPECT_EQ(inits_, 1);
  EXPECT_EQ(ReadFile(a.dir() + "/marker"), "init 1");
  WriteFile(a.dir() + "/data", "persisted");
  ASSERT_TRUE(a.Release().ok());
  ASSERT_TRUE(b.Release().ok());
  EXPECT_EQ(a.dir(), "");

  CacheMountLease again = MustAcquire("go-build", CacheSharing::kLocked);
  EXPECT_EQ(ReadFile(again.dir() + "/data"), "persisted");
  EXPECT_EQ(inits_, 1);
  CacheMountLease other = MustAcquire("npm", CacheSharing::kShared);
  EXPECT_NE(other.dir(), again.dir());
  EXPECT_EQ(inits_, 2);
}

TEST_F(CacheMountsTest, ASharedWaiterJoinsWhenAnotherLeaseMadeTheDir) {
  // The first two shared leases of a new id: one makes directory 0 and keeps
  // its shared lock while its exec runs; the other, already waiting for the
  // exclusive lock to make it, must join at once, not wait for that exec.
  std::string id_dir;
  {
    CacheMountLease first = MustAcquire("race", CacheSharing::kShared);
    id_dir = std::filesystem::path(first.dir()).parent_path().string();
    ASSERT_TRUE(first.Release().ok());
  }
  std::filesystem::remove_all(id_dir + "/0");
  // This test plays the lease that is making directory 0.
  int held = open((id_dir + "/0.lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(flock(held, LOCK_SH), 0);
  auto waiter = std::async(std::launch::async, [this] {
    return cm_->Acquire("race", CacheSharing::kShared, CountingInit(),
                        std::stop_token());
  });
  std::this_thread::sleep_for(300ms);
  std::filesystem::create_directory(id_dir + "/0");
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready)
      << "the shared waiter waited for the other lease to end";
  auto lease = waiter.get();
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(lease->dir(), id_dir + "/0");
  close(held);
}

TEST_F(CacheMountsTest, SharedFromManyThreadsInitsOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto l = cm_->Acquire("x", CacheSharing::kShared, CountingInit(), {});
      if (l.ok() && Exists(l->dir() + "/marker")) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(inits_, 1);
}

TEST_F(CacheMountsTest, LockedWaitsForTheHolderThenProceeds) {
  CacheMountLease held = MustAcquire("apt", CacheSharing::kLocked);
  std::atomic<bool> got{false};
  auto waiter = std::async(std::launch::async, [&] {
    auto l = cm_->Acquire("apt", CacheSharing::kLocked, nullptr, {});
    got = true;
    return l;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(got) << "a second locked lease was granted while one is held";
  const std::string dir = held.dir();
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(held.Release().ok());
  auto second = waiter.get();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(second->dir(), dir);
  // A shared user waits for the locked holder as well.
  auto shared = std::async(std::launch::async, [&] {
    return cm_->Acquire("apt", CacheSharing::kShared, nullptr, {});
  });
  EXPECT_EQ(shared.wait_for(300ms), std::future_status::timeout);
  ASSERT_TRUE(second->Release().ok());
  auto s = shared.get();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->dir(), dir);
}

TEST_F(CacheMountsTest, LockedWaitIsCancelledByStopToken) {
  CacheMountLease held = MustAcquire("apt", CacheSharing::kLocked);
  std::stop_source stop;
  auto waiter = std::async(std::launch::async, [&] {
    return cm_->Acquire("apt", CacheSharing::kLocked, nullptr,
                        stop.get_token());
  });
  std::this_thread::sleep_for(200ms);
  auto start = std::chrono::steady_clock::now();
  stop.request_stop();
  auto r = waiter.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_NE(r.status().message().find("apt"), std::string::npos);
}

TEST_F(CacheMountsTest, PrivateHandsOutDistinctDirsAndReusesIdleSpares) {
  CacheMountLease p1 = MustAcquire("cc", CacheSharing::kPrivate);
  CacheMountLease p2 = MustAcquire("cc", CacheSharing::kPrivate);
  CacheMountLease p3 = MustAcquire("cc", CacheSharing::kPrivate);
  EXPECT_NE(p1.dir(), p2.dir());
  EXPECT_NE(p2.dir(), p3.dir());
  EXPECT_NE(p1.dir(), p3.dir());
  EXPECT_EQ(inits_, 3);
  WriteFile(p2.dir() + "/mine", "p2");
  const std::string spare = p2.dir();
  ASSERT_TRUE(p2.Release().ok());
  CacheMountLease p4 = MustAcquire("cc", CacheSharing::kPrivate);
  EXPECT_EQ(p4.dir(), spare);  // the idle spare, not a new one
  EXPECT_EQ(ReadFile(p4.dir() + "/mine"), "p2");
  EXPECT_EQ(inits_, 3);
  // Private never takes the main dir from a shared user.
  ASSERT_TRUE(p1.Release().ok());
  CacheMountLease s = MustAcquire("cc", CacheSharing::kShared);
  CacheMountLease p5 = MustAcquire("cc", CacheSharing::kPrivate);
  EXPECT_NE(p5.dir(), s.dir());
  EXPECT_NE(p5.dir(), p3.dir());
  EXPECT_NE(p5.dir(), p4.dir());
}

TEST_F(CacheMountsTest, InitErrorIsReturnedAndLeavesNoDir) {
  auto r = cm_->Acquire("bad", CacheSharing::kShared,
                        [](const std::string& dir) {
                          WriteFile(dir + "/partial", "x");
                          return InternalError("copy failed");
                        },
                        {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("copy failed"), std::string::npos);
  CacheMountLease l = MustAcquire("bad", CacheSharing::kShared);
  EXPECT_FALSE(Exists(l.dir() + "/partial"));
  EXPECT_EQ(ReadFile(l.dir() + "/marker"), "init 1");
}

TEST_F(CacheMountsTest, CrashDuringInitLeavesNoHalfDir) {
  const std::string root = dir_.path() + "/cm";
  pid_t pid = testing::ForkChild([&] {
    auto cm = CacheMounts::Open(root);
    if (!cm.ok()) return 2;
    auto l = (*cm)->Acquire("crash", CacheSharing::kLocked,
                            [](const std::string& dir) {
                              WriteFile(dir + "/half", "half written");
                              _exit(0);  // killed in the middle of init
                              return Status::Ok();
                            },
                            {});
    return 3;
  });
  ASSERT_GT(pid, 0);
  ASSERT_EQ(testing::WaitExitCode(pid), 0);
  auto ids = cm_->List();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<std::string>{"crash"});

  CacheMountLease l = MustAcquire("crash", CacheSharing::kShared);
  EXPECT_EQ(inits_, 1);
  EXPECT_FALSE(Exists(l.dir() + "/half"));
  EXPECT_EQ(ReadFile(l.dir() + "/marker"), "init 1");
  EXPECT_FALSE(Exists(l.dir() + ".init"));
}

TEST_F(CacheMountsTest, TwoObjectsOnOneRootRespectLocked) {
  auto other = CacheMounts::Open(dir_.path() + "/cm");
  ASSERT_TRUE(other.ok());
  CacheMountLease held = MustAcquire("apt", CacheSharing::kLocked);
  std::atomic<bool> got{false};
  auto waiter = std::async(std::launch::async, [&] {
    auto l = (*other)->Acquire("apt", CacheSharing::kLocked, nullptr, {});
    got = true;
    return l;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(got);
  // Private through the other object skips the locked main dir.
  CacheMountLease p = MustAcquire("apt", CacheSharing::kPrivate, other->get());
  EXPECT_NE(p.dir(), held.dir());
  const std::string dir = held.dir();
  ASSERT_TRUE(held.Release().ok());
  auto l = waiter.get();
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->dir(), dir);
}

TEST_F(CacheMountsTest, LockedHoldsAcrossProcesses) {
  const std::string root = dir_.path() + "/cm";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = testing::ForkChild([&] {
    close(ready[0]);
    auto cm = CacheMounts::Open(root);
    if (!cm.ok()) return 2;
    auto l = (*cm)->Acquire("x", CacheSharing::kLocked, nullptr, {});
    if (!l.ok()) return 3;
    if (write(ready[1], "r", 1) != 1) return 4;
    std::this_thread::sleep_for(500ms);
    return 0;
  });
  ASSERT_GT(pid, 0);
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  auto start = std::chrono::steady_clock::now();
  CacheMountLease l = MustAcquire("x", CacheSharing::kLocked);
  EXPECT_GT(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(testing::WaitExitCode(pid), 0);
}

TEST_F(CacheMountsTest, RemoveAndList) {
  {
    CacheMountLease a = MustAcquire("b-id", CacheSharing::kShared);
    CacheMountLease b = MustAcquire("a/id with spaces", CacheSharing::kPrivate);
    auto ids = cm_->List();
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, (std::vector<std::string>{"a/id with spaces", "b-id"}));
    Status busy = cm_->Remove("b-id");
    EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition) << busy.ToString();
    EXPECT_TRUE(Exists(a.dir()));
  }
  ASSERT_TRUE(cm_->Remove("b-id").ok());
  EXPECT_EQ(cm_->Remove("b-id").code(), StatusCode::kNotFound);
  auto ids = cm_->List();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<std::string>{"a/id with spaces"});
  // A removed id starts afresh.
  CacheMountLease c = MustAcquire("b-id", CacheSharing::kShared);
  EXPECT_FALSE(Exists(c.dir() + "/data"));
  EXPECT_EQ(
      cm_->Acquire("", CacheSharing::kShared, nullptr, {}).status().code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::solver
