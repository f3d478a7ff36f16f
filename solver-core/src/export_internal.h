// Pieces of the exporters (exporter.h) shared between their files. Private
// to solver-core.
//
// Thread safety: values and RAII handles confined to one Export call.
#ifndef KILN_SOLVER_SRC_EXPORT_INTERNAL_H_
#define KILN_SOLVER_SRC_EXPORT_INTERNAL_H_

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kiln/llb/reference.h"
#include "kiln/llb/status.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/oci.h"
#include "runc_mounts.h"

namespace kiln::solver::internal {

// attrs[key] as a bool ("true"/"false", "1"/"0"); `fallback` when absent.
// InvalidArgument naming the key otherwise.
Result<bool> AttrBool(const std::map<std::string, std::string>& attrs,
                      const std::string& key, bool fallback);
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

// The tree of `snapshot` copied into `dest` (created when missing; entries
// of the same name replaced).
Status CopyResultTo(const ExportEnv& env, const std::string& snapshot,
                    const std::string& dest);

// The platform's directory name in a platform-split output: "linux_arm_v7".
std::string PlatformDirName(const llb::Platform& platform);

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
