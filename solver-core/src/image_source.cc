#include "kiln/solver/image_source.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "kiln/llb/reference.h"
#include "kiln/solver/layer_unpack.h"

namespace kiln::solver {

Result<ResolveMode> ParseResolveMode(std::string_view mode) {
  if (mode.empty() || mode == "default") return ResolveMode::kDefault;
  if (mode == "pull") return ResolveMode::kForcePull;
  if (mode == "local") return ResolveMode::kPreferLocal;
  return InvalidArgumentError("invalid resolve mode \"" + std::string(mode) +
                              "\" (want default, pull or local)");
}

namespace {

constexpr std::string_view kDockerImageScheme = "docker-image://";
constexpr std::string_view kOciLayoutScheme = "oci-layout://";

// A descriptor for a blob already in the content store, typed by sniffing.
Result<oci::Descriptor> StoredDescriptor(const ContentStore& content,
                                         const Digest& digest) {
  KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(digest));
  KILN_ASSIGN_OR_RETURN(std::string media_type, oci::SniffMediaType(bytes));
  if (!oci::IsIndexMediaType(media_type) &&
      !oci::IsManifestMediaType(media_type)) {
    return InvalidArgumentError("blob " + digest.str() +
                                " is not an image index or manifest");
  }
  oci::Descriptor d;
  d.media_type = media_type;
  d.digest = digest;
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

// Copies one blob of an OCI layout directory into the content store,
// verifying it on the way. Present blobs are not copied again.
Status CopyLayoutBlob(const std::string& layout, const Digest& digest,
                      ContentStore& content) {
  if (content.Has(digest)) return Status::Ok();
  std::string path = layout + "/blobs/" + std::string(digest.algorithm()) +
                     "/" + std::string(digest.hex());
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return NotFoundError("blob " + digest.str() + " is not in the OCI layout " +
                         layout + ": " + std::strerror(errno));
  }
  auto writer = content.Writer(digest);
  if (!writer.ok()) {
    std::fclose(f);
    return writer.status();
  }
  char buf[1 << 16];
  size_t n;
  Status status;
  while (status.ok() && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    status = (*writer)->Write(std::string_view(buf, n));
  }
  bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  KILN_RETURN_IF_ERROR(status);
  if (read_error) return InternalError("reading " + path);
  return (*writer)->Commit().WithContext("OCI layout " + layout);
}

// NAME[:TAG][@DIGEST] of an oci-layout identifier.
struct LayoutRef {
  std::string name;
  std::string tag;
  std::string digest;
};

LayoutRef SplitLayoutRef(std::string_view ref) {
  LayoutRef out;
  if (auto at = ref.find('@'); at != std::string_view::npos) {
    out.digest = std::string(ref.substr(at + 1));
    ref = ref.substr(0, at);
  }
  auto colon = ref.rfind(':');
  auto slash = ref.rfind('/');
  if (colon != std::string_view::npos &&
      (slash == std::string_view::npos || colon > slash)) {
    out.tag = std::string(ref.substr(colon + 1));
    ref = ref.substr(0, colon);
  }
  out.name = std::string(ref);
  return out;
}

Result<int> ParseLayerLimit(const pb::SourceOp& op, const char* key) {
  auto it = op.attrs().find(key);
  if (it == op.attrs().end()) return 0;
  int limit = 0;
  const std::string& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
  if (ec != std::errc() || end != v.data() + v.size() || limit <= 0) {
    return InvalidArgumentError(std::string(key) + " \"" + v +
                                "\" is not a positive integer");
  }
  return limit;
}

}  // namespace

ImageSource::ImageSource(ImageStore* store, RegistryClient* registry,
                         Snapshotter* snapshots, ImageSourceOptions options)
    : store_(store),
      registry_(registry),
      snapshots_(snapshots),
      options_(std::move(options)) {}

bool ImageSource::CompleteFor(const oci::Descriptor& target,
                              const llb::Platform& platform) const {
  auto image = store_->Resolve(target, platform);
  if (!image.ok()) return false;
  const ContentStore& content = store_->content();
  for (const auto& layer : image->manifest.layers) {
    if (!content.Has(layer.digest)) return false;
  }
  return true;
}

