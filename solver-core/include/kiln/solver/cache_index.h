// The solver's persistent cache index: vertex cache key → committed output
// snapshots, plus facts about committed (immutable) snapshots that are costly
// to recompute: content checksums of paths inside them and their layer blobs.
// One SQLite database file (DESIGN.md, "Storage": meta.db) in WAL mode.
//
// Crash safety: every write is one transaction, so a process killed at any
// point leaves either the whole write or none of it; a record is never read
// back with missing outputs. The database uses synchronous=NORMAL: in WAL
// mode that never corrupts the file, and a process crash loses nothing that
// was committed; only an OS crash or power loss may roll back the last few
// commits. For a cache that costs a recomputation, never a wrong result,
// and it saves an fsync per write (FULL would fsync on every commit,
// including every Lookup that refreshes last_used).
//
// Sharing: several CacheIndex objects (in one process or in several) may
// open the same file; each waits up to 10 seconds for another's write
// transaction before failing with Unavailable.
//
// Errors name the file: "cache index /var/lib/kiln/meta.db: ...".
// DataLoss when the file is not a database or is damaged; Unavailable when
// it stays locked; Internal for other SQLite failures.
//
// Thread safety: all methods may be called concurrently; one connection per
// object, serialized by an internal mutex.
#ifndef KILN_SOLVER_CACHE_INDEX_H_
#define KILN_SOLVER_CACHE_INDEX_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/layer.h"

namespace kiln::solver {

// The schema version this build reads and writes (PRAGMA user_version).
// Version 2 added the usage table (du/prune); a version 1 file is upgraded
// in place on Open.
inline constexpr int kCacheIndexSchemaVersion = 2;

struct CacheRecord {
  Digest key;  // vertex cache key (cache_key.h)
  // The committed snapshot name of each output slot; "" = empty filesystem.
  std::vector<std::string> outputs;
  std::string description;  // vertex name, for du/prune listings
  int64_t created_unix_ms = 0;
  int64_t last_used_unix_ms = 0;

  friend bool operator==(const CacheRecord&, const CacheRecord&) = default;
};

// How a cache entry (a snapshot, a cache mount, a local tree...) was used:
// for du listings and LRU pruning (gc.h).
struct UsageStats {
  int64_t created_unix_ms = 0;
  int64_t last_used_unix_ms = 0;
  int64_t count = 0;

  friend bool operator==(const UsageStats&, const UsageStats&) = default;
};

struct CacheIndexOptions {
  // Lookup refreshes last_used only when the stored time is at least this
  // old, so that hot keys do not turn every lookup into a write (LRU pruning
  // needs no finer clock). 0 refreshes on every hit.
  int64_t last_used_resolution_ms = 1000;
};

class CacheIndex final : public LayerCache {
 public:
  // Opens the database at `path`, creating it (and its parent directories)
  // when absent, and checks it with PRAGMA quick_check.
  // Errors: DataLoss when the file is not a SQLite database or fails the
  // check; FailedPrecondition when it was written by a newer schema version
  // (or WAL mode cannot be enabled); Internal when it cannot be created.
  static Result<std::unique_ptr<CacheIndex>> Open(
      const std::string& path, const CacheIndexOptions& options = {});
  ~CacheIndex() override;
  CacheIndex(const CacheIndex&) = delete;
  CacheIndex& operator=(const CacheIndex&) = delete;

  const std::string& path() const;

  // --- Vertex records -------------------------------------------------------

  // The record of `key`, or nullopt. A hit refreshes last_used (see
  // CacheIndexOptions); the returned record carries the refreshed time.
  // DataLoss when the stored record is inconsistent.
  Result<std::optional<CacheRecord>> Lookup(const Digest& key);
  // Records (replacing any record of `key`; created = last_used = now) the
  // outputs of `key`. InvalidArgument for an invalid key.
  Status Record(const Digest& key, const std::vector<std::string>& outputs,
                std::string_view description);
  // Removes the record of `key`; removing an absent key is not an error.
  Status Remove(const Digest& key);
  // Every record, least recently used first (ties by key): prune order.
  Result<std::vector<CacheRecord>> List();

  // Removes every record with an output named `snapshot`, and the layer and
  // checksum entries of `snapshot` (when the snapshot went missing or was
  // collected). InvalidArgument for "" (the empty filesystem is no snapshot).
  Status ForgetSnapshot(const std::string& snapshot);

  // --- Usage of cache entries (gc.h) ----------------------------------------

  // Marks each of `names` (snapshot names or other entry names the caller
  // chooses) used now, in one transaction: a new name gets created =
  // last_used = now and count 1; a known one count + 1 and last_used = now.
  // Returns the names that were new.
  Result<std::vector<std::string>> MarkUsed(
      const std::vector<std::string>& names);
  // Every entry's usage.
  Result<std::map<std::string, UsageStats>> Usage();
  // Removes the usage of `name` (absent is not an error). ForgetSnapshot
  // does this for the snapshot too.
  Status ForgetUsage(const std::string& name);
  // snapshot → digest of its recorded layer blob, for every snapshot with
  // one.
  Result<std::map<std::string, Digest>> LayerDigests();

  // --- Facts about committed snapshots --------------------------------------

  // Content checksum of a path in committed snapshot `snapshot`; `spec` is an
  // opaque string the caller builds (path and options). Kept until
  // ForgetSnapshot(snapshot).
  Result<std::optional<Digest>> GetChecksum(const std::string& snapshot,
                                            const std::string& spec);
  // Records (replacing) a checksum. InvalidArgument for an invalid digest.
  Status PutChecksum(const std::string& snapshot, const std::string& spec,
                     const Digest& checksum);

  // LayerCache. The descriptor's media type, digest, size, annotations,
  // urls and artifact type are kept (platform is not: layers have none).
  // GetLayer returns nullopt on a read error too (a miss costs only a
  // recomputation). PutLayer: InvalidArgument for an invalid digest or
  // diff_id.
  std::optional<LayerBlob> GetLayer(const std::string& snapshot) override;
  Status PutLayer(const std::string& snapshot, const LayerBlob& layer) override;

  struct Impl;  // implementation detail

 private:
  explicit CacheIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_CACHE_INDEX_H_
