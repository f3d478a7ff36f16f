// RegistryClient: construction, Resolve and Pull (Push is in registry_push.cc).
#include "kiln/solver/registry.h"

#include <vector>

#include "registry_fetch.h"
#include "registry_transport.h"

namespace kiln::solver {
namespace {

using internal::FetchedManifest;

// A manifest by descriptor: from the store when present, else fetched
// (exactly desc.size bytes), verified and stored.
Result<std::string> EnsureManifest(internal::RegistryTransport& transport,
                                   ContentStore* store,
                                   const llb::ImageReference& ref,
                                   const oci::Descriptor& desc) {
  if (store->Has(desc.digest)) return store->ReadAll(desc.digest);
  KILN_ASSIGN_OR_RETURN(
      FetchedManifest got,
      internal::FetchManifest(transport, ref, desc.digest.str(), desc.digest,
                              desc.size));
  Result<Digest> stored = store->Put(got.bytes, &desc.digest);
  if (!stored.ok()) return stored.status();
  return std::move(got.bytes);
}

}  // namespace

RegistryClient::RegistryClient(RegistryConfig config, ContentStore* store)
    : transport_(
          std::make_unique<internal::RegistryTransport>(std::move(config))),
      store_(store) {}

RegistryClient::~RegistryClient() = default;

Result<oci::Descriptor> RegistryClient::Resolve(
    const llb::ImageReference& ref) {
  Result<oci::Descriptor> d = internal::ResolveManifest(*transport_, ref);
  if (!d.ok()) return d.status().WithContext("resolving " + ref.String());
  return d;
}

Result<PulledImage> RegistryClient::Pull(const llb::ImageReference& ref,
                                         const PullOptions& options) {
  const std::string context = "pulling " + ref.String();
  PulledImage out;

  // The root: by digest it may already be here; otherwise GET and verify.
  Digest pinned;
  if (!ref.digest.empty()) {
    Result<Digest> parsed = Digest::Parse(ref.digest);
    if (!parsed.ok()) return parsed.status().WithContext(context);
    pinned = *parsed;
  }
  std::string root_bytes;
  if (pinned.valid() && store_->Has(pinned)) {
    Result<std::string> bytes = store_->ReadAll(pinned);
    if (!bytes.ok()) return bytes.status().WithContext(context);
    root_bytes = std::move(*bytes);
    out.root = oci::Descriptor{
        .media_type = internal::SniffManifestMediaType(root_bytes),
        .digest = pinned,
        .size = static_cast<int64_t>(root_bytes.size())};
  } else {
    Result<FetchedManifest> got = internal::FetchManifest(
        *transport_, ref, internal::ManifestReference(ref), pinned,
        /*expected_size=*/-1);
    if (!got.ok()) return got.status().WithContext(context);
    Result<Digest> stored = store_->Put(got->bytes, &got->descriptor.digest);
    if (!stored.ok()) return stored.status().WithContext(context);
    out.root = got->descriptor;
    root_bytes = std::move(got->bytes);
  }

  // The platform's manifest.
  std::string manifest_bytes;
  if (oci::IsIndexMediaType(out.root.media_type)) {
    Result<oci::Index> index = oci::ParseIndex(root_bytes);
    if (!index.ok())
      return index.status().WithContext(context + ": index " +
                                        out.root.digest.str());
    Result<oci::Descriptor> chosen =
        oci::SelectManifest(*index, options.platform);
    if (!chosen.ok()) return chosen.status().WithContext(context);
    // An entry without a media type (OCI allows it, and SelectManifest takes
    // it) is judged by its content once fetched.
    const std::string entry = "index entry " + chosen->digest.str() + " for " +
                              llb::FormatPlatform(options.platform);
    if (!chosen->media_type.empty() &&
        !oci::IsManifestMediaType(chosen->media_type)) {
      return UnimplementedError(context + ": " + entry + " has media type \"" +
                                chosen->media_type +
                                "\", not an image manifest");
    }
    Result<std::string> bytes =
        EnsureManifest(*transport_, store_, ref, *chosen);
    if (!bytes.ok()) return bytes.status().WithContext(context);
    out.manifest = *chosen;
    if (out.manifest.media_type.empty()) {
      out.manifest.media_type = internal::SniffManifestMediaType(*bytes);
      if (!oci::IsManifestMediaType(out.manifest.media_type)) {
        return UnimplementedError(context + ": " + entry + " is a \"" +
                                  out.manifest.media_type +
                                  "\" (by its content), not an image manifest");
      }
    }
    manifest_bytes = std::move(*bytes);
  } else if (oci::IsManifestMediaType(out.root.media_type)) {
    out.manifest = out.root;
    manifest_bytes = root_bytes;
  } else {
    return UnimplementedError(context + ": " + out.root.digest.str() +
                              " has media type \"" + out.root.media_type +
                              "\", not an image index or manifest");
  }
  Result<oci::Manifest> manifest = oci::ParseManifest(manifest_bytes);
  if (!manifest.ok()) {
    return manifest.status().WithContext(context + ": manifest " +
                                         out.manifest.digest.str());
  }
  out.parsed_manifest = std::move(*manifest);

  // Config and layers, several at a time; the config goes first in the list
  // so that a broken image fails early.
  std::vector<oci::Descriptor> blobs;
  blobs.push_back(out.parsed_manifest.config);
  for (const oci::Descriptor& layer : out.parsed_manifest.layers)
    blobs.push_back(layer);
  std::mutex progress_mu;
  auto report = [&](const BlobProgress& p) {
    if (!options.progress) return;
    std::lock_guard<std::mutex> lock(progress_mu);
    options.progress(p);
  };
  Status fetched = internal::ForEachBounded(
      blobs.size(), transport_->config().max_concurrent_downloads,
      [&](size_t i) -> Status {
        const oci::Descriptor& blob = blobs[i];
        BlobProgress p{.digest = blob.digest, .total = blob.size};
        if (store_->Has(blob.digest)) {
          p.done = blob.size;
          p.complete = p.cached = true;
          report(p);
          return Status::Ok();
        }
        KILN_RETURN_IF_ERROR(internal::FetchBlob(*transport_, ref, blob, store_,
                                                 [&](int64_t done) {
                                                   p.done = done;
                                                   report(p);
                                                 }));
        p.done = blob.size;
        p.complete = true;
        report(p);
        return Status::Ok();
      });
  if (!fetched.ok()) return fetched.WithContext(context);

  Result<std::string> config_bytes =
      store_->ReadAll(out.parsed_manifest.config.digest);
  if (!config_bytes.ok()) return config_bytes.status().WithContext(context);
  Result<oci::ImageConfig> config = oci::ParseImageConfig(*config_bytes);
  if (!config.ok()) {
    return config.status().WithContext(context + ": config " +
                                       out.parsed_manifest.config.digest.str());
  }
  out.config = std::move(*config);
  out.config_bytes = std::move(*config_bytes);

  for (const oci::Descriptor& blob : blobs)
    AddBlobSource(blob.digest, ref.domain, ref.path);
  return out;
}

void RegistryClient::AddBlobSource(const Digest& digest,
                                   const llb::ImageReference& ref) {
  AddBlobSource(digest, ref.domain, ref.path);
}

void RegistryClient::AddBlobSource(const Digest& digest,
                                   const std::string& domain,
                                   const std::string& path) {
  std::lock_guard<std::mutex> lock(sources_mu_);
  std::set<std::string>& repos = sources_[digest];
  if (repos.size() < 8)
    repos.insert(domain + "/" + path);  // a few candidates suffice
}

std::string RegistryClient::MountSource(const Digest& digest,
                                        const std::string& domain,
                                        const std::string& path) const {
  std::lock_guard<std::mutex> lock(sources_mu_);
  auto it = sources_.find(digest);
  if (it == sources_.end()) return "";
  const std::string prefix = domain + "/";
  for (const std::string& repo : it->second) {
    if (repo.rfind(prefix, 0) == 0 && repo.substr(prefix.size()) != path) {
      return repo.substr(prefix.size());
    }
  }
  return "";
}

}  // namespace kiln::solver

