// The garbage collection settings of the operator config (kiln.toml), as
// buildkitd.toml's: the [worker.oci] keys gc, gckeepstorage (and the newer
// reservedSpace, maxUsedSpace, minFreeSpace) and [[worker.oci.gcpolicy]]
// entries (all, keepDuration, filters, reservedSpace alias keepBytes,
// maxUsedSpace, minFreeSpace). See docs/gc.md.
//
// Part of the kiln_gc_config library so that the CLI and kilnd read the
// file alike. Thread safety: pure functions (LoadGcPolicies reads a file
// and stats a file system).
#ifndef KILN_CMD_KILN_GC_CONFIG_H_
#define KILN_CMD_KILN_GC_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/solver/gc.h"

namespace kiln::cli {

// A size as buildkitd reads one: bytes ("1048576"), a number with a binary
// unit ("512MB", "10GB", "1.5g", "100KiB": k/m/g/t/p are powers of 1024,
// as Docker's RAMInBytes), or a percentage of `disk_bytes` ("10%").
// InvalidArgument naming the text otherwise.
Result<int64_t> ParseByteSize(std::string_view text, int64_t disk_bytes);

// buildkitd's default policies for these caps (reserved, max used, min
// free; 0 = unset): recent cache of easily reproduced types (local
// sources, cache mounts, git) over 512MB after 48h, anything unused for 60
// days, then the cap without and finally with `all`.
std::vector<solver::PruneOptions> DefaultGcPolicies(int64_t reserved,
                                                    int64_t max_used,
                                                    int64_t min_free);

// The policies `text` (TOML, named `source_name` in errors) configures for
// a cache on a file system of `disk_bytes`: empty when gc = false; the
// configured [[worker.oci.gcpolicy]] entries; else the defaults with the
// configured caps (gckeepstorage = reserved space), or when none is set,
// reserved 10% of the disk (at most 10GB), max used 80% (at most 100GB)
// and min free 20%. InvalidArgument "<source>:<line>:<col>: gc config:
// ..." naming the key for unknown keys, wrong types and bad sizes or
// durations. Of buildkitd's other [worker.oci] keys, max-parallelism and
// binary are the engine's (WorkerSettings below) and `enabled = true` is
// accepted; the others
// (platforms, snapshotter, rootless, …) are errors saying kiln does not
// support them. Other tables of the file are not looked at.
Result<std::vector<solver::PruneOptions>> ParseGcConfig(
    std::string_view text, std::string_view source_name, int64_t disk_bytes);

// The size of the file system holding `dir` (or its nearest existing
// ancestor); 0 when unknown.
int64_t DiskBytesOf(const std::string& dir);

// ParseGcConfig of the file at `config_path` ("" = no file: the defaults)
// for a cache under `root_dir` (the file system is that of its nearest
// existing ancestor). Errors: the file cannot be read, or ParseGcConfig's.
Result<std::vector<solver::PruneOptions>> LoadGcPolicies(
    const std::string& config_path, const std::string& root_dir);

// buildkitd's [worker.oci] settings of the engine itself, for the embedded
// engine and kilnd alike: `binary` (the OCI runtime: "runc", "crun" or a
// path; KILN_RUNTIME overrides it) and `max-parallelism` (ops run at once;
// KILN_PARALLELISM and kilnd's flag override it). 0 / "" = not set.
struct WorkerSettings {
  std::string binary;
  int max_parallelism = 0;
};
// InvalidArgument "<source>:<line>:<col>: …" for a wrong type or range.
Result<WorkerSettings> ParseWorkerSettings(std::string_view text,
                                           std::string_view source_name);
// The same for the file at `config_path` ("" = nothing set).
Result<WorkerSettings> LoadWorkerSettings(const std::string& config_path);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_GC_CONFIG_H_
