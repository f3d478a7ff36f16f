// ImportedCache (kiln/solver/build_cache.h): a cache manifest and config
// read from a registry or an OCI layout; layer blobs fetched on use.
#include <filesystem>
#include <fstream>

#include "cache_inline.h"
#include "kiln/solver/build_cache.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

// index.json, manifests and cache configs are small; a layout offering a
// larger one is refused rather than read into memory.
constexpr uintmax_t kMaxDocumentBytes = 4 << 20;

Result<std::string> ReadFile(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxDocumentBytes) {
    return FailedPreconditionError(path.string() + " is larger than 4 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path.string() + ": not found");
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (in.bad()) return InternalError("reading " + path.string());
  return bytes;
}

// A blob of the layout `dir`, verified against its digest.
Result<std::string> ReadLayoutBlob(const std::string& dir,
                                   const Digest& digest) {
  KILN_ASSIGN_OR_RETURN(
      std::string bytes,
      ReadFile(fs::path(dir) / "blobs" / std::string(digest.algorithm()) /
               std::string(digest.hex())));
  if (Digest::FromBytes(bytes) != digest) {
    return DataLossError("blob " + digest.str() + " of " + dir +
                         " does not match its digest");
  }
  return bytes;
}

// The manifest descriptor `tag` (or `digest`) names in the layout `dir`.
Result<oci::Descriptor> LayoutManifest(const CacheSpec& spec) {
  const std::string& dir = spec.attrs.at("src");
  KILN_ASSIGN_OR_RETURN(std::string bytes,
                        ReadFile(fs::path(dir) / "index.json"));
  KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
  auto want_digest = spec.attrs.find("digest");
  auto want_tag = spec.attrs.find("tag");
  const std::string tag =
      want_tag == spec.attrs.end() ? "latest" : want_tag->second;
  for (const oci::Descriptor& d : index.manifests) {
    if (want_digest != spec.attrs.end()) {
      if (d.digest.str() == want_digest->second) return d;
      continue;
    }
    auto name = d.annotations.find(std::string(oci::kAnnotationRefName));
    if (name != d.annotations.end() && name->second == tag) return d;
  }
  return NotFoundError(
      dir + " has no cache tagged " +
      (want_digest != spec.attrs.end() ? want_digest->second : tag));
}

// What a registry ref holds: a cache manifest, or something else (an
// image, an index: BuildKit's own cache format or an image list).
Result<CacheConfig> LoadRegistry(const CacheSpec& spec,
                                 const CacheServices& services) {
  if (services.registry == nullptr) {
    return FailedPreconditionError("no registry client");
  }
  KILN_ASSIGN_OR_RETURN(llb::ImageReference ref,
                        llb::ParseImageReference(spec.attrs.at("ref")));
  ref = llb::TagNameOnly(ref);
  KILN_ASSIGN_OR_RETURN(oci::Descriptor desc,
                        services.registry->FetchManifest(ref));
  if (oci::IsIndexMediaType(desc.media_type)) {
    // An image index (a multi-platform image, or one with attestations):
    // the inline cache of this host's platform, as BuildKit picks the
    // manifest of its platform. BuildKit's own cache index has no platforms
    // and is refused below.
    KILN_ASSIGN_OR_RETURN(std::string bytes,
                          services.content->ReadAll(desc.digest));
    KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
    const llb::Platform host = llb::HostPlatform();
    for (const oci::Descriptor& d : index.manifests) {
      if (d.platform.has_value() && oci::IsManifestMediaType(d.media_type) &&
          oci::PlatformMatches(host, *d.platform)) {
        ref.digest = d.digest.str();
        KILN_ASSIGN_OR_RETURN(desc, services.registry->FetchManifest(ref));
        break;
      }
    }
  }
  if (!oci::IsManifestMediaType(desc.media_type)) {
    return FailedPreconditionError(
        "it is a \"" + desc.media_type +
        "\", not a kiln cache manifest (written by another builder, or an "
        "image list)");
  }
  KILN_ASSIGN_OR_RETURN(std::string bytes,
                        services.content->ReadAll(desc.digest));
  KILN_ASSIGN_OR_RETURN(oci::Manifest manifest, oci::ParseManifest(bytes));
  if (manifest.config.size > (4 << 20)) {
    return FailedPreconditionError("its config is larger than 4 MiB");
  }
  KILN_RETURN_IF_ERROR(services.registry->FetchBlob(ref, manifest.config));
  KILN_ASSIGN_OR_RETURN(std::string config,
                        services.content->ReadAll(manifest.config.digest));
  if (manifest.config.media_type != kCacheConfigMediaType) {
    // An image: its inline cache (--export-cache type=inline).
    return internal::ParseInlineCache(manifest, config);
  }
  return ParseCacheManifest(manifest, config);
}

Result<CacheConfig> LoadLocal(const CacheSpec& spec) {
  const std::string& dir = spec.attrs.at("src");
  KILN_ASSIGN_OR_RETURN(oci::Descriptor desc, LayoutManifest(spec));
  if (!oci::IsManifestMediaType(desc.media_type)) {
    return FailedPreconditionError(
        "it is a \"" + desc.media_type +
        "\", not a kiln cache manifest (written by another builder?)");
  }
  KILN_ASSIGN_OR_RETURN(std::string bytes, ReadLayoutBlob(dir, desc.digest));
  KILN_ASSIGN_OR_RETURN(oci::Manifest manifest, oci::ParseManifest(bytes));
  if (manifest.config.media_type != kCacheConfigMediaType) {
    return FailedPreconditionError(
        "its manifest " + desc.digest.str() + " has a config of type \"" +
        manifest.config.media_type +
        "\", not a kiln cache config (written by another builder?)");
  }
  KILN_ASSIGN_OR_RETURN(std::string config,
                        ReadLayoutBlob(dir, manifest.config.digest));
  return ParseCacheManifest(manifest, config);
}

}  // namespace