namespace kiln::solver {

Result<oci::Descriptor> RegistryClient::FetchManifest(
    const llb::ImageReference& ref) {
  const std::string context = "fetching manifest " + ref.String();
  Digest pinned;
  if (!ref.digest.empty()) {
    Result<Digest> parsed = Digest::Parse(ref.digest);
    if (!parsed.ok()) return parsed.status().WithContext(context);
    pinned = *parsed;
  }
  Result<FetchedManifest> got = internal::FetchManifest(
      *transport_, ref, internal::ManifestReference(ref), pinned,
      /*expected_size=*/-1);
  if (!got.ok()) return got.status().WithContext(context);
  Result<Digest> stored = store_->Put(got->bytes, &got->descriptor.digest);
  if (!stored.ok()) return stored.status().WithContext(context);
  oci::Descriptor desc = got->descriptor;
  if (desc.media_type.empty()) {
    desc.media_type = internal::SniffManifestMediaType(got->bytes);
  }
  AddBlobSource(desc.digest, ref.domain, ref.path);
  return desc;
}

Status RegistryClient::FetchBlob(const llb::ImageReference& ref,
                                 const oci::Descriptor& blob) {
  if (store_->Has(blob.digest)) return Status::Ok();
  KILN_RETURN_IF_ERROR(
      internal::FetchBlob(*transport_, ref, blob, store_, [](int64_t) {})
          .WithContext("fetching blob " + blob.digest.str() + " from " +
                       ref.Name()));
  AddBlobSource(blob.digest, ref.domain, ref.path);
  return Status::Ok();
}

}  // namespace kiln::solver
