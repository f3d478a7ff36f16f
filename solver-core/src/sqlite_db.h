// A thin adapter over one SQLite connection: SQLite result codes become
// Status values naming the database ("cache index FILE: what: sqlite
// message"), prepared statements are cached for the connection's lifetime,
// and transactions roll back unless committed. Private to solver-core.
//
// Thread safety: none; the owner serializes every use of one SqliteDb (and
// of the Query and Transaction objects made from it).
#ifndef KILN_SOLVER_SRC_SQLITE_DB_H_
#define KILN_SOLVER_SRC_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kiln/llb/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kiln::solver::internal {

class SqliteDb {
 public:
  // Opens (creating) the database file `path` read-write, with extended
  // result codes and a busy timeout. `label` starts every error message
  // ("cache index /x/meta.db"). Only fails when SQLite cannot allocate or
  // open the file; a file that is not a database fails at its first read.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                std::string label,
                                                int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // The Status for SQLite result code `rc`: "<label>: <what>: <message>".
  // DataLoss for a damaged file or one that is not a database, Unavailable
  // when locked, ResourceExhausted when the disk is full, PermissionDenied
  // for read-only files, Internal otherwise.
  Status Error(int rc, std::string_view what) const;
  // An error of the given code, "<label>: <message>".
  Status Error(StatusCode code, std::string_view message) const;

  // Runs `sql` (one or more statements, no results) uncached: for schema
  // changes.
  Status Exec(const char* sql, std::string_view what);
  // The cached prepared statement for `sql`, which must outlive the
  // connection (a string literal): it is the cache key. `what` as in
  // Error().
  Result<sqlite3_stmt*> Prepare(std::string_view sql, std::string_view what);

  sqlite3* handle() { return db_; }
  const std::string& label() const { return label_; }

 private:
  SqliteDb(sqlite3* db, std::string label)
      : db_(db), label_(std::move(label)) {}
  sqlite3* db_;
  std::string label_;
  std::unordered_map<std::string_view, sqlite3_stmt*> statements_;
};

// One use of a cached statement: bind, step, read columns. Resets the
// statement (and clears its bindings) when destroyed. Bound text is not
// copied: it must outlive the Query.
class Query {
 public:
  // Prepares (or reuses) `sql` (a string literal, see Prepare). `what`
  // describes the operation in errors ("looking up sha256:...").
  Query(SqliteDb& db, std::string_view sql, std::string what);
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  // Bind parameter `index` (1-based). A bind failure is reported by the next
  // Step() or Run().
  Query& Bind(int index, std::string_view text);
  Query& Bind(int index, int64_t value);

  // Advances to the next row: true when there is one, false when done.
  Result<bool> Step();
  // Steps until done, ignoring rows (for writes).
  Status Run();
  // Rows changed by the last completed write on the connection.
  int64_t Changes();

  // Columns of the current row, 0-based. Text is valid until the next Step.
  std::string_view Text(int column);
  int64_t Int(int column);
  bool IsNull(int column);

 private:
  SqliteDb& db_;
  std::string what_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;  // the first prepare or bind error
};

// BEGIN IMMEDIATE (write) or BEGIN (read) ... COMMIT; rolls back on
// destruction unless committed. IMMEDIATE takes the write lock up front, so
// that a writer waits (busy timeout) instead of failing on upgrade.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> Begin(SqliteDb& db, bool write);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Commit();

 private:
  explicit Transaction(SqliteDb& db) : db_(db) {}
  SqliteDb& db_;
  bool open_ = true;
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SQLITE_DB_H_
