// The Docker archive plan: docker 25's `docker save` layout (manifest.json,
// repositories, uncompressed layers under blobs/sha256/<diff_id>, and an OCI
// index of manifests for those layers).
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "image_archive_plan.h"

namespace kiln::solver::internal {
namespace {

using Json = nlohmann::ordered_json;

struct DockerImage {
  ResolvedImage image;
  std::vector<const SavedName*> names;
};

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

// The name docker prints without tag or digest ("busybox", "example.com/app").
std::string FamiliarName(const llb::ImageReference& ref) {
  llb::ImageReference bare = ref;
  bare.tag.clear();
  bare.digest.clear();
  return bare.FamiliarString();
}

// Plans blobs/sha256/<diff_id> for layer `i`; returns its uncompressed size.
Result<int64_t> AddLayer(const ContentStore& content,
                         const oci::Descriptor& layer, const Digest& diff_id,
                         size_t i, ArchivePlan* plan) {
  std::string path = BlobPath(diff_id);
  if (auto it = plan->find(path); it != plan->end()) return it->second.size;
  std::string what =
      "layer " + std::to_string(i) + " (" + layer.digest.str() + ")";
  if (content.Has(diff_id)) {  // the uncompressed tar itself is stored
    KILN_RETURN_IF_ERROR(AddStoredBlob(content, diff_id, -1, plan));
    return plan->at(path).size;
  }
  auto compression = oci::LayerCompression(layer.media_type);
  if (!compression.ok()) return compression.status().WithContext(what);
  if (!content.Has(layer.digest)) {
    return NotFoundError(what + " is not in the content store");
  }
  if (*compression == oci::Compression::kNone) {
    if (layer.digest != diff_id) {
      return DataLossError(what +
                           " is uncompressed but its config says diff_id " +
                           diff_id.str());
    }
    KILN_RETURN_IF_ERROR(AddStoredBlob(content, diff_id, layer.size, plan));
    return plan->at(path).size;
  }
  ArchiveRecord r;
  r.kind = ArchiveRecord::Kind::kBlob;
  r.blob = layer.digest;
  r.compression = *compression;
  r.content = diff_id;
  // The tar header needs the size before the bytes: decompress once to
  // measure (and check the diff_id), then again while writing.
  auto sum = SumBlob(content.BlobPath(layer.digest), r.compression);
  if (!sum.ok()) return sum.status().WithContext(what);
  if (sum->digest != diff_id) {
    return DataLossError(what + " decompresses to " + sum->digest.str() +
                         " but its config says diff_id " + diff_id.str());
  }
  r.size = sum->size;
  int64_t size = r.size;
  (*plan)[path] = std::move(r);
  return size;
}

// Plans one image's config, layers and OCI manifest; fills its manifest.json
// entry and returns the manifest's descriptor.
Result<oci::Descriptor> AddImage(const ContentStore& content,
                                 const DockerImage& d, ArchivePlan* plan,
                                 Json* entry) {
  const ResolvedImage& img = d.image;
  const std::vector<Digest>& diff_ids = img.config.diff_ids;
  if (diff_ids.size() != img.manifest.layers.size()) {
    return DataLossError("manifest " + img.manifest_descriptor.digest.str() +
                         " has " + std::to_string(img.manifest.layers.size()) +
                         " layers but its config lists " +
                         std::to_string(diff_ids.size()) + " diff_ids");
  }
  const Digest& config = img.manifest.config.digest;
  KILN_RETURN_IF_ERROR(AddStoredBlob(
      content, config, static_cast<int64_t>(img.config_bytes.size()), plan));
  oci::Manifest m;
  m.media_type = std::string(oci::kMediaTypeImageManifest);
  m.config = MakeDescriptor(oci::kMediaTypeImageConfig, config,
                            static_cast<int64_t>(img.config_bytes.size()));
  Json layers = Json::array();
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(
        int64_t size,
        AddLayer(content, img.manifest.layers[i], diff_ids[i], i, plan));
    m.layers.push_back(MakeDescriptor(oci::kMediaTypeLayer, diff_ids[i], size));
    layers.push_back(BlobPath(diff_ids[i]));
  }
  Json tags = Json::array();
  for (const SavedName* n : d.names) {
    if (!n->ref.tag.empty()) tags.push_back(n->ref.FamiliarString());
  }
  *entry = Json::object();
  (*entry)["Config"] = BlobPath(config);
  (*entry)["RepoTags"] = std::move(tags);
  (*entry)["Layers"] = std::move(layers);

  oci::Descriptor desc =
      AddDocument(plan, oci::kMediaTypeImageManifest, oci::ToJson(m));
  if (!img.config.os.empty() && !img.config.architecture.empty()) {
    desc.platform = img.config.platform();
  }
  return desc;
}

}  // namespace

Status PlanDockerArchive(const ImageStore& store,
                         const std::vector<SavedName>& names,
                         const SaveOptions& options, ArchivePlan* plan) {
  std::vector<DockerImage> images;  // one per manifest, in order of first name
  for (const SavedName& n : names) {
    auto resolved = ResolveForSave(store, n, options);
    if (!resolved.ok())
      return resolved.status().WithContext("saving " + n.record.name);
    DockerImage* same = nullptr;
    for (DockerImage& d : images) {
      if (d.image.manifest_descriptor.digest ==
          resolved->manifest_descriptor.digest)
        same = &d;
    }
    if (same == nullptr)
      same = &images.emplace_back(DockerImage{std::move(*resolved), {}});
    same->names.push_back(&n);
  }

  Json manifest_json = Json::array();
  std::map<std::string, std::map<std::string, std::string>> repositories;
  oci::Index index;
  index.media_type = std::string(oci::kMediaTypeImageIndex);
  for (const DockerImage& d : images) {
    Json entry;
    auto desc = AddImage(store.content(), d, plan, &entry);
    if (!desc.ok())
      return desc.status().WithContext("saving " +
                                       d.names.front()->record.name);
    manifest_json.push_back(std::move(entry));
    const auto& diff_ids = d.image.config.diff_ids;
    for (const SavedName* n : d.names) {
      index.manifests.push_back(NamedDescriptor(*desc, n->ref));
      if (n->ref.tag.empty() || diff_ids.empty()) continue;
      repositories[FamiliarName(n->ref)][n->ref.tag] =
          std::string(diff_ids.back().hex());
    }
  }
  AddBytes(plan, "manifest.json", Dump(manifest_json));
  if (!repositories.empty()) {
    Json repos = Json::object();
    for (const auto& [repo, tags] : repositories) {
      Json t = Json::object();
      for (const auto& [tag, id] : tags) t[tag] = id;
      repos[repo] = std::move(t);
    }
    AddBytes(plan, "repositories", Dump(repos));
  }
  AddBytes(plan, "index.json", oci::ToJson(index));
  AddBytes(plan, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return Status::Ok();
}

}  // namespace kiln::solver::internal
