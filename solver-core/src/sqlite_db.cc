#include "sqlite_db.h"

#include <sqlite3.h>

#include <string>
#include <utility>

namespace kiln::solver::internal {
namespace {

StatusCode CodeOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kDataLoss;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return StatusCode::kResourceExhausted;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return StatusCode::kPermissionDenied;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                 std::string label,
                                                 int busy_timeout_ms) {
  sqlite3* db = nullptr;
  // NOMUTEX: the owner serializes calls; SQLite's own mutex would be a
  // second lock on every call.
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status(CodeOf(rc), label + ": opening: " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, std::move(label)));
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  // The last connection to close checkpoints the WAL and removes it.
  sqlite3_close(db_);
}

Status SqliteDb::Error(int rc, std::string_view what) const {
  std::string message = label_;
  message += ": ";
  message += what;
  message += ": ";
  // errmsg describes the most recent failure on the connection, which is
  // `rc` for every caller here; fall back to the generic text otherwise.
  message +=
      sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return Status(CodeOf(rc), std::move(message));
}

Status SqliteDb::Error(StatusCode code, std::string_view message) const {
  return Status(code, label_ + ": " + std::string(message));
}

Status SqliteDb::Exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, what);
  return Status::Ok();
}

Result<sqlite3_stmt*> SqliteDb::Prepare(std::string_view sql,
                                        std::string_view what) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(rc, what);
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

Query::Query(SqliteDb& db, std::string_view sql, std::string what)
    : db_(db), what_(std::move(what)) {
  Result<sqlite3_stmt*> stmt = db.Prepare(sql, what_);
  if (!stmt.ok()) {
    status_ = stmt.status();
    return;
  }
  stmt_ = *stmt;
}

Query::~Query() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& Query::Bind(int index, std::string_view text) {
  if (stmt_ == nullptr || !status_.ok()) return *this;
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(),
                               SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) status_ = db_.Error(rc, what_);
  return *this;
}

Query& Query::Bind(int index, int64_t value) {
  if (stmt_ == nullptr || !status_.ok()) return *this;
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) status_ = db_.Error(rc, what_);
  return *this;
}

Result<bool> Query::Step() {
  KILN_RETURN_IF_ERROR(status_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Keep the statement's message before reset() clears it.
  status_ = db_.Error(rc, what_);
  return status_;
}

Status Query::Run() {
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t Query::Changes() { return sqlite3_changes64(db_.handle()); }

std::string_view Query::Text(int column) {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

int64_t Query::Int(int column) { return sqlite3_column_int64(stmt_, column); }

bool Query::IsNull(int column) {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Transaction>> Transaction::Begin(SqliteDb& db,
                                                        bool write) {
  Query begin(db, write ? "BEGIN IMMEDIATE" : "BEGIN",
              "beginning a transaction");
  KILN_RETURN_IF_ERROR(begin.Run());
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!open_) return;
  Query rollback(db_, "ROLLBACK", "rolling back");
  rollback.Run().IgnoreError();  // SQLite rolls back by itself on failure
}

Status Transaction::Commit() {
  Query commit(db_, "COMMIT", "committing");
  KILN_RETURN_IF_ERROR(commit.Run());
  open_ = false;
  return Status::Ok();
}

}  // namespace kiln::solver::internal
