// CacheIndex internals shared by its .cc files: the connection, its lock and
// the schema. Private to solver-core.
#ifndef KILN_SOLVER_SRC_CACHE_INDEX_IMPL_H_
#define KILN_SOLVER_SRC_CACHE_INDEX_IMPL_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "kiln/solver/cache_index.h"
#include "sqlite_db.h"

namespace kiln::solver {

struct CacheIndex::Impl {
  std::string path;
  CacheIndexOptions options;
  std::mutex mu;  // guards db: one statement at a time on the connection
  std::unique_ptr<internal::SqliteDb> db;
};

namespace internal {

// Milliseconds since the Unix epoch, now.
int64_t UnixMillisNow();

}  // namespace internal
}  // namespace kiln::solver

#endif  // KILN_SOLVER_SRC_CACHE_INDEX_IMPL_H_
