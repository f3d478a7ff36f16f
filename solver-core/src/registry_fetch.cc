#include "registry_fetch.h"

#include <memory>
#include <vector>

namespace kiln::solver::internal {
namespace {

constexpr char kAcceptManifests[] =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// Manifests are small: distribution refuses to store ones over 4 MiB and
// containerd to read them, so a registry sending more is misbehaving.
constexpr int64_t kMaxManifestSize = 4 << 20;

std::string MediaTypeOf(const HttpResponse& response) {
  std::string type = response.Header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

bool KnownManifestType(std::string_view type) {
  return oci::IsIndexMediaType(type) || oci::IsManifestMediaType(type);
}

// Tries `fn` on each pull endpoint of ref's registry; a mirror's failure
// moves on to the next endpoint, the origin's is the answer (mentioning
// what the mirrors said).
template <typename T>
Result<T> TryEndpoints(RegistryTransport& transport,
                       const llb::ImageReference& ref,
                       const std::function<Result<T>(const Endpoint&)>& fn) {
  std::string mirror_errors;
  for (const Endpoint& endpoint :
       transport.Endpoints(ref.domain, /*pull=*/true)) {
    Result<T> result = fn(endpoint);
    if (result.ok()) return result;
    if (!endpoint.mirror) {
      if (mirror_errors.empty()) return result.status();
      return Status(result.status().code(),
                    result.status().message() +
                        " (mirrors tried first: " + mirror_errors + ")");
    }
    if (!mirror_errors.empty()) mirror_errors += "; ";
    mirror_errors += endpoint.host + ": " + result.status().message();
  }
  return InternalError("no endpoint for registry " + ref.domain);
}

Status CheckDigest(const Digest& computed, const Digest& want,
                   std::string_view who) {
  if (!want.valid() || want == computed) return Status::Ok();
  if (want.algorithm() != "sha256") {
    return UnimplementedError(std::string(who) + ": digest algorithm " +
                              std::string(want.algorithm()) +
                              " is not supported");
  }
  return DataLossError(std::string(who) + " is " + want.str() +
                       " but its bytes hash to " + computed.str());
}

Result<FetchedManifest> GetManifest(RegistryTransport& transport,
                                    const Endpoint& endpoint,
                                    const llb::ImageReference& ref,
                                    const std::string& reference,
                                    const Digest& expected,
                                    int64_t expected_size) {
  HttpRequest request{
      .url = endpoint.Url(ref.path, "manifests/" + reference),
      .headers = {kAcceptManifests},
      .max_body_size = expected_size >= 0 ? expected_size : kMaxManifestSize};
  const std::string what = "manifest " + reference + " of " + ref.Name() +
                           " from registry " + endpoint.host + " (GET " +
                           request.url + ")";
  if (expected_size > kMaxManifestSize) {
    return ResourceExhaustedError(
        what + ": its descriptor says " + std::to_string(expected_size) +
        " bytes, more than the " + std::to_string(kMaxManifestSize) +
        " bytes accepted for a manifest");
  }
  Result<HttpResponse> sent = transport.Send(
      endpoint, {RepositoryScope(endpoint.Repo(ref.path), "pull")}, request);
  if (!sent.ok()) {
    if (sent.status().code() != StatusCode::kResourceExhausted)
      return sent.status();
    if (expected_size >= 0) {
      return DataLossError(what + ": the registry sent more than the " +
                           std::to_string(expected_size) +
                           " bytes its descriptor says");
    }
    return ResourceExhaustedError(what + ": larger than the " +
                                  std::to_string(kMaxManifestSize) +
                                  " bytes accepted for a manifest");
  }
  HttpResponse& response = *sent;
  if (response.status != 200) return HttpError(what, response);
  if (expected_size >= 0 &&
      static_cast<int64_t>(response.body.size()) != expected_size) {
    return DataLossError(
        what + ": the registry sent " + std::to_string(response.body.size()) +
        " bytes, its descriptor says " + std::to_string(expected_size));
  }
  FetchedManifest out;
  out.bytes = std::move(response.body);
  const Digest computed = Digest::FromBytes(out.bytes);
  KILN_RETURN_IF_ERROR(
      CheckDigest(computed, expected, what + ": the expected digest"));
  if (const std::string header = response.Header("docker-content-digest");
      !header.empty()) {
    Result<Digest> said = Digest::Parse(header);
    if (said.ok() && said->algorithm() == "sha256") {
      KILN_RETURN_IF_ERROR(
          CheckDigest(computed, *said, what + ": Docker-Content-Digest"));
    }
  }
  std::string type = MediaTypeOf(response);
  if (type.find("distribution.manifest.v1") != std::string::npos) {
    return UnimplementedError(what + ": docker schema 1 manifests (" + type +
                              ") are not supported");
  }
  if (!KnownManifestType(type)) type = SniffManifestMediaType(out.bytes);
  out.descriptor.media_type = std::move(type);
  out.descriptor.digest = computed;
  out.descriptor.size = static_cast<int64_t>(out.bytes.size());
  return out;
}

Result<oci::Descriptor> HeadManifest(RegistryTransport& transport,
                                     const Endpoint& endpoint,
                                     const llb::ImageReference& ref) {
  const std::string reference = ManifestReference(ref);
  HttpRequest request{.method = "HEAD",
                      .url = endpoint.Url(ref.path, "manifests/" + reference),
                      .headers = {kAcceptManifests}};
  const std::string what = "manifest " + reference + " of " + ref.Name() +
                           " from registry " + endpoint.host + " (HEAD " +
                           request.url + ")";
  Digest expected;
  if (!ref.digest.empty()) {
    KILN_ASSIGN_OR_RETURN(expected, Digest::Parse(ref.digest));
  }
  KILN_ASSIGN_OR_RETURN(
      HttpResponse response,
      transport.Send(endpoint,
                     {RepositoryScope(endpoint.Repo(ref.path), "pull")},
                     request));
  if (response.status == 404) return HttpError(what, response);
  if (response.status == 200) {
    oci::Descriptor d;
    d.media_type = MediaTypeOf(response);
    Result<Digest> said =
        Digest::Parse(response.Header("docker-content-digest"));
    const std::string length = response.Header("content-length");
    if (said.ok() && expected.valid() && *said != expected) {
      return DataLossError(what + ": Docker-Content-Digest is " + said->str() +
                           ", not " + expected.str());
    }
    d.digest = expected.valid() ? expected : said.value_or(Digest());
    if (d.digest.valid() && KnownManifestType(d.media_type) &&
        !length.empty() &&
        length.find_first_not_of("0123456789") == std::string::npos &&
        length.size() < 16) {
      d.size = std::stoll(length);
      return d;
    }
  }
  // HEAD was not conclusive (no digest or media type, 405, …): GET.
  KILN_ASSIGN_OR_RETURN(
      FetchedManifest got,
      GetManifest(transport, endpoint, ref, reference, expected, -1));
  return got.descriptor;
}

}  // namespace

std::string ManifestReference(const llb::ImageReference& ref) {
  if (!ref.digest.empty()) return ref.digest;
  return ref.tag.empty() ? "latest" : ref.tag;
}

std::string SniffManifestMediaType(const std::string& bytes) {
  Result<std::string> sniffed = oci::SniffMediaType(bytes);
  if (sniffed.ok() && !sniffed->empty()) return *sniffed;
  Result<oci::Index> index = oci::ParseIndex(bytes);
  if (index.ok() && !index->manifests.empty())
    return std::string(oci::kMediaTypeImageIndex);
  return std::string(oci::kMediaTypeImageManifest);
}

Result<oci::Descriptor> ResolveManifest(RegistryTransport& transport,
                                        const llb::ImageReference& ref) {
  return TryEndpoints<oci::Descriptor>(transport, ref, [&](const Endpoint& e) {
    return HeadManifest(transport, e, ref);
  });
}

Result<FetchedManifest> FetchManifest(RegistryTransport& transport,
                                      const llb::ImageReference& ref,
                                      const std::string& reference,
                                      const Digest& expected,
                                      int64_t expected_size) {
  return TryEndpoints<FetchedManifest>(transport, ref, [&](const Endpoint& e) {
    return GetManifest(transport, e, ref, reference, expected, expected_size);
  });
}

Status FetchBlob(RegistryTransport& transport, const llb::ImageReference& ref,
                 const oci::Descriptor& desc, ContentStore* store,
                 const std::function<void(int64_t done)>& progress) {
  Result<bool> fetched = TryEndpoints<bool>(
      transport, ref, [&](const Endpoint& endpoint) -> Result<bool> {
        std::unique_ptr<ContentWriter> writer;
        int64_t done = 0;
        HttpRequest request{
            .url = endpoint.Url(ref.path, "blobs/" + desc.digest.str())};
        const std::string what = "blob " + desc.digest.str() + " of " +
                                 ref.Name() + " from registry " +
                                 endpoint.host + " (GET " + request.url + ")";
        request.sink = [&](std::string_view data) -> Status {
          KILN_RETURN_IF_ERROR(writer->Write(data));
          done += static_cast<int64_t>(data.size());
          if (progress) progress(done);
          return Status::Ok();
        };
        auto restart = [&]() -> Status {
          writer.reset();  // drops a partial ingest of a failed attempt
          done = 0;
          // Descriptor sizes are exact (OCI): the writer refuses a byte more,
          // so a registry cannot fill the disk.
          KILN_ASSIGN_OR_RETURN(writer, store->Writer(desc.digest, desc.size));
          return Status::Ok();
        };
        Result<HttpResponse> response = transport.Send(
            endpoint, {RepositoryScope(endpoint.Repo(ref.path), "pull")},
            request, SendOptions{.before_attempt = restart});
        if (!response.ok()) return response.status().WithContext(what);
        if (response->status != 200) return HttpError(what, *response);
        KILN_RETURN_IF_ERROR(writer->Commit().WithContext(what));
        return true;
      });
  return fetched.status();
}

}  // namespace kiln::solver::internal
