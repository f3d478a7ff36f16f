// ExportCache (kiln/solver/build_cache.h): the records of a build as a cache
// manifest, pushed to a registry or written into an OCI layout.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "kiln/solver/build_cache.h"
#include "kiln/solver/layer_diff.h"
#include "kiln/solver/layer_unpack.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

Result<oci::Compression> CompressionOf(const CacheSpec& spec) {
  auto it = spec.attrs.find("compression");
  if (it == spec.attrs.end() || it->second == "gzip") {
    return oci::Compression::kGzip;
  }
  if (it->second == "zstd") return oci::Compression::kZstd;
  if (it->second == "uncompressed") return oci::Compression::kNone;
  return InvalidArgumentError("cache compression=" + it->second +
                              ": want gzip, zstd or uncompressed");
}

// The layer of `snapshot`, as image exports make it: the LayerCache's blob
// when it has the compression, else made and recorded.
Result<LayerBlob> LayerOf(const CacheServices& services,
                          const std::string& snapshot,
                          oci::Compression compression) {
  if (services.layers != nullptr) {
    if (auto hit = services.layers->GetLayer(snapshot)) {
      auto c = oci::LayerCompression(hit->descriptor.media_type);
      if (c.ok() && *c == compression &&
          services.content->Has(hit->descriptor.digest)) {
        return *hit;
      }
    }
  }
  KILN_ASSIGN_OR_RETURN(
      LayerBlob layer,
      CreateLayer(*services.snapshots, snapshot, *services.content,
                  LayerOptions{.compression = compression}));
  if (services.layers != nullptr) {
    KILN_RETURN_IF_ERROR(services.layers->PutLayer(snapshot, layer));
  }
  return layer;
}

// Builds the config: one layer per distinct chain (by chain ID), empty
// layers left out as image exports leave them out.
class ConfigBuilder {
 public:
  ConfigBuilder(const CacheServices& services, oci::Compression compression)
      : services_(services), compression_(compression) {}

  // The top layer index of `snapshot`'s chain (-1: empty filesystem).
  // NotFound when a snapshot of the chain is gone.
  Result<int> Top(const std::string& snapshot) {
    if (snapshot.empty()) return -1;
    if (auto it = tops_.find(snapshot); it != tops_.end()) return it->second;
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> chain,
                          SnapshotChain(*services_.snapshots, snapshot));
    int top = -1;
    Digest chain_id;
    for (const std::string& name : chain) {
      KILN_ASSIGN_OR_RETURN(LayerBlob layer,
                            LayerOf(services_, name, compression_));
      if (layer.diff_id == EmptyLayerDiffId()) continue;
      chain_id =
          chain_id.valid()
              ? Digest::FromBytes(chain_id.str() + " " + layer.diff_id.str())
              : layer.diff_id;
      auto known = by_chain_.find(chain_id);
      if (known != by_chain_.end()) {
        top = known->second;
        continue;
      }
      config_.layers.push_back(CacheLayer{layer, top});
      top = static_cast<int>(config_.layers.size()) - 1;
      by_chain_[chain_id] = top;
    }
    tops_[snapshot] = top;
    return top;
  }

  CacheConfig& config() { return config_; }

 private:
  const CacheServices& services_;
  oci::Compression compression_;
  CacheConfig config_;
  std::map<Digest, int> by_chain_;
  std::map<std::string, int> tops_;
};

// Writes `data` to `path` through a temporary file and a rename.
Status WriteAtomic(const fs::path& path, const std::string& data) {
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << data;
    out.flush();
    if (!out) return InternalError("writing " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return InternalError("renaming into " + path.string() + ": " +
                         ec.message());
  }
  return Status::Ok();
}

