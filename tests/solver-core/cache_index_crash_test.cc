// CacheIndex under concurrent use and process crashes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kiln/solver/cache_index.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::ForkChild;
using testing::TempDir;

Digest Key(int n) { return Digest::FromBytes("vertex " + std::to_string(n)); }

// 1 to 8 outputs, some of them the empty filesystem, all derived from `n`,
// so that a reader can tell a complete record from a torn one.
std::vector<std::string> Outputs(int n) {
  std::vector<std::string> outputs;
  for (int i = 0; i <= n % 8; ++i) {
    outputs.push_back(i % 3 == 2 ? ""
                                 : "snap-" + std::to_string(n) + "-" +
                                       std::to_string(i));
  }
  return outputs;
}

void ExpectComplete(const CacheRecord& record) {
  int n = std::stoi(record.description);
  EXPECT_EQ(record.key, Key(n));
  EXPECT_EQ(record.outputs, Outputs(n)) << "record " << n;
}

TEST(CacheIndexConcurrencyTest, EightThreadsShareOneIndex) {
  TempDir tmp("kiln-cacheidx-");
  auto index =
      CacheIndex::Open(tmp.path() + "/meta.db", {.last_used_resolution_ms = 0});
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  constexpr int kThreads = 8, kPerThread = 150;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        if (!(*index)->Record(Key(n), Outputs(n), std::to_string(n)).ok()) {
          ++failures[t];
        }
        auto own = (*index)->Lookup(Key(n));
        if (!own.ok() || !own->has_value() || (*own)->outputs != Outputs(n)) {
          ++failures[t];
        }
        // Someone else's key: a hit or a miss, never an error or a torn
        // record.
        int m = ((t + 1) % kThreads) * kPerThread + i;
        auto other = (*index)->Lookup(Key(m));
        if (!other.ok() ||
            (other->has_value() && (*other)->outputs != Outputs(m))) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << t;
  auto list = (*index)->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), size_t{kThreads * kPerThread});
  for (const CacheRecord& record : *list) ExpectComplete(record);
}

TEST(CacheIndexConcurrencyTest, EightConnectionsOnOneFile) {
  TempDir tmp("kiln-cacheidx-");
  std::string path = tmp.path() + "/meta.db";
  constexpr int kThreads = 8, kPerThread = 60;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each its own connection, as separate processes would have; they
      // also race to create the schema.
      auto index = CacheIndex::Open(path);
      if (!index.ok()) {
        errors[t] = index.status().ToString();
        return;
      }
      for (int i = 0; i < kPerThread && errors[t].empty(); ++i) {
        int n = t * kPerThread + i;
        Status s = (*index)->Record(Key(n), Outputs(n), std::to_string(n));
        if (!s.ok()) errors[t] = s.ToString();
        auto other =
            (*index)->Lookup(Key((n + kPerThread) % (kThreads * kPerThread)));
        if (!other.ok()) errors[t] = other.status().ToString();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << t;
  auto index = CacheIndex::Open(path);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto list = (*index)->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), size_t{kThreads * kPerThread});
  for (const CacheRecord& record : *list) ExpectComplete(record);
}

// A child process records keys round*100000 + 0, 1, 2, ... in a loop and is
// killed with SIGKILL at a random moment, five times. After each kill the
// file must open (quick_check passes), every record must be whole, and the
// records of each round must be exactly 0..k-1 for some k: every commit
// before the kill survived, in order (synchronous=NORMAL loses nothing to
// a process crash).
TEST(CacheIndexCrashTest, KillNineWhileWriting) {
  TempDir tmp("kiln-cacheidx-");
  std::string path = tmp.path() + "/meta.db";
  std::mt19937 random(12345);
  constexpr int kRounds = 5, kRoundBase = 100000;
  size_t total = 0;
  for (int round = 0; round < kRounds; ++round) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = ForkChild([&] {
      close(ready[0]);
      // Opened in the child: a SQLite connection must not cross fork().
      auto index = CacheIndex::Open(path);
      if (!index.ok()) return 2;
      for (int i = 0;; ++i) {
        int n = round * kRoundBase + i;
        if (!(*index)->Record(Key(n), Outputs(n), std::to_string(n)).ok()) {
          return 3;
        }
        if (i == 50 && write(ready[1], "r", 1) != 1) return 4;
        if (i % 7 == 0) (*index)->Lookup(Key(n / 2)).status().IgnoreError();
      }
    });
    ASSERT_GT(pid, 0);
    close(ready[1]);
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1) << "child failed before writing";
    close(ready[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<int>(1000, 80000)(random)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited on its own with status " << status;

    auto index = CacheIndex::Open(path);
    ASSERT_TRUE(index.ok())
        << "round " << round << ": " << index.status().ToString();
    auto list = (*index)->List();
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::set<int>> by_round(kRounds);
    for (const CacheRecord& record : *list) {
      ExpectComplete(record);
      int n = std::stoi(record.description);
      by_round[n / kRoundBase].insert(n % kRoundBase);
    }
    for (int r = 0; r <= round; ++r) {
      ASSERT_GT(by_round[r].size(), 50u) << "round " << r;
      EXPECT_EQ(*by_round[r].rbegin(), static_cast<int>(by_round[r].size()) - 1)
          << "round " << r << ": committed records missing";
    }
    EXPECT_GT(list->size(), total);
    total = list->size();
    auto sample = (*index)->Lookup(Key(round * kRoundBase + 10));
    ASSERT_TRUE(sample.ok() && sample->has_value());
    ExpectComplete(**sample);
  }
  std::printf("records after %d kills: %zu\n", kRounds, total);
}

}  // namespace
}  // namespace kiln::solver
