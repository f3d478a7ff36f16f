// CacheIndex: usage of cache entries (created, last used, use count) and the
// layer digests of snapshots, for disk usage and pruning (gc.h).
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cache_index_impl.h"
#include "kiln/solver/cache_index.h"
#include "sqlite_db.h"

namespace kiln::solver {

using internal::Query;
using internal::SqliteDb;
using internal::Transaction;

Result<std::vector<std::string>> CacheIndex::MarkUsed(
    const std::vector<std::string>& names) {
  std::vector<std::string> fresh;
  if (names.empty()) return fresh;
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  const int64_t now = internal::UnixMillisNow();
  KILN_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db, /*write=*/true));
  for (const std::string& name : names) {
    Query query(db,
                "INSERT INTO usage (name, created_ms, last_used_ms, count) "
                "VALUES (?1, ?2, ?2, 1) ON CONFLICT (name) DO UPDATE SET "
                "count = count + 1, last_used_ms = MAX(last_used_ms, ?2) "
                "RETURNING count",
                "marking " + name + " used");
    query.Bind(1, name).Bind(2, now);
    KILN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (row && query.Int(0) == 1) fresh.push_back(name);
    // Finish the statement: RETURNING writes when stepped to the end.
    while (row) {
      KILN_ASSIGN_OR_RETURN(row, query.Step());
    }
  }
  KILN_RETURN_IF_ERROR(txn->Commit());
  return fresh;
}

Result<std::map<std::string, UsageStats>> CacheIndex::Usage() {
  std::lock_guard lock(impl_->mu);
  Query query(*impl_->db,
              "SELECT name, created_ms, last_used_ms, count FROM usage",
              "listing usage");
  std::map<std::string, UsageStats> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    out[std::string(query.Text(0))] = UsageStats{
        .created_unix_ms = query.Int(1),
        .last_used_unix_ms = query.Int(2),
        .count = query.Int(3),
    };
  }
  return out;
}

Status CacheIndex::ForgetUsage(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  Query query(*impl_->db, "DELETE FROM usage WHERE name = ?1",
              "forgetting the usage of " + name);
  return query.Bind(1, name).Run();
}

Result<std::map<std::string, Digest>> CacheIndex::LayerDigests() {
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  Query query(db, "SELECT snapshot, digest FROM layers", "listing layers");
  std::map<std::string, Digest> out;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    Result<Digest> digest = Digest::Parse(query.Text(1));
    if (!digest.ok()) continue;  // GetLayer treats it as a miss too
    out[std::string(query.Text(0))] = *std::move(digest);
  }
  return out;
}

}  // namespace kiln::solver