// Copies a content store blob into the layout unless it is there.
Status CopyBlob(ContentStore& content, const fs::path& blobs,
                const Digest& digest) {
  fs::path dest = blobs / std::string(digest.hex());
  std::error_code ec;
  if (fs::exists(dest, ec)) return Status::Ok();
  fs::path tmp = dest;
  tmp += ".tmp-" + std::to_string(getpid());
  fs::copy_file(content.BlobPath(digest), tmp,
                fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, dest, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return InternalError("copying blob " + digest.str() + " into " +
                         blobs.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Status WriteLayout(const std::string& dir, const std::string& tag,
                   ContentStore& content, const oci::Descriptor& manifest,
                   const std::vector<Digest>& blobs) {
  const fs::path root(dir);
  const fs::path blob_dir = root / "blobs" / "sha256";
  std::error_code ec;
  fs::create_directories(blob_dir, ec);
  if (ec) {
    return InternalError("creating " + blob_dir.string() + ": " + ec.message());
  }
  for (const Digest& d : blobs) {
    KILN_RETURN_IF_ERROR(CopyBlob(content, blob_dir, d));
  }
  KILN_RETURN_IF_ERROR(CopyBlob(content, blob_dir, manifest.digest));
  if (!fs::exists(root / "oci-layout", ec)) {
    KILN_RETURN_IF_ERROR(
        WriteAtomic(root / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"));
  }
  // index.json last: other tags stay, this tag names the new manifest.
  oci::Index index;
  index.media_type = std::string(oci::kMediaTypeImageIndex);
  std::ifstream in(root / "index.json", std::ios::binary);
  if (in) {
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    auto parsed = oci::ParseIndex(bytes);
    if (!parsed.ok()) {
      return parsed.status().WithContext((root / "index.json").string());
    }
    index = std::move(*parsed);
  }
  const std::string ref_name(oci::kAnnotationRefName);
  std::erase_if(index.manifests, [&](const oci::Descriptor& d) {
    auto it = d.annotations.find(ref_name);
    return it != d.annotations.end() && it->second == tag;
  });
  oci::Descriptor entry = manifest;
  entry.annotations[ref_name] = tag;
  index.manifests.push_back(std::move(entry));
  return WriteAtomic(root / "index.json", oci::ToJson(index));
}

}  // namespace

Result<std::string> InlineCacheConfig(const CacheRecorder& recorded,
                                      const std::string& result,
                                      const CacheServices& services,
                                      oci::Compression compression) {
  if (services.snapshots == nullptr || services.content == nullptr) {
    return FailedPreconditionError(
        "inline cache: no snapshots or content store");
  }
  std::set<std::string> in_result;
  ConfigBuilder builder(services, compression);
  if (!result.empty()) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> chain,
                          SnapshotChain(*services.snapshots, result));
    in_result.insert(chain.begin(), chain.end());
    // First, so that layer i is the image's layer i.
    Result<int> top = builder.Top(result);
    if (!top.ok()) return top.status();
  }
  for (const CacheRecorder::Entry& entry : recorded.Entries()) {
    CacheResultRecord record{.key = entry.key, .results = {}};
    bool selected = true;
    for (const std::string& out : entry.outputs) {
      if (!out.empty() && !in_result.contains(out)) {
        selected = false;
        break;
      }
      KILN_ASSIGN_OR_RETURN(int top, builder.Top(out));
      record.results.push_back(top);
    }
    if (selected) builder.config().records.push_back(std::move(record));
  }
  return CacheConfigJson(builder.config());
}

Result<oci::Descriptor> ExportCache(const CacheSpec& spec,
                                    const CacheRecorder& recorded,
                                    const std::vector<std::string>& results,
                                    const CacheServices& services) {
  const std::string context = "exporting cache to " + CacheSpecName(spec);
  KILN_RETURN_IF_ERROR(ValidateCacheExport(spec).WithContext(context));
  if (services.snapshots == nullptr || services.content == nullptr) {
    return FailedPreconditionError(context + ": no snapshots or content store");
  }
  if (spec.type == "registry" && services.registry == nullptr) {
    return FailedPreconditionError(context + ": no registry client");
  }
  KILN_ASSIGN_OR_RETURN(oci::Compression compression, CompressionOf(spec));
  auto mode = spec.attrs.find("mode");
  const bool max = mode != spec.attrs.end() && mode->second == "max";

  std::set<std::string> in_result;
  for (const std::string& result : results) {
    if (result.empty()) continue;
    auto chain = SnapshotChain(*services.snapshots, result);
    if (!chain.ok()) return chain.status().WithContext(context);
    in_result.insert(chain->begin(), chain->end());
  }
  ConfigBuilder builder(services, compression);
  for (const CacheRecorder::Entry& entry : recorded.Entries()) {
    bool selected = true;
    for (const std::string& out : entry.outputs) {
      if (!max && !out.empty() && !in_result.contains(out)) selected = false;
    }
    if (!selected) continue;
    CacheResultRecord record{.key = entry.key, .results = {}};
    bool complete = true;
    for (const std::string& out : entry.outputs) {
      auto top = builder.Top(out);
      if (!top.ok() && top.status().code() == StatusCode::kNotFound) {
        complete = false;  // collected since: not exported
        break;
      }
      if (!top.ok()) return top.status().WithContext(context);
      record.results.push_back(*top);
    }
    if (complete) builder.config().records.push_back(std::move(record));
  }

  const CacheConfig& config = builder.config();
  const std::string config_json = CacheConfigJson(config);
  auto config_digest = services.content->Put(config_json);
  if (!config_digest.ok()) return config_digest.status().WithContext(context);
  const std::string manifest_json = oci::ToJson(CacheManifest(
      config, *config_digest, static_cast<int64_t>(config_json.size())));
  auto manifest_digest = services.content->Put(manifest_json);
  if (!manifest_digest.ok()) {
    return manifest_digest.status().WithContext(context);
  }
  oci::Descriptor desc{.media_type = std::string(oci::kMediaTypeImageManifest),
                       .digest = *manifest_digest,
                       .size = static_cast<int64_t>(manifest_json.size())};

  if (spec.type == "registry") {
    auto ref = llb::ParseImageReference(spec.attrs.at("ref"));
    if (!ref.ok()) return ref.status().WithContext(context);
    llb::ImageReference dest = llb::TagNameOnly(*ref);
    KILN_RETURN_IF_ERROR(
        services.registry->Push(dest, desc).WithContext(context));
    return desc;
  }
  std::vector<Digest> blobs{*config_digest};
  for (const CacheLayer& l : config.layers) {
    blobs.push_back(l.blob.descriptor.digest);
  }
  auto tag = spec.attrs.find("tag");
  KILN_RETURN_IF_ERROR(
      WriteLayout(spec.attrs.at("dest"),
                  tag == spec.attrs.end() ? "latest" : tag->second,
                  *services.content, desc, blobs)
          .WithContext(context));
  return desc;
}

}  // namespace kiln::solver
