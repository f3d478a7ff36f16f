// The oci, docker and image exporters: a BuildImage result written as an
// archive, an OCI layout directory, or named in the image store and pushed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "export_internal.h"
#include "fs_util.h"
#include "image_archive_io.h"
#include "image_archive_plan.h"
#include "kiln/llb/reference.h"
#include "registry_auth.h"

namespace kiln::solver::internal {
namespace {

constexpr std::string_view kOciLayoutJson = R"({"imageLayoutVersion":"1.0.0"})";

Result<std::vector<llb::ImageReference>> ParseNames(
    const std::vector<std::string>& names) {
  std::vector<llb::ImageReference> refs;
  for (const auto& n : names) {
    auto ref = llb::ParseImageReference(n);
    if (!ref.ok()) return ref.status().WithContext("name " + n);
    refs.push_back(llb::TagNameOnly(std::move(*ref)));
  }
  return refs;
}

// The blobs of a manifest: itself, its config and layers.
Status AddManifestBlobs(const ContentStore& content, const oci::Descriptor& d,
                        ArchivePlan* plan) {
  KILN_RETURN_IF_ERROR(AddStoredBlob(content, d.digest, d.size, plan));
  KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(d.digest));
  KILN_ASSIGN_OR_RETURN(oci::Manifest m, oci::ParseManifest(bytes));
  KILN_RETURN_IF_ERROR(
      AddStoredBlob(content, m.config.digest, m.config.size, plan));
  for (const auto& l : m.layers)
    KILN_RETURN_IF_ERROR(AddStoredBlob(content, l.digest, l.size, plan));
  return Status::Ok();
}

// The OCI layout of the image (a manifest, or an index and its manifests):
// every blob, index.json naming the root.
Result<ArchivePlan> PlanLayout(const ContentStore& content,
                               const oci::Descriptor& root,
                               const std::vector<llb::ImageReference>& refs) {
  ArchivePlan plan;
  AddDirectories(&plan);
  if (oci::IsIndexMediaType(root.media_type)) {
    KILN_RETURN_IF_ERROR(AddStoredBlob(content, root.digest, root.size, &plan));
    KILN_ASSIGN_OR_RETURN(std::string bytes, content.ReadAll(root.digest));
    KILN_ASSIGN_OR_RETURN(oci::Index children, oci::ParseIndex(bytes));
    for (const auto& child : children.manifests)
      KILN_RETURN_IF_ERROR(AddManifestBlobs(content, child, &plan));
  } else {
    KILN_RETURN_IF_ERROR(AddManifestBlobs(content, root, &plan));
  }
  oci::Index index;
  index.media_type = std::string(oci::kMediaTypeImageIndex);
  if (refs.empty()) index.manifests.push_back(root);
  for (const auto& ref : refs)
    index.manifests.push_back(NamedDescriptor(root, ref));
  AddBytes(&plan, "index.json", oci::ToJson(index));
  AddBytes(&plan, "oci-layout", std::string(kOciLayoutJson));
  return plan;
}

Status WriteArchive(const ContentStore& content, const ArchivePlan& plan,
                    const std::string& dest) {
  std::string label = dest == "-" ? "standard output" : dest;
  KILN_ASSIGN_OR_RETURN(auto out, ArchiveOutput::Create(dest));
  KILN_ASSIGN_OR_RETURN(auto tar, TarWriter::Open(out->fd(), label));
  KILN_RETURN_IF_ERROR(WritePlan(content, plan, tar.get()));
  KILN_RETURN_IF_ERROR(tar->Close());
  tar.reset();
  return out->Commit();
}

// The plan written as files under `dest` (an OCI layout directory).
Status WriteLayoutDir(const ContentStore& content, const ArchivePlan& plan,
                      const std::string& dest) {
  KILN_RETURN_IF_ERROR(MakeDirs(dest, "oci layout " + dest));
  for (const auto& [path, r] : plan) {
    std::string target = dest + "/" + path;
    if (r.kind == ArchiveRecord::Kind::kDirectory) {
      KILN_RETURN_IF_ERROR(MakeDirs(target, "oci layout " + target));
    } else if (r.kind == ArchiveRecord::Kind::kBytes) {
      KILN_RETURN_IF_ERROR(WriteFileAtomic(target, r.bytes));
    } else {
      KILN_ASSIGN_OR_RETURN(
          auto reader,
          BlobReader::Open(content.BlobPath(r.blob), oci::Compression::kNone));
      std::string tmp = target + ".tmp-" + RandomNonce();
      UniqueFd fd(
          open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!fd.valid()) return ErrnoError("creating", tmp, errno);
      Status s;
      for (;;) {
        auto chunk = reader->Read();
        if (!chunk.ok()) s = chunk.status();
        if (!s.ok() || chunk->empty()) break;
        s = WriteFull(fd.get(), *chunk, tmp);
        if (!s.ok()) break;
      }
      if (s.ok() && rename(tmp.c_str(), target.c_str()) != 0)
        s = ErrnoError("renaming", tmp, errno);
      if (!s.ok()) {
        unlink(tmp.c_str());
        return s;
      }
    }
  }
  return Status::Ok();
}

std::string JoinNames(const std::vector<llb::ImageReference>& refs) {
  std::string out;
  for (const auto& r : refs) {
    if (!out.empty()) out += ',';
    out += r.String();
  }
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> ExportImage(
    const ExportRequest& request, std::span<const ExportSource> sources,
    const ExportEnv& env) {
  const std::string& type = request.type;
  KILN_ASSIGN_OR_RETURN(bool unpack, AttrBool(request.attrs, "unpack", false));
  if (unpack) return UnimplementedError("unpack=true is not supported");
  KILN_ASSIGN_OR_RETURN(bool push, AttrBool(request.attrs, "push", false));
  KILN_ASSIGN_OR_RETURN(bool as_tar, AttrBool(request.attrs, "tar", true));
  KILN_ASSIGN_OR_RETURN(bool oci_types,
                        AttrBool(request.attrs, "oci-mediatypes", true));
  if (auto c = request.attrs.find("compression");
      c != request.attrs.end() && c->second == "zstd") {
    oci_types = true;  // as BuildImage: zstd layers need OCI types
  }
  KILN_ASSIGN_OR_RETURN(auto refs, ParseNames(AttrList(request.attrs, "name")));
  std::string dest;
  if (type != "image") {
    auto it = request.attrs.find("dest");
    if (it == request.attrs.end() || it->second.empty())
      return InvalidArgumentError("dest is required");
    dest = it->second;
  }
  if ((type == "image" || type == "docker") && refs.empty())
    return InvalidArgumentError("name is required");
  if ((type == "image" || type == "docker") && env.images == nullptr)
    return FailedPreconditionError("no image store");
  if (push && env.registry == nullptr)
    return FailedPreconditionError("push=true: no registry client");
  bool attested = false;
  for (const ExportSource& s : sources) attested |= !s.attestations.empty();
  if (type == "docker" && sources.size() > 1) {
    return FailedPreconditionError(
        "the docker exporter cannot export a multi-platform result (" +
        std::to_string(sources.size()) +
        " platforms): a docker archive holds no manifest list; use "
        "type=oci or type=image");
  }
  if (type == "docker" && attested) {
    return InvalidArgumentError(
        "the docker exporter cannot carry attestations; use type=oci or "
        "type=image");
  }

  std::vector<BuiltImage> images;
  for (const ExportSource& source : sources) {
    auto image = BuildImage(request, source, env);
    if (!image.ok() && sources.size() > 1) {
      return image.status().WithContext("platform " +
                                        llb::FormatPlatform(source.platform));
    }
    if (!image.ok()) return image.status();
    images.push_back(*std::move(image));
  }
  // BuildKit writes an index for several platforms or any attestation.
  oci::Descriptor root = images[0].manifest;
  const bool as_index = images.size() > 1 || attested;
  if (as_index) {
    oci::Index index;
    index.media_type =
        std::string(oci_types ? oci::kMediaTypeImageIndex
                              : oci::kMediaTypeDockerManifestList);
    for (const BuiltImage& image : images)
      index.manifests.push_back(image.manifest);
    for (size_t i = 0; i < images.size(); ++i) {
      if (sources[i].attestations.empty()) continue;
      KILN_ASSIGN_OR_RETURN(
          oci::Descriptor d,
          WriteAttestationManifest(env, images[i].manifest, refs,
                                   sources[i].attestations, oci_types));
      index.manifests.push_back(std::move(d));
    }
    std::string bytes = oci::ToJson(index);
    KILN_ASSIGN_OR_RETURN(Digest digest, env.content->Put(bytes));
    root = oci::Descriptor{};
    root.media_type = index.media_type;
    root.digest = digest;
    root.size = static_cast<int64_t>(bytes.size());
  }

  if (type == "oci") {
    KILN_ASSIGN_OR_RETURN(ArchivePlan plan,
                          PlanLayout(*env.content, root, refs));
    KILN_RETURN_IF_ERROR(as_tar ? WriteArchive(*env.content, plan, dest)
                                : WriteLayoutDir(*env.content, plan, dest));
  } else if (type == "docker") {
    std::vector<SavedName> names;
    for (const auto& ref : refs)
      names.push_back(SavedName{ImageRecord{ref.String(), root}, ref});
    ArchivePlan plan;
    AddDirectories(&plan);
    SaveOptions options;
    options.platform = sources[0].platform;
    KILN_RETURN_IF_ERROR(PlanDockerArchive(*env.images, names, options, &plan));
    KILN_RETURN_IF_ERROR(WriteArchive(*env.content, plan, dest));
  } else {
    for (const auto& ref : refs) {
      KILN_RETURN_IF_ERROR(env.images->Put(ref.String(), root));
    }
    if (push) {
      for (const auto& ref : refs) {
        Status s = env.registry->Push(ref, root);
        if (!s.ok()) return s.WithContext("pushing " + ref.String());
      }
    }
  }

  std::map<std::string, std::string> out;
  out["containerimage.digest"] = root.digest.str();
  if (!as_index) {
    out["containerimage.config.digest"] = images[0].config_digest.str();
  }
  oci::Descriptor plain = root;
  plain.platform.reset();
  out["containerimage.descriptor"] = Base64Encode(oci::ToJson(plain));
  if (!refs.empty()) out["image.name"] = JoinNames(refs);
  return out;
}

}  // namespace kiln::solver::internal