Result<ImageSource::Root> ImageSource::ResolveRoot(
    std::string_view text, const llb::Platform& platform, ResolveMode mode) {
  KILN_ASSIGN_OR_RETURN(llb::ImageReference ref,
                        llb::ParseImageReference(text));
  if (ref.digest.empty()) ref = llb::TagNameOnly(ref);
  std::string name = ref.String();
  ContentStore& content = store_->content();

  // The store answers unless the mode says otherwise, but only with an image
  // complete for this platform: an interrupted pull may have left the root
  // blob without its manifest, config or layers, and must be resumed.
  std::optional<oci::Descriptor> stored;
  if (mode != ResolveMode::kForcePull) {
    if (!ref.digest.empty()) {
      KILN_ASSIGN_OR_RETURN(Digest pinned, Digest::Parse(ref.digest));
      if (content.Has(pinned)) {
        KILN_ASSIGN_OR_RETURN(stored, StoredDescriptor(content, pinned));
      }
    } else {
      auto record = store_->Get(name);
      if (record.ok()) {
        stored = record->target;
      } else if (record.status().code() != StatusCode::kNotFound) {
        return record.status();
      }
    }
    if (stored && CompleteFor(*stored, platform)) return Root{name, *stored};
  }
  if (mode == ResolveMode::kPreferLocal) {
    // A stored index without this platform: say which platforms it has.
    if (stored && oci::IsIndexMediaType(stored->media_type)) {
      auto image = store_->Resolve(*stored, platform);
      if (!image.ok() && image.status().code() == StatusCode::kNotFound) {
        return image.status().WithContext("image " + name);
      }
    }
    return NotFoundError("image " + name + " for " +
                         llb::FormatPlatform(platform) +
                         " is not (completely) in the embedded store "
                         "(resolve mode local does not pull)");
  }
  if (registry_ == nullptr) {
    return UnavailableError(
        "image " + name +
        " is not in the embedded store and this engine has no registry access");
  }
  PullOptions pull;
  pull.platform = platform;
  pull.progress = options_.pull_progress;
  KILN_ASSIGN_OR_RETURN(PulledImage pulled, registry_->Pull(ref, pull));
  // Name what was pulled so the store keeps it (and the next default-mode
  // resolve finds it). Digest-pinned references are named too.
  KILN_RETURN_IF_ERROR(store_->Put(name, pulled.root));
  return Root{name, pulled.root};
}

Result<ImageSource::Root> ImageSource::ResolveOciLayoutRoot(
    std::string_view store_id, std::string_view text,
    const llb::Platform& platform) {
  auto it = options_.oci_layouts.find(std::string(store_id));
  if (it == options_.oci_layouts.end()) {
    return FailedPreconditionError("oci-layout store \"" +
                                   std::string(store_id) +
                                   "\" is not available to this engine");
  }
  const std::string& dir = it->second;
  ContentStore& content = store_->content();
  LayoutRef ref = SplitLayoutRef(text);
  oci::Descriptor root;
  if (!ref.digest.empty()) {
    KILN_ASSIGN_OR_RETURN(Digest d, Digest::Parse(ref.digest));
    KILN_RETURN_IF_ERROR(CopyLayoutBlob(dir, d, content));
    KILN_ASSIGN_OR_RETURN(root, StoredDescriptor(content, d));
  } else {
    std::string tag = ref.tag.empty() ? "latest" : ref.tag;
    std::FILE* f = std::fopen((dir + "/index.json").c_str(), "rb");
    if (f == nullptr)
      return NotFoundError("no index.json in OCI layout " + dir);
    std::string bytes;
    char buf[1 << 14];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
    std::fclose(f);
    KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
    const oci::Descriptor* found = nullptr;
    for (const auto& m : index.manifests) {
      auto name = m.annotations.find(std::string(oci::kAnnotationRefName));
      if (name != m.annotations.end() &&
          (name->second == tag || name->second == text)) {
        found = &m;
        break;
      }
    }
    if (found == nullptr) {
      return NotFoundError("OCI layout " + dir + " has no image named \"" +
                           tag + "\"");
    }
    root = *found;
    KILN_RETURN_IF_ERROR(CopyLayoutBlob(dir, root.digest, content));
  }
  // Copy what the platform's image needs: the manifest, config and layers.
  oci::Descriptor manifest = root;
  if (oci::IsIndexMediaType(root.media_type)) {
    KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(root.digest));
    KILN_ASSIGN_OR_RETURN(oci::Index index, oci::ParseIndex(bytes));
    KILN_ASSIGN_OR_RETURN(manifest, oci::SelectManifest(index, platform));
    KILN_RETURN_IF_ERROR(CopyLayoutBlob(dir, manifest.digest, content));
  }
  KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(manifest.digest));
  KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(bytes));
  KILN_RETURN_IF_ERROR(CopyLayoutBlob(dir, m.config.digest, content));
  for (const auto& layer : m.layers)
    KILN_RETURN_IF_ERROR(CopyLayoutBlob(dir, layer.digest, content));
  return Root{ref.name + "@" + root.digest.str(), root};
}

