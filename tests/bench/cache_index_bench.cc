// CacheIndex lookup latency with 100,000 records (3 outputs each) in a
// database on $TMPDIR. Keys are looked up in a pseudo-random order.
//   LookupHit/<resolution>: hits; resolution 1000 ms is the default (the
//     first hit on a record rewrites last_used, later ones within a second
//     do not), 0 rewrites last_used on every hit (a write transaction each),
//     -1 (effectively never) measures the read path alone.
//   LookupMiss: keys that are not there.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kiln/solver/cache_index.h"

namespace kiln::solver {
namespace {

constexpr int kRecords = 100'000;

Digest Key(int n) { return Digest::FromBytes("vertex " + std::to_string(n)); }

// The database, filled once per process and removed at exit.
class Fixture {
 public:
  Fixture() {
    const char* tmp = getenv("TMPDIR");
    std::string dir = std::string(tmp ? tmp : "/tmp") + "/kiln-bench-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) return;
    dir_ = dir;
    path_ = dir + "/meta.db";
    auto index = CacheIndex::Open(path_);
    if (!index.ok()) return;
    for (int i = 0; i < kRecords; ++i) {
      std::string s = "snapshot-" + std::to_string(i);
      if (!(*index)
               ->Record(Key(i), {s + "-0", s + "-1", ""}, "RUN step")
               .ok()) {
        return;
      }
    }
    ready_ = true;
  }
  ~Fixture() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  bool ready() const { return ready_; }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
  bool ready_ = false;
};

Fixture& Db() {
  static Fixture fixture;
  return fixture;
}

void BM_LookupHit(benchmark::State& state) {
  if (!Db().ready()) return state.SkipWithError("cannot fill the database");
  int64_t resolution = state.range(0) < 0
                           ? std::numeric_limits<int64_t>::max() / 2
                           : state.range(0);
  auto index =
      CacheIndex::Open(Db().path(), {.last_used_resolution_ms = resolution});
  if (!index.ok())
    return state.SkipWithError(index.status().ToString().c_str());
  std::vector<Digest> keys;
  for (int i = 0; i < kRecords; ++i) keys.push_back(Key(i));
  uint64_t n = 0;
  for (auto _ : state) {
    // An odd stride visits every key once per 100,000 lookups.
    const Digest& key = keys[(n++ * 7919) % kRecords];
    auto hit = (*index)->Lookup(key);
    if (!hit.ok() || !hit->has_value()) {
      return state.SkipWithError("lookup missed");
    }
    benchmark::DoNotOptimize(hit);
  }
}
BENCHMARK(BM_LookupHit)
    ->Arg(1000)
    ->Arg(0)
    ->Arg(-1)
    ->Unit(benchmark::kMicrosecond);

void BM_LookupMiss(benchmark::State& state) {
  if (!Db().ready()) return state.SkipWithError("cannot fill the database");
  auto index = CacheIndex::Open(Db().path());
  if (!index.ok())
    return state.SkipWithError(index.status().ToString().c_str());
  uint64_t n = 0;
  for (auto _ : state) {
    auto miss = (*index)->Lookup(Key(kRecords + static_cast<int>(n++ % 1000)));
    benchmark::DoNotOptimize(miss);
  }
}
BENCHMARK(BM_LookupMiss)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kiln::solver

BENCHMARK_MAIN();
