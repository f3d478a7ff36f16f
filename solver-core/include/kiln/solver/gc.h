// Disk usage and garbage collection of the engine's cache, as BuildKit's
// `buildctl du` / `buildctl prune` and buildkitd's GC policies.
//
// A usage record is one thing the cache holds that can be removed on its
// own: a snapshot (type "regular": an op's output recorded in the cache
// index, an unpacked image layer, a running op's work snapshot; its packed
// layer blob with it unless an image or another record needs the blob), a
// snapshot copy of a local directory or a synced local source tree
// ("source.local"), a cache mount ("exec.cachemount"), a git mirror
// ("source.git.checkout"), an HTTP download ("regular"). Unpacked frontend
// roots ("frontend") are the gateway's and not listed here yet. Images
// named in the image store are not cache records: `kiln image rm` removes
// them (their blobs stay while an image names them). docs/gc.md has the
// details.
//
// Records in use by a running solve (or parents of a record in use) are
// reported with in_use and never removed; removing a snapshot also forgets
// its cache index entries, so a later build runs the op again (it never sees
// a half-removed record). Sizes are bytes on disk (allocated blocks), each
// byte counted in one record only.
#ifndef KILN_SOLVER_GC_H_
#define KILN_SOLVER_GC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver {

struct UsageRecord {
  std::string id;               // stable while the record exists
  std::string type;             // see the file comment
  std::string description;      // e.g. the op that made it
  int64_t size = 0;             // bytes on disk this record alone frees
  int64_t created_at_ns = 0;    // Unix time
  int64_t last_used_at_ns = 0;  // Unix time; 0 when never used since made
  int64_t usage_count = 0;
  bool in_use = false;
  bool is_mutable = false;  // cache mounts, local trees
  bool shared = false;      // its bytes are also held by another record
  std::vector<std::string> parents;  // ids of the records it builds on
};

// A Go duration ("48h", "1h30m", "90s", "250ms", "1.5h"; units ns, us, ms,
// s, m, h) in nanoseconds, for keep durations and `until` filters.
// InvalidArgument naming the text for anything else, or a negative one.
Result<int64_t> ParseGcDuration(std::string_view text);

// Checks filters (PruneOptions::filters syntax) without using them:
// InvalidArgument naming the first bad one.
Status CheckGcFilters(const std::vector<std::string>& filters);

// One pruning pass; also one GC policy entry (buildkitd.toml
// [[worker.oci.gcpolicy]]). Durations in nanoseconds, sizes in bytes; 0
// means "not set".
//
// BuildKit's semantics: the candidates are the records that match the
// filters, are not in use and were not used within keep_duration; without
// `all`, shared records are not candidates either. With none of the size
// limits set every candidate goes; else the candidates go least recently
// used first (children before their parents) until the cache total is at
// most the size to keep: max_used_space, lowered so that the disk gets
// min_free_space free, but never below reserved_space.
struct PruneOptions {
  // containerd-style filters: "type==regular", "type==exec.cachemount",
  // "id==…", "description~=…" (a regex), "until=24h" (not used within
  // that long); operators ==, != and ~= on the fields type, id,
  // description and parents; comma-separated clauses in one filter and all
  // the filters must match. A bad filter is InvalidArgument naming it.
  std::vector<std::string> filters;
  bool all = false;              // also records used recently / shared
  int64_t keep_duration_ns = 0;  // keep records used within this long
  int64_t reserved_space = 0;    // keep at least this many bytes (keepBytes)
  int64_t max_used_space = 0;    // prune down to at most this many bytes
  int64_t min_free_space = 0;    // prune until the disk has this much free
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_GC_H_