Result<ImageConfigResolution> ImageSource::ResolveImageConfig(
    std::string_view ref, const llb::Platform& platform, ResolveMode mode) {
  KILN_ASSIGN_OR_RETURN(BlobLease lease, store_->HoldBlobs());
  KILN_ASSIGN_OR_RETURN(Root root, ResolveRoot(ref, platform, mode));
  auto image = store_->Resolve(root.descriptor, platform);
  if (!image.ok()) {
    return image.status().WithContext("resolving " + std::string(ref));
  }
  auto parsed = llb::ParseImageReference(ref);
  std::string name =
      parsed.ok()
          ? (parsed->digest.empty() ? llb::TagNameOnly(*parsed) : *parsed)
                .String()
          : std::string(ref);
  return ImageConfigResolution{name, root.descriptor.digest,
                               std::move(image->config_bytes)};
}

Result<ImageConfigResolution> ImageSource::ResolveOciLayoutConfig(
    std::string_view store_id, std::string_view ref,
    const llb::Platform& platform) {
  KILN_ASSIGN_OR_RETURN(BlobLease lease, store_->HoldBlobs());
  KILN_ASSIGN_OR_RETURN(Root root,
                        ResolveOciLayoutRoot(store_id, ref, platform));
  KILN_ASSIGN_OR_RETURN(ResolvedImage image,
                        store_->Resolve(root.descriptor, platform));
  return ImageConfigResolution{std::string(ref), root.descriptor.digest,
                               std::move(image.config_bytes)};
}

Result<SourceImage> ImageSource::Load(const pb::SourceOp& op,
                                      const llb::Platform& platform) {
  // Blobs being pulled or copied are unnamed until the end, and unpacking
  // reads them: keep image removal off them meanwhile.
  KILN_ASSIGN_OR_RETURN(BlobLease lease, store_->HoldBlobs());
  const std::string& id = op.identifier();
  std::string context = "source " + id;
  auto attr = [&op](const char* key) -> std::string {
    auto it = op.attrs().find(key);
    return it == op.attrs().end() ? std::string() : it->second;
  };
  Root root;
  int layer_limit = 0;
  ResolveMode mode = ResolveMode::kDefault;
  if (id.rfind(kDockerImageScheme, 0) == 0) {
    KILN_ASSIGN_OR_RETURN(
        mode, ParseResolveMode(attr("image.resolvemode")).WithContext(context));
    KILN_ASSIGN_OR_RETURN(
        layer_limit,
        ParseLayerLimit(op, "image.layerlimit").WithContext(context));
    std::string_view ref =
        std::string_view(id).substr(kDockerImageScheme.size());
    KILN_ASSIGN_OR_RETURN(
        root, ResolveRoot(ref, platform, mode).WithContext(context));
  } else if (id.rfind(kOciLayoutScheme, 0) == 0) {
    KILN_ASSIGN_OR_RETURN(
        layer_limit,
        ParseLayerLimit(op, "oci.layerlimit").WithContext(context));
    std::string_view ref = std::string_view(id).substr(kOciLayoutScheme.size());
    KILN_ASSIGN_OR_RETURN(root,
                          ResolveOciLayoutRoot(attr("oci.store"), ref, platform)
                              .WithContext(context));
  } else {
    return InvalidArgumentError(
        context + ": not an image source (docker-image:// or oci-layout://)");
  }

  auto image = store_->Resolve(root.descriptor, platform);
  if (!image.ok()) return image.status().WithContext(context);

  if (std::string checksum = attr("image.checksum"); !checksum.empty()) {
    if (checksum != image->manifest_descriptor.digest.str() &&
        checksum != root.descriptor.digest.str()) {
      return FailedPreconditionError(
          context + ": image checksum mismatch: want " + checksum +
          ", resolved " + image->manifest_descriptor.digest.str());
    }
  }
  oci::Manifest manifest = image->manifest;
  oci::ImageConfig config = image->config;
  if (layer_limit > 0) {
    if (static_cast<size_t>(layer_limit) > manifest.layers.size()) {
      return InvalidArgumentError(
          context + ": layer limit " + std::to_string(layer_limit) +
          " is more than the image's " +
          std::to_string(manifest.layers.size()) + " layers");
    }
    manifest.layers.resize(layer_limit);
    if (config.diff_ids.size() > static_cast<size_t>(layer_limit)) {
      config.diff_ids.resize(layer_limit);
    }
  }
  KILN_ASSIGN_OR_RETURN(
      std::string snapshot,
      UnpackImage(*snapshots_, store_->content(), manifest, config)
          .WithContext(context + ": unpacking"));
  std::string name = root.name;
  if (name.find('@') == std::string::npos)
    name += "@" + root.descriptor.digest.str();
  return SourceImage{std::move(name), std::move(*image), std::move(snapshot)};
}

}  // namespace kiln::solver
