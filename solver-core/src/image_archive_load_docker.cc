// Docker archives on load: manifest.json entries become OCI manifests over
// the layer files as they are in the archive (as `ctr import` keeps them),
// after each layer was checked against its config's diff_id.
#include <nlohmann/json.hpp>
#include <utility>

#include "image_archive_io.h"
#include "image_archive_load.h"

namespace kiln::solver::internal {
namespace {

using Json = nlohmann::json;

struct ManifestItem {
  std::string config;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;
};

Status Strings(const Json& item, const char* key, bool optional,
               const std::string& what, std::vector<std::string>* out) {
  auto it = item.find(key);
  if (it == item.end() || it->is_null()) {
    if (optional) return Status::Ok();
    return InvalidArgumentError(what + ": no " + key);
  }
  if (!it->is_array())
    return InvalidArgumentError(what + ": " + key + " is not an array");
  for (const Json& v : *it) {
    if (!v.is_string())
      return InvalidArgumentError(what + ": " + key + " holds a non-string");
    out->push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Result<std::vector<ManifestItem>> ParseManifestJson(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array())
    return InvalidArgumentError("manifest.json: not a JSON array");
  std::vector<ManifestItem> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& item = j[i];
    std::string what = "manifest.json entry " + std::to_string(i);
    if (!item.is_object())
      return InvalidArgumentError(what + ": not an object");
    ManifestItem m;
    auto config = item.find("Config");
    if (config == item.end() || !config->is_string()) {
      return InvalidArgumentError(what + ": no Config path");
    }
    m.config = config->get<std::string>();
    KILN_RETURN_IF_ERROR(Strings(item, "RepoTags", true, what, &m.repo_tags));
    KILN_RETURN_IF_ERROR(Strings(item, "Layers", false, what, &m.layers));
    out.push_back(std::move(m));
  }
  return out;
}

std::string_view OciLayerType(oci::Compression c) {
  switch (c) {
    case oci::Compression::kGzip:
      return oci::kMediaTypeLayerGzip;
    case oci::Compression::kZstd:
      return oci::kMediaTypeLayerZstd;
    case oci::Compression::kNone:
      break;
  }
  return oci::kMediaTypeLayer;
}

// The descriptor of layer `path`, whose uncompressed bytes must hash to
// `diff_id`.
Result<oci::Descriptor> CheckLayer(const ContentStore& content,
                                   const StagedArchive& staged,
                                   const std::string& path,
                                   const Digest& diff_id) {
  const StagedFile* f = staged.Find(path);
  if (f == nullptr)
    return DataLossError("layer \"" + path + "\" is missing from the archive");
  Digest uncompressed = f->digest;
  if (f->compression != oci::Compression::kNone) {
    auto sum = SumBlob(content.BlobPath(f->digest), f->compression);
    if (!sum.ok()) return sum.status().WithContext("layer \"" + path + "\"");
    uncompressed = sum->digest;
  }
  if (uncompressed != diff_id) {
    return DataLossError("layer \"" + path + "\" is " + uncompressed.str() +
                         " uncompressed, but its config says diff_id " +
                         diff_id.str());
  }
  return MakeDescriptor(OciLayerType(f->compression), f->digest, f->size);
}

Result<oci::Descriptor> StoreImage(ContentStore& content,
                                   const StagedArchive& staged,
                                   const ManifestItem& item) {
  const StagedFile* config_file = staged.Find(item.config);
  if (config_file == nullptr) {
    return DataLossError("config \"" + item.config +
                         "\" is missing from the archive");
  }
  KILN_ASSIGN_OR_RETURN(std::string config_bytes,
                        content.ReadAll(config_file->digest));
  auto config = oci::ParseImageConfig(config_bytes);
  if (!config.ok())
    return config.status().WithContext("config \"" + item.config + "\"");
  if (config->diff_ids.size() != item.layers.size()) {
    return DataLossError("it lists " + std::to_string(item.layers.size()) +
                         " layers but its config has " +
                         std::to_string(config->diff_ids.size()) + " diff_ids");
  }
  oci::Manifest m;
  m.media_type = std::string(oci::kMediaTypeImageManifest);
  m.config = MakeDescriptor(oci::kMediaTypeImageConfig, config_file->digest,
                            config_file->size);
  for (size_t i = 0; i < item.layers.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(
        oci::Descriptor layer,
        CheckLayer(content, staged, item.layers[i], config->diff_ids[i]));
    m.layers.push_back(std::move(layer));
  }
  std::string bytes = oci::ToJson(m);
  KILN_ASSIGN_OR_RETURN(Digest digest, content.Put(bytes));
  oci::Descriptor target = MakeDescriptor(oci::kMediaTypeImageManifest, digest,
                                          static_cast<int64_t>(bytes.size()));
  if (!config->os.empty() && !config->architecture.empty())
    target.platform = config->platform();
  return target;
}

}  // namespace

Result<std::vector<NamedTarget>> DockerArchiveTargets(
    ContentStore& content, const StagedArchive& staged,
    const LoadOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::vector<ManifestItem> items,
                        ParseManifestJson(*staged.Document("manifest.json")));
  std::vector<NamedTarget> out;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string what = "manifest.json entry " + std::to_string(i);
    auto target = StoreImage(content, staged, items[i]);
    if (!target.ok()) return target.status().WithContext(what);
    if (items[i].repo_tags.empty()) {
      KILN_ASSIGN_OR_RETURN(std::string name, EntryName("", "", options, what));
      out.push_back(NamedTarget{std::move(name), *target});
    }
    for (const std::string& tag : items[i].repo_tags) {
      // RepoTags are full names in docker's familiar form ("busybox:latest").
      KILN_ASSIGN_OR_RETURN(std::string name,
                            EntryName(tag, "", options, what));
      out.push_back(NamedTarget{std::move(name), *target});
    }
  }
  return out;
}

}  // namespace kiln::solver::internal
