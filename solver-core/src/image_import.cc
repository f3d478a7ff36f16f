#include "kiln/solver/image_import.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "kiln/llb/reference.h"
#include "layer_source.h"
#include "tar_writer.h"

namespace kiln::solver {
namespace {

Result<std::optional<int64_t>> SourceDateEpoch(const ImportOptions& options) {
  if (options.source_date_epoch.has_value()) return options.source_date_epoch;
  const char* env = std::getenv("SOURCE_DATE_EPOCH");
  if (env == nullptr || *env == '\0') return std::optional<int64_t>();
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(env, &end, 10);
  if (errno != 0 || *end != '\0' || value < 0) {
    return InvalidArgumentError(std::string("invalid SOURCE_DATE_EPOCH \"") +
                                env + "\": expected seconds since the epoch");
  }
  return std::optional<int64_t>(value);
}

std::string FormatRfc3339(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Light check of "YYYY-MM-DDTHH:MM:SS" followed by fraction/zone.
bool LooksLikeRfc3339(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() <= kShape.size()) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    bool digit = s[i] >= '0' && s[i] <= '9';
    if (kShape[i] == 'd' ? !digit : s[i] != kShape[i]) return false;
  }
  return true;
}

Result<std::unique_ptr<internal::LayerSource>> OpenSource(
    const ImportOptions& options, const ContentStore& content,
    std::optional<int64_t> clamp) {
  struct stat st {};
  if (stat(options.source.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return NotFoundError("import source " + options.source + " not found");
    return InternalError("stat " + options.source + ": " +
                         std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode))
    return internal::ScanDirectory(options.source, clamp);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError("import source " + options.source +
                                " is neither a directory nor a tarball");
  }
  return internal::ScanTarball(options.source, content.dir() + "/ingest",
                               clamp);
}

Result<oci::ImageConfig> MakeConfig(const ImportOptions& options,
                                    const std::string& created,
                                    const Digest& diff_id) {
  oci::ImageConfig config;
  if (!options.config_json.empty()) {
    auto parsed = oci::ParseImageConfig(options.config_json);
    if (!parsed.ok()) return parsed.status().WithContext("import config");
    config = std::move(*parsed);
  }
  llb::Platform platform = llb::HostPlatform();
  if (options.platform.has_value()) {
    platform = llb::NormalizePlatform(*options.platform);
  } else if (!config.architecture.empty() && !config.os.empty()) {
    platform = llb::NormalizePlatform(config.platform());
  }
  config.os = platform.os;
  config.architecture = platform.architecture;
  config.variant = platform.variant;
  config.os_version = platform.os_version;
  config.os_features = platform.os_features;
  config.created = created;
  config.diff_ids = {diff_id};
  oci::History history;
  history.created = created;
  history.created_by = "kiln image import";
  history.comment = options.history_comment;
  config.history = {history};
  return config;
}

}  // namespace

Result<oci::Descriptor> ImportImage(ImageStore& store,
                                    const ImportOptions& options) {
  if (options.name.empty())
    return InvalidArgumentError("image import: a name is required");
  auto ref = llb::ParseImageReference(options.name);
  if (!ref.ok()) return ref.status().WithContext("image import");
  KILN_ASSIGN_OR_RETURN(std::optional<int64_t> epoch, SourceDateEpoch(options));
  // The new blobs are unnamed until the end: keep image removal off them.
  KILN_ASSIGN_OR_RETURN(BlobLease lease, store.HoldBlobs());
  std::string created = options.created;
  if (created.empty()) {
    created = FormatRfc3339(
        epoch.has_value() ? *epoch : static_cast<int64_t>(std::time(nullptr)));
  } else if (!LooksLikeRfc3339(created)) {
    return InvalidArgumentError("image import: created time \"" + created +
                                "\" is not RFC 3339");
  }
  ContentStore& content = store.content();

  KILN_ASSIGN_OR_RETURN(auto source, OpenSource(options, content, epoch));
  internal::FinalizeEntries(&source->entries());
  auto layer = internal::WriteGzipLayer(
      content, source->entries(),
      [&](const internal::LayerEntry& e, const internal::DataSink& sink) {
        return source->Read(e, sink);
      });
  if (!layer.ok())
    return layer.status().WithContext("importing " + options.source);

  KILN_ASSIGN_OR_RETURN(oci::ImageConfig config,
                        MakeConfig(options, created, layer->diff_id));
  std::string config_json = oci::ToJson(config);
  KILN_ASSIGN_OR_RETURN(Digest config_digest, content.Put(config_json));

  oci::Manifest manifest;
  manifest.media_type = std::string(oci::kMediaTypeImageManifest);
  manifest.config.media_type = std::string(oci::kMediaTypeImageConfig);
  manifest.config.digest = config_digest;
  manifest.config.size = static_cast<int64_t>(config_json.size());
  oci::Descriptor layer_desc;
  layer_desc.media_type = std::string(oci::kMediaTypeLayerGzip);
  layer_desc.digest = layer->digest;
  layer_desc.size = layer->size;
  manifest.layers.push_back(std::move(layer_desc));
  std::string manifest_json = oci::ToJson(manifest);
  KILN_ASSIGN_OR_RETURN(Digest manifest_digest, content.Put(manifest_json));

  oci::Descriptor out;
  out.media_type = std::string(oci::kMediaTypeImageManifest);
  out.digest = manifest_digest;
  out.size = static_cast<int64_t>(manifest_json.size());
  out.platform = config.platform();
  KILN_RETURN_IF_ERROR(store.Put(options.name, out));
  return out;
}

}  // namespace kiln::solver
