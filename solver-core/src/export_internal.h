// Pieces of the exporters (exporter.h) shared between their files. Private
// to solver-core.
//
// Thread safety: values and RAII handles confined to one Export call.
#ifndef KILN_SOLVER_SRC_EXPORT_INTERNAL_H_
#define KILN_SOLVER_SRC_EXPORT_INTERNAL_H_

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/reference.h"
#include "kiln/llb/status.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/oci.h"
#include "runc_mounts.h"

namespace kiln::solver::internal {

// attrs[key] as a bool ("true"/"false", "1"/"0"); `fallback` when absent.
// InvalidArgument naming the key otherwise.
// Splits buildctl's CSV syntax (--output, --export-cache …) into fields: a
// quote may open anywhere in a field and "" inside quotes is a quote.
// InvalidArgument for an unterminated quote.
Result<std::vector<std::string>> SplitCsvFields(std::string_view spec);

Result<bool> AttrBool(const std::map<std::string, std::string>& attrs,
                      const std::string& key, bool fallback);
// attrs["source-date-epoch"] as seconds since the epoch; -1 when absent or
// empty. InvalidArgument for anything but a non-negative integer.
Result<int64_t> AttrEpoch(const std::map<std::string, std::string>& attrs);
// attrs[key] split at commas, empty parts dropped.
std::vector<std::string> AttrList(
    const std::map<std::string, std::string>& attrs, const std::string& key);

// A read-only view of the export source's tree: a view snapshot whose
// single bind mount is used directly, or whose overlay is mounted under
// work_dir; an empty directory for "". Everything is undone on destruction.
class TreeView {
 public:
  static Result<std::unique_ptr<TreeView>> Open(const ExportEnv& env,
                                                const std::string& snapshot);
  ~TreeView();
  TreeView(const TreeView&) = delete;
  TreeView& operator=(const TreeView&) = delete;
  const std::string& path() const { return path_; }

 private:
  TreeView() = default;
  Snapshotter* snapshots_ = nullptr;
  std::string view_key_;  // the view snapshot to remove, or ""
  std::string scratch_;   // a directory to remove, or ""
  MountStack mounts_;
  std::string path_;
};

// The trees of `sources` copied into `dest` (created when missing): with
// `split`, each as dest/<PlatformDirName>; without, merged file by file
// (directories merged; a non-directory in two trees, or a directory in one
// where another has a file, is InvalidArgument "cannot overwrite P from
// PLATFORM with PLATFORM when split option is disabled", as BuildKit). All
// trees are copied into one staging directory inside `dest` first; entries
// of `dest` are replaced only once every copy and the merge succeeded, and
// the staging directory is removed whatever the outcome. With `epoch` >= 0,
// every copied entry's times (and each platform directory's) are set to it
// (BuildKit's local exporter under source-date-epoch).
Status CopyResultsTo(const ExportEnv& env,
                     std::span<const ExportSource> sources,
                     const std::string& dest, bool split, int64_t epoch = -1);

// The source's platform ID (its id, else FormatPlatform of its platform),
// and its directory name in a platform-split output, the ID with '/' as '_'
// ("linux_arm_v7"); InvalidArgument when that is no single safe name ("",
// ".", "..", a NUL).
std::string PlatformId(const ExportSource& source);
Result<std::string> PlatformDirName(const ExportSource& source);

// The local and tar exporters (export_split.cc), one source per platform.
Status ExportLocal(const ExportRequest& request,
                   std::span<const ExportSource> sources, const ExportEnv& env);
Status ExportTar(const ExportRequest& request,
                 std::span<const ExportSource> sources, const ExportEnv& env);

// An image built into the content store.
struct BuiltImage {
  oci::Descriptor manifest;  // with the platform set
  Digest config_digest;
};
Result<BuiltImage> BuildImage(const ExportRequest& request,
                              const ExportSource& source, const ExportEnv& env);

// "2006-01-02T15:04:05Z" of `seconds` since the epoch (UTC).
std::string Rfc3339(int64_t seconds);
// Seconds since the epoch of an RFC 3339 time (fractions dropped, offsets
// applied); nullopt when `text` is not one.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// Under a source date epoch, as BuildKit's image writer does: the leading
// entries of `history` equal to `base`'s (the base image's history) keep
// their times; from the first that differs on, an entry without a time or
// with a time later than `epoch` gets `epoch` (unparseable times are kept).
void ClampHistoryTimes(const std::vector<oci::History>& base, int64_t epoch,
                       std::vector<oci::History>* history);

// The in-toto attestations of one platform's image written to the content
// store as BuildKit's attestation manifest (export_attest.cc): the returned
// descriptor has platform unknown/unknown and the vnd.docker.reference.*
// annotations pointing at `image`. Statement subjects: one package URL per
// name in `refs` ("pkg:docker/app@1?platform=linux%2Famd64"), "_" when
// there are none. Layers are annotated with in-toto.io/predicate-type unless
// `oci_types` is false (Docker media types, no layer annotations).
// InvalidArgument for a predicate that is not a JSON object.
Result<oci::Descriptor> WriteAttestationManifest(
    const ExportEnv& env, const oci::Descriptor& image,
    const std::vector<llb::ImageReference>& refs,
    const std::vector<Attestation>& attestations, bool oci_types);

// BuildKit's in-toto subject name of `ref` for `platform` (util/purl).
std::string PackageUrl(const llb::ImageReference& ref,
                       const llb::Platform& platform);

// The oci, docker and image exporters (images built with BuildImage), one
// source per platform.
Result<std::map<std::string, std::string>> ExportImage(
    const ExportRequest& request, std::span<const ExportSource> sources,
    const ExportEnv& env);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_EXPORT_INTERNAL_H_
