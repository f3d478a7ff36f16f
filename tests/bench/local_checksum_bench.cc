// Local source costs on a 10,000-file tree (100 directories of 100 files of
// ~1 KiB, made in a temporary directory at start): the first (cold)
// checksum, the no-op re-checksum with the persisted cache (one metadata
// walk, no file reads: "files_read" must stay 0), and a no-op SyncLocal
// into an up-to-date destination.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "kiln/solver/content_checksum.h"
#include "kiln/solver/local_source.h"

namespace kiln::solver {
namespace {

struct Tree {
  std::string base;
  std::string src;
  Tree() {
    const char* tmpdir = getenv("TMPDIR");
    std::string tmpl =
        std::string(tmpdir != nullptr ? tmpdir : "/tmp") + "/kiln-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    base = tmpl;
    src = base + "/src";
    std::string data(1000, 'x');
    timespec old[2] = {{1600000000, 0}, {1600000000, 0}};
    for (int d = 0; d < 100; ++d) {
      std::string dir = src + "/d" + std::to_string(d);
      std::filesystem::create_directories(dir);
      for (int f = 0; f < 100; ++f) {
        std::string path = dir + "/f" + std::to_string(f);
        FILE* out = fopen(path.c_str(), "w");
        if (out == nullptr) std::abort();
        fprintf(out, "%d %s", d * 100 + f, data.c_str());
        fclose(out);
        utimensat(AT_FDCWD, path.c_str(), old, 0);
      }
    }
    usleep(200'000);  // out of the checksummer's racy window
  }
  ~Tree() { std::filesystem::remove_all(base); }
};

Tree& GetTree() {
  static Tree tree;
  return tree;
}

void BM_ChecksumCold(benchmark::State& state) {
  Tree& t = GetTree();
  uint64_t reads = 0;
  int n = 0;
  for (auto _ : state) {
    std::string cache = t.base + "/cache-cold-" + std::to_string(n++);
    ContentChecksummer c(cache);
    auto d = c.Checksum(t.src, "");
    if (!d.ok()) state.SkipWithError(d.status().ToString().c_str());
    reads = c.stats().files_read;
    std::filesystem::remove_all(cache);
  }
  state.counters["files_read"] = static_cast<double>(reads);
}
BENCHMARK(BM_ChecksumCold)->Unit(benchmark::kMillisecond);

// A fresh checksummer each iteration: loads the cache file, then walks.
void BM_ChecksumNoOp(benchmark::State& state) {
  Tree& t = GetTree();
  std::string cache = t.base + "/cache-noop";
  {
    ContentChecksummer warm(cache);
    if (!warm.Checksum(t.src, "").ok()) std::abort();
  }
  uint64_t reads = 0;
  for (auto _ : state) {
    ContentChecksummer c(cache);
    auto d = c.Checksum(t.src, "");
    if (!d.ok()) state.SkipWithError(d.status().ToString().c_str());
    reads += c.stats().files_read;
  }
  state.counters["files_read"] = static_cast<double>(reads);
}
BENCHMARK(BM_ChecksumNoOp)->Unit(benchmark::kMillisecond);

// The same checksummer again (cache already in memory).
void BM_ChecksumNoOpInMemory(benchmark::State& state) {
  Tree& t = GetTree();
  ContentChecksummer c;
  if (!c.Checksum(t.src, "").ok()) std::abort();
  c.ResetStats();
  for (auto _ : state) {
    auto d = c.Checksum(t.src, "");
    if (!d.ok()) state.SkipWithError(d.status().ToString().c_str());
  }
  state.counters["files_read"] = static_cast<double>(c.stats().files_read);
}
BENCHMARK(BM_ChecksumNoOpInMemory)->Unit(benchmark::kMillisecond);

void BM_SyncLocalNoOp(benchmark::State& state) {
  Tree& t = GetTree();
  std::string dest = t.base + "/dest";
  if (!SyncLocal(t.src, dest).ok()) std::abort();
  uint64_t copied = 0;
  for (auto _ : state) {
    auto s = SyncLocal(t.src, dest);
    if (!s.ok()) state.SkipWithError(s.status().ToString().c_str());
    copied += s.ok() ? s->files_copied : 0;
  }
  state.counters["files_copied"] = static_cast<double>(copied);
}
BENCHMARK(BM_SyncLocalNoOp)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kiln::solver

BENCHMARK_MAIN();
