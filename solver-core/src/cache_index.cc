// CacheIndex: vertex records (key → output snapshots).
#include "kiln/solver/cache_index.h"

#include <mutex>
#include <string>
#include <utility>

#include "cache_index_impl.h"
#include "sqlite_db.h"

namespace kiln::solver {
namespace {

using internal::Query;
using internal::SqliteDb;
using internal::Transaction;

// One row per output, records without outputs as one row with a NULL slot;
// ordered so that a record's rows are adjacent and in slot order.
constexpr const char* kLookupSql =
    "SELECT r.key, r.description, r.num_outputs, r.created_ms, "
    "r.last_used_ms, o.slot, o.snapshot FROM records r "
    "LEFT JOIN record_outputs o ON o.key = r.key WHERE r.key = ?1 "
    "ORDER BY o.slot";
constexpr const char* kListSql =
    "SELECT r.key, r.description, r.num_outputs, r.created_ms, "
    "r.last_used_ms, o.slot, o.snapshot FROM records r "
    "LEFT JOIN record_outputs o ON o.key = r.key "
    "ORDER BY r.last_used_ms, r.key, o.slot";

// Reads the rows of kLookupSql/kListSql into records. One statement reads
// one consistent snapshot of the database, so a record and its outputs
// always agree unless the file itself is damaged: that is DataLoss.
Result<std::vector<CacheRecord>> ReadRecords(SqliteDb& db, Query& query) {
  std::vector<CacheRecord> records;
  std::vector<int64_t> expected;  // num_outputs of each record
  std::string last_key;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    std::string_view key = query.Text(0);
    if (records.empty() || key != last_key) {
      last_key = std::string(key);
      Result<Digest> digest = Digest::Parse(key);
      if (!digest.ok()) {
        return db.Error(StatusCode::kDataLoss,
                        "record with a bad key: " + digest.status().message());
      }
      records.push_back({.key = *std::move(digest),
                         .description = std::string(query.Text(1)),
                         .created_unix_ms = query.Int(3),
                         .last_used_unix_ms = query.Int(4)});
      expected.push_back(query.Int(2));
    }
    if (query.IsNull(5)) continue;
    CacheRecord& record = records.back();
    if (query.Int(5) != static_cast<int64_t>(record.outputs.size())) {
      return db.Error(StatusCode::kDataLoss,
                      "record " + record.key.str() + " misses output " +
                          std::to_string(record.outputs.size()));
    }
    record.outputs.emplace_back(query.Text(6));
  }
  for (size_t i = 0; i < records.size(); ++i) {
    if (static_cast<int64_t>(records[i].outputs.size()) != expected[i]) {
      return db.Error(StatusCode::kDataLoss,
                      "record " + records[i].key.str() + " has " +
                          std::to_string(records[i].outputs.size()) +
                          " outputs, expected " + std::to_string(expected[i]));
    }
  }
  return records;
}

Status CheckKey(const Digest& key) {
  if (key.valid()) return Status::Ok();
  return InvalidArgumentError("cache index: invalid cache key");
}

}  // namespace

Result<std::optional<CacheRecord>> CacheIndex::Lookup(const Digest& key) {
  KILN_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  std::vector<CacheRecord> records;
  {
    Query query(db, kLookupSql, "looking up " + key.str());
    query.Bind(1, key.str());
    KILN_ASSIGN_OR_RETURN(records, ReadRecords(db, query));
  }
  if (records.empty()) return std::optional<CacheRecord>();
  CacheRecord& record = records.front();
  int64_t now = internal::UnixMillisNow();
  if (now - record.last_used_unix_ms >=
          impl_->options.last_used_resolution_ms &&
      now > record.last_used_unix_ms) {
    // Its own small transaction, after the read: a lookup never holds the
    // write lock while reading. A failed refresh (the file stayed locked)
    // only ages the record for pruning, so the hit is still returned.
    Query touch(db,
                "UPDATE records SET last_used_ms = ?2 "
                "WHERE key = ?1 AND last_used_ms < ?2",
                "refreshing " + key.str());
    touch.Bind(1, key.str()).Bind(2, now);
    if (touch.Run().ok()) record.last_used_unix_ms = now;
  }
  return std::optional<CacheRecord>(std::move(record));
}

Status CacheIndex::Record(const Digest& key,
                          const std::vector<std::string>& outputs,
                          std::string_view description) {
  KILN_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  const std::string what = "recording " + key.str();
  int64_t now = internal::UnixMillisNow();
  KILN_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db, /*write=*/true));
  {
    Query clear(db, "DELETE FROM record_outputs WHERE key = ?1", what);
    KILN_RETURN_IF_ERROR(clear.Bind(1, key.str()).Run());
  }
  {
    Query put(db,
              "INSERT OR REPLACE INTO records (key, description, num_outputs, "
              "created_ms, last_used_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
              what);
    put.Bind(1, key.str())
        .Bind(2, description)
        .Bind(3, static_cast<int64_t>(outputs.size()))
        .Bind(4, now);
    KILN_RETURN_IF_ERROR(put.Run());
  }
  for (size_t slot = 0; slot < outputs.size(); ++slot) {
    Query output(db,
                 "INSERT INTO record_outputs (key, slot, snapshot) "
                 "VALUES (?1, ?2, ?3)",
                 what);
    output.Bind(1, key.str())
        .Bind(2, static_cast<int64_t>(slot))
        .Bind(3, outputs[slot]);
    KILN_RETURN_IF_ERROR(output.Run());
  }
  return txn->Commit();
}

Status CacheIndex::Remove(const Digest& key) {
  KILN_RETURN_IF_ERROR(CheckKey(key));
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  const std::string what = "removing " + key.str();
  KILN_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db, /*write=*/true));
  {
    Query outputs(db, "DELETE FROM record_outputs WHERE key = ?1", what);
    KILN_RETURN_IF_ERROR(outputs.Bind(1, key.str()).Run());
  }
  {
    Query record(db, "DELETE FROM records WHERE key = ?1", what);
    KILN_RETURN_IF_ERROR(record.Bind(1, key.str()).Run());
  }
  return txn->Commit();
}

Result<std::vector<CacheRecord>> CacheIndex::List() {
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  Query query(db, kListSql, "listing records");
  return ReadRecords(db, query);
}

Status CacheIndex::ForgetSnapshot(const std::string& snapshot) {
  if (snapshot.empty()) {
    return InvalidArgumentError(
        "cache index: cannot forget the empty snapshot name");
  }
  std::lock_guard lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  const std::string what = "forgetting snapshot " + snapshot;
  KILN_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db, /*write=*/true));
  // Records first: their keys are found through record_outputs. Each
  // statement evaluates its (uncorrelated) subquery once, before deleting.
  constexpr const char* kStatements[] = {
      "DELETE FROM records WHERE key IN "
      "(SELECT key FROM record_outputs WHERE snapshot = ?1)",
      "DELETE FROM record_outputs WHERE key IN "
      "(SELECT key FROM record_outputs WHERE snapshot = ?1)",
      "DELETE FROM checksums WHERE snapshot = ?1",
      "DELETE FROM layers WHERE snapshot = ?1",
      "DELETE FROM usage WHERE name = ?1",
  };
  for (const char* sql : kStatements) {
    Query query(db, sql, what);
    KILN_RETURN_IF_ERROR(query.Bind(1, snapshot).Run());
  }
  return txn->Commit();
}

}  // namespace kiln::solver