Result<std::unique_ptr<ImportedCache>> ImportedCache::Load(
    const CacheSpec& spec, const CacheServices& services) {
  const std::string name = CacheSpecName(spec);
  const std::string context = "importing cache from " + name;
  KILN_RETURN_IF_ERROR(ValidateCacheImport(spec).WithContext(context));
  if (services.content == nullptr) {
    return FailedPreconditionError(context + ": no content store");
  }
  Result<CacheConfig> config =
      spec.type == "registry" ? LoadRegistry(spec, services) : LoadLocal(spec);
  if (!config.ok()) return config.status().WithContext(context);
  return std::make_unique<ImportedCache>(name, *std::move(config), spec,
                                         services);
}

ImportedCache::ImportedCache(std::string name, CacheConfig config,
                             CacheSpec spec, const CacheServices& services)
    : name_(std::move(name)),
      config_(std::move(config)),
      spec_(std::move(spec)),
      services_(services) {
  for (size_t i = 0; i < config_.records.size(); ++i) {
    by_key_[config_.records[i].key] = i;
  }
}

std::optional<std::vector<std::vector<LayerBlob>>> ImportedCache::Find(
    const Digest& key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  std::vector<std::vector<LayerBlob>> out;
  for (int top : config_.records[it->second].results) {
    out.push_back(config_.Chain(top));
  }
  return out;
}

Status ImportedCache::Fetch(const oci::Descriptor& blob,
                            ContentStore& content) const {
  if (content.Has(blob.digest)) return Status::Ok();
  const std::string context =
      "fetching " + blob.digest.str() + " from cache " + name_;
  if (spec_.type == "registry") {
    if (services_.registry == nullptr || services_.content != &content) {
      return FailedPreconditionError(context + ": no registry client");
    }
    KILN_ASSIGN_OR_RETURN(llb::ImageReference ref,
                          llb::ParseImageReference(spec_.attrs.at("ref")));
    return services_.registry->FetchBlob(ref, blob).WithContext(context);
  }
  const fs::path path = fs::path(spec_.attrs.at("src")) / "blobs" /
                        std::string(blob.digest.algorithm()) /
                        std::string(blob.digest.hex());
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(context + ": " + path.string() + " is missing");
  KILN_ASSIGN_OR_RETURN(auto writer, content.Writer(blob.digest, blob.size));
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof(buf));
    if (in.gcount() > 0) {
      KILN_RETURN_IF_ERROR(
          writer->Write(std::string_view(buf, static_cast<size_t>(in.gcount())))
              .WithContext(context));
    }
  }
  if (in.bad()) return InternalError(context + ": reading " + path.string());
  return writer->Commit().WithContext(context);
}

}  // namespace kiln::solver
