// EmbedInlineCache (kiln/solver/build_cache.h) and reading an inline cache
// back from an image config (cache_inline.h).
#include "cache_inline.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "kiln/solver/build_cache.h"

namespace kiln::solver {
namespace {

using Json = nlohmann::ordered_json;  // the image config keeps its order

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Unbase64(std::string_view in) {
  if (in.size() % 4 != 0) return InvalidArgumentError("bad base64 length");
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return InvalidArgumentError("not base64");
  out.resize(static_cast<size_t>(n));
  // EVP_DecodeBlock keeps the bytes of '=' padding as zeros.
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) out.pop_back();
  return out;
}

}  // namespace

Result<std::string> EmbedInlineCache(std::string_view image_config,
                                     std::string_view cache_config) {
  try {
    Json j = Json::parse(image_config);
    if (!j.is_object()) {
      return InvalidArgumentError("image config is not a JSON object");
    }
    j[std::string(kInlineCacheField)] = Base64(cache_config);
    return j.dump();
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("image config: ") + e.what());
  }
}

namespace internal {

Result<CacheConfig> ParseInlineCache(const oci::Manifest& image,
                                     std::string_view image_config) {
  std::string encoded;
  std::vector<Digest> diff_ids;
  try {
    Json j = Json::parse(image_config);
    auto field = j.find(std::string(kInlineCacheField));
    if (field == j.end() || !field->is_string()) {
      return FailedPreconditionError(
          "it is an image without an inline cache (no " +
          std::string(kInlineCacheField) + " in its config)");
    }
    encoded = field->get<std::string>();
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("image config: ") + e.what());
  }
  KILN_ASSIGN_OR_RETURN(oci::ImageConfig config,
                        oci::ParseImageConfig(image_config));
  if (config.diff_ids.size() != image.layers.size()) {
    return InvalidArgumentError(
        "the image's config and manifest list different layer counts");
  }
  KILN_ASSIGN_OR_RETURN(std::string cache_json, Unbase64(encoded));
  // The image's layers, annotated with their diff_ids as a cache manifest's.
  oci::Manifest manifest = image;
  manifest.config.media_type = std::string(kCacheConfigMediaType);
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    manifest.layers[i].annotations[std::string(kAnnotationUncompressed)] =
        config.diff_ids[i].str();
  }
  return ParseCacheManifest(manifest, cache_json);
}

}  // namespace internal
}  // namespace kiln::solver
