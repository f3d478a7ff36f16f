#include "registry_upload.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace kiln::solver::internal {
namespace {

std::string WithQuery(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

Status CheckPushedDigest(const HttpResponse& response, const Digest& digest,
                         std::string_view what) {
  const std::string header = response.Header("docker-content-digest");
  if (header.empty() || header == digest.str()) return Status::Ok();
  return DataLossError(std::string(what) + ": the registry stored it as " +
                       header);
}

// The upload session's next URL from a 202 response.
Result<std::string> NextLocation(std::string_view request_url,
                                 const HttpResponse& response,
                                 std::string_view what) {
  if (response.Header("location").empty()) {
    return UnavailableError(std::string(what) + ": the registry answered " +
                            HttpStatusText(response.status) +
                            " without a Location for the upload");
  }
  return RegistryTransport::ResolveLocation(request_url, response);
}

// Restarting a whole upload can fix these (not a refusal or bad content).
bool Transient(const Status& s) {
  return s.code() == StatusCode::kUnavailable ||
         s.code() == StatusCode::kDeadlineExceeded ||
         s.code() == StatusCode::kResourceExhausted;
}

// Sends the blob's bytes to an upload session at `location`. None of these
// requests is retried on its own: after a failure the registry may hold
// part of a chunk, so only a new session helps (UploadBlob).
Status SendBlobBytes(RegistryTransport& transport, ContentStore* store,
                     const BlobUpload& up,
                     const std::vector<std::string>& scopes,
                     std::string location, int64_t size,
                     std::string_view what) {
  const Endpoint& endpoint = *up.endpoint;
  const std::string file = store->BlobPath(up.blob.digest);
  const std::string digest_query = "digest=" + UrlEncode(up.blob.digest.str());
  if (up.chunk_size > 0 && size > up.chunk_size) {
    for (int64_t offset = 0; offset < size; offset += up.chunk_size) {
      const int64_t n = std::min(up.chunk_size, size - offset);
      HttpRequest patch{
          .method = "PATCH",
          .url = location,
          .headers = {"Content-Type: application/octet-stream",
                      "Content-Range: " + std::to_string(offset) + "-" +
                          std::to_string(offset + n - 1)},
          .body = HttpBody{.file = file, .offset = offset, .length = n}};
      KILN_ASSIGN_OR_RETURN(HttpResponse response,
                            transport.Send(endpoint, scopes, patch));
      if (response.status != 202) {
        return HttpError(std::string(what) + ": PATCH " + RedactUrl(patch.url),
                         response);
      }
      KILN_ASSIGN_OR_RETURN(location, NextLocation(patch.url, response, what));
      if (up.progress) up.progress(offset + n);
    }
    HttpRequest put{.method = "PUT",
                    .url = WithQuery(location, digest_query),
                    .body = HttpBody{}};
    KILN_ASSIGN_OR_RETURN(HttpResponse response,
                          transport.Send(endpoint, scopes, put));
    if (response.status != 201) {
      return HttpError(std::string(what) + ": PUT " + RedactUrl(put.url),
                       response);
    }
    return CheckPushedDigest(response, up.blob.digest, what);
  }
  HttpRequest put{.method = "PUT",
                  .url = WithQuery(location, digest_query),
                  .headers = {"Content-Type: application/octet-stream"},
                  .body = HttpBody{.file = file, .offset = 0, .length = size}};
  KILN_ASSIGN_OR_RETURN(HttpResponse response,
                        transport.Send(endpoint, scopes, put));
  if (response.status != 201) {
    return HttpError(std::string(what) + ": PUT " + RedactUrl(put.url),
                     response);
  }
  if (up.progress) up.progress(size);
  return CheckPushedDigest(response, up.blob.digest, what);
}

}  // namespace

Result<BlobOutcome> UploadBlob(RegistryTransport& transport,
                               ContentStore* store, const BlobUpload& up) {
  const Endpoint& endpoint = *up.endpoint;
  const std::string repo = endpoint.Repo(up.path);
  const std::string digest = up.blob.digest.str();
  const std::string what =
      "blob " + digest + " to " + endpoint.host + "/" + repo;
  std::vector<std::string> scopes = {RepositoryScope(repo, "pull,push")};
  const int attempts = std::max(1, transport.config().retry_attempts);
  std::optional<BlobInfo> info;  // the local blob, checked once
  for (int attempt = 1;; ++attempt) {
    HttpRequest head{.method = "HEAD",
                     .url = endpoint.Url(up.path, "blobs/" + digest)};
    KILN_ASSIGN_OR_RETURN(HttpResponse exists,
                          transport.Send(endpoint, scopes, head));
    // After a failed attempt, 200 means its last PUT went through.
    if (exists.status == 200) return BlobOutcome::kExisted;
    if (exists.status != 404)
      return HttpError(what + ": HEAD " + head.url, exists);

    std::string location;
    if (!up.mount_from.empty() && attempt == 1) {
      // Cross-repository mount: 201 means done, 202 is an ordinary upload
      // session (the registry could not mount).
      std::vector<std::string> mount_scopes = scopes;
      mount_scopes.push_back(RepositoryScope(up.mount_from, "pull"));
      HttpRequest mount{
          .method = "POST",
          .url = endpoint.Url(up.path,
                              "blobs/uploads/?mount=" + UrlEncode(digest) +
                                  "&from=" + UrlEncode(up.mount_from))};
      Result<HttpResponse> mounted =
          transport.Send(endpoint, mount_scopes, mount);
      if (mounted.ok() && mounted->status == 201) return BlobOutcome::kMounted;
      if (mounted.ok() && mounted->status == 202 &&
          !mounted->Header("location").empty()) {
        location = RegistryTransport::ResolveLocation(mount.url, *mounted);
      }
      // Any other answer (e.g. no pull right on the source): upload instead.
    }

    if (!info) {
      Result<BlobInfo> local = store->Info(up.blob.digest);
      if (!local.ok()) {
        return FailedPreconditionError(
            what + ": the blob is not in the content store (" +
            local.status().message() + ")");
      }
      if (local->size != up.blob.size) {
        return DataLossError(
            what + ": the content store holds " + std::to_string(local->size) +
            " bytes, the descriptor says " + std::to_string(up.blob.size));
      }
      info = *local;
    }
    Status sent = [&]() -> Status {
      if (location.empty()) {
        HttpRequest start{.method = "POST",
                          .url = endpoint.Url(up.path, "blobs/uploads/")};
        KILN_ASSIGN_OR_RETURN(HttpResponse started,
                              transport.Send(endpoint, scopes, start));
        if (started.status != 202)
          return HttpError(what + ": POST " + start.url, started);
        KILN_ASSIGN_OR_RETURN(location, NextLocation(start.url, started, what));
      }
      return SendBlobBytes(transport, store, up, scopes, std::move(location),
                           info->size, what);
    }();
    if (sent.ok()) return BlobOutcome::kUploaded;
    if (attempt >= attempts || !Transient(sent)) {
      if (attempt == 1) return sent;
      return Status(sent.code(), sent.message() + " (after " +
                                     std::to_string(attempt) +
                                     " upload attempts)");
    }
    transport.WaitBeforeRetry(attempt);
  }
}

Status PutManifest(RegistryTransport& transport, const Endpoint& endpoint,
                   const std::string& path, const std::string& reference,
                   const std::string& media_type, const std::string& bytes,
                   const Digest& digest) {
  HttpRequest put{.method = "PUT",
                  .url = endpoint.Url(path, "manifests/" + reference),
                  .headers = {"Content-Type: " + media_type},
                  .body = HttpBody{.data = bytes}};
  const std::string what = "manifest " + digest.str() + " to " + endpoint.host +
                           "/" + endpoint.Repo(path) + ":" + reference +
                           " (PUT " + put.url + ")";
  // A manifest PUT is idempotent: retried like a GET.
  KILN_ASSIGN_OR_RETURN(
      HttpResponse response,
      transport.Send(endpoint,
                     {RepositoryScope(endpoint.Repo(path), "pull,push")}, put,
                     SendOptions{.retry = true}));
  if (response.status != 201 && response.status != 200)
    return HttpError(what, response);
  return CheckPushedDigest(response, digest, what);
}

}  // namespace kiln::solver::internal
