// What keeps garbage collection (solver_gc*.cc) away from what running
// solves use. Private to solver-core.
//
// The scheme: every place where a solve picks up an existing snapshot — a
// cache index hit, an image's layer snapshot, a source's snapshot, a
// directory's snapshot copy, another solve's result for the same key —
// finds it and holds it inside one shared section of `lock()`; Prune
// checks that a record is not held (nor an ancestor of a held or active
// snapshot), forgets it in the index and deletes its files inside one
// exclusive section. So a solve either holds a snapshot before Prune looks
// at it (and Prune skips it) or looks it up after Prune forgot it (a miss:
// the op runs again); it never holds one whose files are going away.
// Snapshots a solve just made are held before the index records them, and
// Prune never removes an output snapshot the index does not record.
// Holds last until the solve ends (its automatic GC runs before that, so
// the solve's own result survives it).
//
// Thread safety: all methods may be called from any thread.
#ifndef KILN_SOLVER_SRC_SOLVER_GC_GUARD_H_
#define KILN_SOLVER_SRC_SOLVER_GC_GUARD_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace kiln::solver::internal {

// The usage (CacheIndex::MarkUsed) name of local source state `base`
// (<locals>/<id>): "local:<id>".
inline std::string LocalUsageName(const std::string& base) {
  return "local:" + base.substr(base.rfind('/') + 1);
}

class GcGuard {
 public:
  std::shared_mutex& lock() { return lock_; }

  // Refcounted holds by snapshot name. Hold() needs a shared section of
  // lock() (the caller checked the snapshot exists inside it).
  void Hold(const std::string& name) {
    std::lock_guard<std::mutex> l(mu_);
    ++held_[name];
  }
  void Release(const std::vector<std::string>& names) {
    std::lock_guard<std::mutex> l(mu_);
    for (const std::string& name : names) {
      auto it = held_.find(name);
      if (it != held_.end() && --it->second <= 0) held_.erase(it);
    }
  }
  std::set<std::string> Held() const {
    std::lock_guard<std::mutex> l(mu_);
    std::set<std::string> out;
    for (const auto& [name, count] : held_) out.insert(name);
    return out;
  }

  // Automatic GC's running estimate of the cache size: -1 until a full scan
  // measured it; then that scan's total plus what solves added since.
  std::atomic<int64_t> estimate{-1};
  std::atomic<int> solves_since_scan{0};
  // Snapshot sizes known to the estimate (so each is added once).
  std::mutex sizes_mu;
  std::map<std::string, int64_t> known_sizes;  // guarded by sizes_mu
  // One automatic GC at a time.
  std::mutex auto_mu;

 private:
  std::shared_mutex lock_;
  mutable std::mutex mu_;  // guards held_
  std::map<std::string, int> held_;
};

// The holds of one solve, released when it is destroyed.
class SolveHolds {
 public:
  explicit SolveHolds(GcGuard& guard) : guard_(guard) {}
  ~SolveHolds() { guard_.Release(names_); }
  SolveHolds(const SolveHolds&) = delete;
  SolveHolds& operator=(const SolveHolds&) = delete;

  // Needs a shared section of guard().lock(), as GcGuard::Hold.
  void Add(const std::string& name) {
    if (name.empty()) return;
    guard_.Hold(name);
    std::lock_guard<std::mutex> l(mu_);
    names_.push_back(name);
  }
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> l(mu_);
    return names_;
  }
  GcGuard& guard() { return guard_; }

 private:
  GcGuard& guard_;
  mutable std::mutex mu_;
  std::vector<std::string> names_;  // with repeats, as held
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SOLVER_GC_GUARD_H_
