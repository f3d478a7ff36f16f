// BuildImage: layers of the result's snapshot chain, the config with its
// normalized history, and the manifest, written to the content store.
#include <ctime>

#include "export_internal.h"
#include "kiln/solver/build_cache.h"
#include "kiln/solver/layer_diff.h"

namespace kiln::solver::internal {
namespace {

Result<oci::Compression> ParseCompression(const ExportRequest& request) {
  auto it = request.attrs.find("compression");
  if (it == request.attrs.end() || it->second == "gzip")
    return oci::Compression::kGzip;
  if (it->second == "uncompressed") return oci::Compression::kNone;
  if (it->second == "zstd") return oci::Compression::kZstd;
  return InvalidArgumentError("compression=" + it->second +
                              ": want gzip, uncompressed or zstd");
}

std::string_view DockerLayerType(oci::Compression c) {
  return c == oci::Compression::kNone ? oci::kMediaTypeDockerLayer
                                      : oci::kMediaTypeDockerLayerGzip;
}

// The layer of `snapshot`: from the cache when it fits, else made.
Result<LayerBlob> LayerOf(const ExportEnv& env, const std::string& snapshot,
                          const LayerOptions& options) {
  bool cacheable = env.layers != nullptr && options.rewrite_timestamp < 0;
  if (cacheable) {
    if (auto hit = env.layers->GetLayer(snapshot)) {
      auto c = oci::LayerCompression(hit->descriptor.media_type);
      if (c.ok() && *c == options.compression &&
          env.content->Has(hit->descriptor.digest)) {
        return *hit;
      }
    }
  }
  KILN_ASSIGN_OR_RETURN(LayerBlob layer, CreateLayer(*env.snapshots, snapshot,
                                                     *env.content, options));
  if (cacheable) KILN_RETURN_IF_ERROR(env.layers->PutLayer(snapshot, layer));
  return layer;
}

}  // namespace

Result<BuiltImage> BuildImage(const ExportRequest& request,
                              const ExportSource& source,
                              const ExportEnv& env) {
  if (env.content == nullptr)
    return FailedPreconditionError("no content store");
  KILN_ASSIGN_OR_RETURN(oci::Compression compression,
                        ParseCompression(request));
  KILN_ASSIGN_OR_RETURN(bool oci_types,
                        AttrBool(request.attrs, "oci-mediatypes", true));
  if (compression == oci::Compression::kZstd) oci_types = true;
  KILN_ASSIGN_OR_RETURN(int64_t epoch, AttrEpoch(request.attrs));
  KILN_ASSIGN_OR_RETURN(bool rewrite,
                        AttrBool(request.attrs, "rewrite-timestamp", false));
  if (rewrite && epoch < 0) {
    return InvalidArgumentError(
        "rewrite-timestamp=true needs source-date-epoch");
  }
  LayerOptions layer_options{.compression = compression,
                             .rewrite_timestamp = rewrite ? epoch : -1};
  std::string created = Rfc3339(epoch >= 0 ? epoch : time(nullptr));

  oci::ImageConfig config;
  if (!source.image_config.empty()) {
    auto parsed = oci::ParseImageConfig(source.image_config);
    if (!parsed.ok()) return parsed.status().WithContext("base image config");
    config = std::move(*parsed);
  }
  if (config.architecture.empty()) {
    config.architecture = source.platform.architecture;
    config.variant = source.platform.variant;
  }
  if (config.os.empty()) config.os = source.platform.os;
  if (config.created.empty() || epoch >= 0) config.created = created;

  // Layers of the chain; empty ones are left out.
  std::vector<std::string> chain;
  if (!source.snapshot.empty()) {
    KILN_ASSIGN_OR_RETURN(chain,
                          SnapshotChain(*env.snapshots, source.snapshot));
  }
  std::vector<LayerBlob> layers;
  std::vector<bool> empty;
  for (const std::string& snapshot : chain) {
    auto layer = LayerOf(env, snapshot, layer_options);
    if (!layer.ok()) return layer.status().WithContext("layer of " + snapshot);
    bool is_empty = layer->diff_id == EmptyLayerDiffId();
    empty.push_back(is_empty);
    if (!is_empty) layers.push_back(*layer);
  }

  // History, normalized against the layers (BuildKit's
  // normalizeLayersAndHistory).
  size_t accounted = 0;
  for (auto& h : config.history) {
    if (h.empty_layer) continue;
    if (accounted >= layers.size()) {
      h.empty_layer = true;  // more history than layers: from the bottom
      continue;
    }
    ++accounted;
  }
  size_t seen = 0;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (!empty[i]) ++seen;
    if (empty[i] ? seen < accounted : seen <= accounted) continue;
    oci::History h;
    h.created = created;
    auto by = source.created_by.find(chain[i]);
    if (by != source.created_by.end()) h.created_by = by->second;
    h.comment = "kiln";
    h.empty_layer = empty[i];
    config.history.push_back(std::move(h));
  }
  if (epoch >= 0) {
    std::vector<oci::History> base;
    if (!source.base_image_config.empty()) {
      auto parsed = oci::ParseImageConfig(source.base_image_config);
      if (!parsed.ok()) return parsed.status().WithContext("base image config");
      base = std::move(parsed->history);
    }
    ClampHistoryTimes(base, epoch, &config.history);
  }
  // Entries a frontend left without a time (the Dockerfile frontend without
  // SOURCE_DATE_EPOCH) get their neighbour's, as BuildKit's exporter does:
  // the first new entry's time fills the ones before it, then each entry
  // without one takes the previous entry's (tools such as umoci need one).
  std::string fill;
  for (const auto& h : config.history) {
    if (!h.created.empty()) {
      fill = h.created;
      break;
    }
  }
  if (fill.empty()) fill = created;
  for (auto& h : config.history) {
    if (h.created.empty()) {
      h.created = fill;
    } else {
      fill = h.created;
    }
  }
  config.diff_ids.clear();
  for (const auto& l : layers) config.diff_ids.push_back(l.diff_id);

  std::string config_json = oci::ToJson(config);
  if (!source.inline_cache.empty()) {
    KILN_ASSIGN_OR_RETURN(config_json,
                          EmbedInlineCache(config_json, source.inline_cache));
  }
  KILN_ASSIGN_OR_RETURN(Digest config_digest, env.content->Put(config_json));
  oci::Manifest manifest;
  manifest.media_type = std::string(oci_types ? oci::kMediaTypeImageManifest
                                              : oci::kMediaTypeDockerManifest);
  manifest.config.media_type = std::string(
      oci_types ? oci::kMediaTypeImageConfig : oci::kMediaTypeDockerConfig);
  manifest.config.digest = config_digest;
  manifest.config.size = static_cast<int64_t>(config_json.size());
  for (const auto& l : layers) {
    oci::Descriptor d = l.descriptor;
    if (!oci_types) d.media_type = std::string(DockerLayerType(compression));
    manifest.layers.push_back(std::move(d));
  }
  std::string manifest_json = oci::ToJson(manifest);
  KILN_ASSIGN_OR_RETURN(Digest manifest_digest,
                        env.content->Put(manifest_json));
  BuiltImage built;
  built.manifest.media_type = manifest.media_type;
  built.manifest.digest = manifest_digest;
  built.manifest.size = static_cast<int64_t>(manifest_json.size());
  built.manifest.platform = source.platform;
  built.config_digest = config_digest;
  return built;
}

}  // namespace kiln::solver::internal
