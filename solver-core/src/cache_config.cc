// The cache config JSON and its manifest (kiln/solver/cache_config.h).
#include "kiln/solver/cache_config.h"

#include <map>
#include <nlohmann/json.hpp>

#include "kiln/solver/cache_key.h"

namespace kiln::solver {
namespace {

using Json = nlohmann::json;  // keys sorted: a stable encoding

Status Malformed(const std::string& what) {
  return InvalidArgumentError("malformed cache config: " + what);
}

Result<int> Index(const Json& v, int limit, const std::string& what) {
  if (!v.is_number_integer()) return Malformed(what + ": not an integer");
  int64_t i = v.get<int64_t>();
  if (i < -1 || i >= limit) {
    return Malformed(what + ": index " + std::to_string(i) + " out of range");
  }
  return static_cast<int>(i);
}

Result<CacheConfig> Parse(const oci::Manifest& manifest, const Json& j) {
  if (!j.is_object()) return Malformed("not a JSON object");
  auto marker = j.find("kiln");
  if (marker == j.end() || !marker->is_object()) {
    return FailedPreconditionError(
        "the cache was written by another builder (no kiln marker in its "
        "config): kiln reads only caches it exported");
  }
  std::string keys = marker->value("keys", "");
  int version = marker->value("version", 0);
  if (keys != kCacheKeyVersion || version != kCacheConfigVersion) {
    return FailedPreconditionError(
        "the cache was written by another builder version (keys \"" + keys +
        "\", format " + std::to_string(version) + "; this kiln uses \"" +
        std::string(kCacheKeyVersion) + "\", format " +
        std::to_string(kCacheConfigVersion) + ")");
  }
  std::map<Digest, const oci::Descriptor*> blobs;
  for (const oci::Descriptor& d : manifest.layers) blobs[d.digest] = &d;

  CacheConfig config;
  const Json& layers = j.value("layers", Json::array());
  const Json& records = j.value("records", Json::array());
  if (!layers.is_array() || !records.is_array()) {
    return Malformed("layers and records must be arrays");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const Json& l = layers[i];
    const std::string what = "layers[" + std::to_string(i) + "]";
    if (!l.is_object() || !l.contains("blob") || !l["blob"].is_string()) {
      return Malformed(what + ": want {\"blob\": digest, \"parent\": index}");
    }
    auto digest = Digest::Parse(l["blob"].get<std::string>());
    if (!digest.ok()) return Malformed(what + ": " + digest.status().message());
    auto found = blobs.find(*digest);
    if (found == blobs.end()) {
      return Malformed(what + ": blob " + digest->str() +
                       " is not a layer of the manifest");
    }
    CacheLayer layer;
    layer.blob.descriptor = *found->second;
    auto diff = layer.blob.descriptor.annotations.find(
        std::string(kAnnotationUncompressed));
    if (diff == layer.blob.descriptor.annotations.end()) {
      return Malformed(what + ": blob " + digest->str() + " has no " +
                       std::string(kAnnotationUncompressed) + " annotation");
    }
    auto diff_id = Digest::Parse(diff->second);
    if (!diff_id.ok()) {
      return Malformed(what + ": diff_id: " + diff_id.status().message());
    }
    layer.blob.diff_id = *diff_id;
    // Kept as an image manifest lists the blob: the diff_id lives apart.
    layer.blob.descriptor.annotations.erase(diff);
    KILN_ASSIGN_OR_RETURN(
        layer.parent, Index(l.value("parent", Json(-1)), static_cast<int>(i),
                            what + ": parent"));
    config.layers.push_back(std::move(layer));
  }
  const int count = static_cast<int>(config.layers.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const Json& r = records[i];
    const std::string what = "records[" + std::to_string(i) + "]";
    if (!r.is_object() || !r.contains("digest") || !r["digest"].is_string() ||
        !r.contains("results") || !r["results"].is_array()) {
      return Malformed(what + ": want {\"digest\": key, \"results\": [...]}");
    }
    CacheResultRecord record;
    auto key = Digest::Parse(r["digest"].get<std::string>());
    if (!key.ok()) return Malformed(what + ": " + key.status().message());
    record.key = *key;
    for (size_t k = 0; k < r["results"].size(); ++k) {
      KILN_ASSIGN_OR_RETURN(
          int top, Index(r["results"][k], count,
                         what + ": results[" + std::to_string(k) + "]"));
      record.results.push_back(top);
    }
    config.records.push_back(std::move(record));
  }
  return config;
}

}  // namespace

std::vector<LayerBlob> CacheConfig::Chain(int top) const {
  std::vector<LayerBlob> chain;
  for (int i = top; i >= 0; i = layers[static_cast<size_t>(i)].parent) {
    chain.push_back(layers[static_cast<size_t>(i)].blob);
  }
  return {chain.rbegin(), chain.rend()};
}

std::string CacheConfigJson(const CacheConfig& config) {
  Json layers = Json::array();
  for (const CacheLayer& l : config.layers) {
    layers.push_back(
        {{"blob", l.blob.descriptor.digest.str()}, {"parent", l.parent}});
  }
  Json records = Json::array();
  for (const CacheResultRecord& r : config.records) {
    records.push_back({{"digest", r.key.str()}, {"results", r.results}});
  }
  Json j = {{"kiln",
             {{"keys", std::string(kCacheKeyVersion)},
              {"version", kCacheConfigVersion}}},
            {"layers", std::move(layers)},
            {"records", std::move(records)}};
  return j.dump();
}

oci::Manifest CacheManifest(const CacheConfig& config,
                            const Digest& config_digest, int64_t config_size) {
  oci::Manifest manifest;
  manifest.media_type = std::string(oci::kMediaTypeImageManifest);
  manifest.config.media_type = std::string(kCacheConfigMediaType);
  manifest.config.digest = config_digest;
  manifest.config.size = config_size;
  for (const CacheLayer& l : config.layers) {
    oci::Descriptor d = l.blob.descriptor;
    d.platform.reset();
    d.annotations[std::string(kAnnotationUncompressed)] = l.blob.diff_id.str();
    manifest.layers.push_back(std::move(d));
  }
  return manifest;
}

Result<CacheConfig> ParseCacheManifest(const oci::Manifest& manifest,
                                       std::string_view config_json) {
  if (manifest.config.media_type != kCacheConfigMediaType) {
    return FailedPreconditionError(
        "not a cache manifest: its config has media type \"" +
        manifest.config.media_type + "\", not " +
        std::string(kCacheConfigMediaType));
  }
  try {
    return Parse(manifest, Json::parse(config_json));
  } catch (const Json::exception& e) {
    return Malformed(e.what());
  }
}

}  // namespace kiln::solver
