// Opening a CacheIndex: connection settings, integrity check and schema.
#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "cache_index_impl.h"
#include "kiln/solver/cache_index.h"
#include "sqlite_db.h"

namespace kiln::solver {
namespace {

using internal::Query;
using internal::SqliteDb;
using internal::Transaction;

// Long enough for another process's largest write (ForgetSnapshot of a
// widely shared snapshot) to finish.
constexpr int kBusyTimeoutMs = 10'000;

// Version 1. A record's outputs are rows of record_outputs (slots 0 ..
// num_outputs-1), so ForgetSnapshot finds them through an index; num_outputs
// lets a reader tell a complete record from a damaged one. Digests are
// stored as "sha256:<hex>" text.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE records (
  key TEXT NOT NULL PRIMARY KEY,
  description TEXT NOT NULL,
  num_outputs INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE record_outputs (
  key TEXT NOT NULL,
  slot INTEGER NOT NULL,
  snapshot TEXT NOT NULL,
  PRIMARY KEY (key, slot)
) WITHOUT ROWID;
CREATE INDEX record_outputs_by_snapshot ON record_outputs (snapshot);
CREATE TABLE checksums (
  snapshot TEXT NOT NULL,
  spec TEXT NOT NULL,
  checksum TEXT NOT NULL,
  PRIMARY KEY (snapshot, spec)
) WITHOUT ROWID;
CREATE TABLE layers (
  snapshot TEXT NOT NULL PRIMARY KEY,
  media_type TEXT NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  diff_id TEXT NOT NULL,
  annotations TEXT NOT NULL,
  urls TEXT NOT NULL,
  artifact_type TEXT NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

// Version 2: how cache entries were used (created, last used, use count),
// keyed by snapshot name or another entry name (gc.h).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE usage (
  name TEXT NOT NULL PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER NOT NULL,
  count INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 2;
)sql";

// Switches to WAL (persistent: recorded in the file) and checks that it
// took; it does not on file systems without shared memory support.
Status EnableWal(SqliteDb& db) {
  Query query(db, "PRAGMA journal_mode = WAL", "enabling wal mode");
  KILN_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row || query.Text(0) != "wal") {
    return db.Error(StatusCode::kFailedPrecondition,
                    "cannot enable wal mode (journal mode is \"" +
                        std::string(query.Text(0)) + "\")");
  }
  return Status::Ok();
}

Status QuickCheck(SqliteDb& db) {
  Query query(db, "PRAGMA quick_check", "checking integrity");
  std::string problems;
  int count = 0;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    if (query.Text(0) == "ok") continue;
    if (++count <= 3) {
      if (!problems.empty()) problems += "; ";
      problems += query.Text(0);
    }
  }
  if (count == 0) return Status::Ok();
  return db.Error(StatusCode::kDataLoss, "integrity check failed (" +
                                             std::to_string(count) +
                                             " problems): " + problems);
}

// Creates the schema of a new file, or checks an existing file's version.
// In a write transaction, so that two processes creating one file at once
// do not both create it.
Status PrepareSchema(SqliteDb& db) {
  KILN_ASSIGN_OR_RETURN(auto txn, Transaction::Begin(db, /*write=*/true));
  int64_t version = 0;
  {
    Query query(db, "PRAGMA user_version", "reading the schema version");
    KILN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (row) version = query.Int(0);
  }
  if (version > kCacheIndexSchemaVersion) {
    return db.Error(StatusCode::kFailedPrecondition,
                    "schema version " + std::to_string(version) +
                        " is newer than this kiln reads (" +
                        std::to_string(kCacheIndexSchemaVersion) +
                        "); written by a newer kiln");
  }
  if (version == kCacheIndexSchemaVersion) return txn->Commit();
  if (version != 0 && version != 1) {
    return db.Error(StatusCode::kDataLoss,
                    "unknown schema version " + std::to_string(version));
  }
  if (version == 0) {
    KILN_RETURN_IF_ERROR(db.Exec(kSchemaV1, "creating the schema"));
  }
  KILN_RETURN_IF_ERROR(db.Exec(kSchemaV2, "upgrading the schema to 2"));
  return txn->Commit();
}

}  // namespace

namespace internal {

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace internal

Result<std::unique_ptr<CacheIndex>> CacheIndex::Open(
    const std::string& path, const CacheIndexOptions& options) {
  std::string label = "cache index " + path;
  if (path.empty()) return InvalidArgumentError("cache index: empty path");
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return InternalError(label + ": creating " + parent.string() + ": " +
                           ec.message());
    }
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                        SqliteDb::Open(path, label, kBusyTimeoutMs));
  // The first statement reads the header: a file that is not a database
  // fails here with DataLoss.
  KILN_RETURN_IF_ERROR(EnableWal(*db));
  // NORMAL, not FULL: see the header. Per connection, so set on each open.
  KILN_RETURN_IF_ERROR(
      db->Exec("PRAGMA synchronous = NORMAL", "setting synchronous mode"));
  KILN_RETURN_IF_ERROR(QuickCheck(*db));
  KILN_RETURN_IF_ERROR(PrepareSchema(*db));

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->db = std::move(db);
  return std::unique_ptr<CacheIndex>(new CacheIndex(std::move(impl)));
}

CacheIndex::CacheIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CacheIndex::~CacheIndex() = default;

const std::string& CacheIndex::path() const { return impl_->path; }

}  // namespace kiln::solver
