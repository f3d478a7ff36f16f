// FetchHttp: attrs, the conditional request, the download into the cache
// and the copy into the destination. Cache records: http_source_cache.cc.
#include "kiln/solver/http_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fs_util.h"
#include "http_client.h"
#include "http_source_cache.h"
#include "registry_url.h"
#include "sha256_hasher.h"

namespace kiln::solver {
namespace {

using internal::HttpCacheRecord;
using internal::UniqueFd;

struct HttpAttrs {
  std::optional<Digest> checksum;
  std::string filename;
  int perm = 0600;
  int uid = 0;
  int gid = 0;
  std::string auth_header_secret;
  std::map<std::string, std::string> headers;  // lowercase name → value
};

Result<int> ParseIntAttr(const std::string& url, const std::string& key,
                         const std::string& value) {
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(value.c_str(), &end, 0);
  if (value.empty() || *end != '\0' || errno != 0 || n < 0 || n > INT32_MAX) {
    return InvalidArgumentError("http source " + url + ": bad " + key + " \"" +
                                value + "\"");
  }
  return static_cast<int>(n);
}

Result<HttpAttrs> ParseAttrs(const pb::SourceOp& op, const std::string& url) {
  HttpAttrs attrs;
  for (const auto& [key, value] : op.attrs()) {
    if (key == "http.checksum") {
      Result<Digest> d = Digest::Parse(value);
      if (!d.ok())
        return d.status().WithContext("http source " + url + ": http.checksum");
      attrs.checksum = *d;
    } else if (key == "http.filename") {
      attrs.filename = value;
    } else if (key == "http.perm") {
      KILN_ASSIGN_OR_RETURN(attrs.perm, ParseIntAttr(url, key, value));
      attrs.perm &= 07777;
    } else if (key == "http.uid") {
      KILN_ASSIGN_OR_RETURN(attrs.uid, ParseIntAttr(url, key, value));
    } else if (key == "http.gid") {
      KILN_ASSIGN_OR_RETURN(attrs.gid, ParseIntAttr(url, key, value));
    } else if (key == "http.authheadersecret") {
      attrs.auth_header_secret = value;
    } else if (key.rfind("http.header.", 0) == 0) {
      std::string name = key.substr(12);
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      if (name == "accept" || name == "user-agent") attrs.headers[name] = value;
    }
  }
  if (attrs.checksum && attrs.checksum->algorithm() != "sha256") {
    return InvalidArgumentError("http source " + url +
                                ": http.checksum must be a sha256 digest");
  }
  return attrs;
}

// The Authorization value, "" for none (BuildKit's newHTTPRequest).
Result<std::string> Authorization(const HttpAttrs& attrs,
                                  const std::string& url,
                                  SecretProvider* secrets) {
  if (!attrs.auth_header_secret.empty()) {
    if (secrets == nullptr) {
      return NotFoundError("http source " + internal::RedactUrl(url) +
                           ": no secret " + attrs.auth_header_secret +
                           " for http.authheadersecret");
    }
    Result<std::string> v = secrets->GetSecret(attrs.auth_header_secret);
    if (!v.ok())
      return v.status().WithContext("http source " + internal::RedactUrl(url));
    return v;
  }
  if (secrets == nullptr) return std::string();
  KILN_ASSIGN_OR_RETURN(internal::UrlOrigin origin,
                        internal::ParseUrlOrigin(url));
  for (bool token : {false, true}) {
    Result<std::string> v = secrets->GetSecret(
        (token ? "HTTP_AUTH_TOKEN_" : "HTTP_AUTH_HEADER_") + origin.host);
    if (v.ok()) return token ? "Bearer " + *v : *v;
  }
  return std::string();
}

Status StatusError(const std::string& url, int status) {
  std::string message = "fetching " + internal::RedactUrl(url) + ": " +
                        internal::HttpStatusText(status);
  if (status == 404 || status == 410) return NotFoundError(message);
  if (status == 401 || status == 403) return PermissionDeniedError(message);
  return UnavailableError(message);
}

// Copies the cached blob to dest_dir/name with the mode, owner and mtime.
Status Install(const std::string& blob, const std::string& dest_dir,
               const std::string& name, const HttpAttrs& attrs,
               std::optional<time_t> mtime) {
  UniqueFd in(open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid())
    return internal::ErrnoError("opening cached download", blob, errno);
  std::string tmp = dest_dir + "/." + name + ".kiln-" + internal::RandomNonce();
  UniqueFd out(open(
      tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out.valid()) return internal::ErrnoStatus("creating " + tmp, errno);
  auto fail = [&](Status s) {
    unlink(tmp.c_str());
    return s;
  };
  std::array<char, 1 << 16> buf;
  for (;;) {
    ssize_t n = read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(internal::ErrnoError("reading", blob, errno));
    if (n == 0) break;
    Status w =
        internal::WriteFull(out.get(), std::string_view(buf.data(), n), tmp);
    if (!w.ok()) return fail(w);
  }
  if ((attrs.uid != 0 || attrs.gid != 0) &&
      fchown(out.get(), attrs.uid, attrs.gid) != 0) {
    return fail(internal::ErrnoStatus("chown " + dest_dir + "/" + name +
                                          " to " + std::to_string(attrs.uid) +
                                          ":" + std::to_string(attrs.gid),
                                      errno));
  }
  if (fchmod(out.get(), static_cast<mode_t>(attrs.perm)) != 0) {
    return fail(internal::ErrnoStatus("chmod " + tmp, errno));
  }
  struct timespec times[2] = {{mtime.value_or(0), 0}, {mtime.value_or(0), 0}};
  if (futimens(out.get(), times) != 0) {
    return fail(internal::ErrnoStatus("setting the mtime of " + tmp, errno));
  }
  if (rename(tmp.c_str(), (dest_dir + "/" + name).c_str()) != 0) {
    return fail(internal::ErrnoStatus("renaming " + tmp, errno));
  }
  return Status::Ok();
}

std::string RecordKey(const std::string& url, const HttpAttrs& attrs) {
  std::string key = url + '\0' + attrs.auth_header_secret;
  for (const auto& [name, value] : attrs.headers)
    key += '\0' + name + ':' + value;
  return std::string(Digest::FromBytes(key).hex());
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

internal::HttpClient& Client() {
  static internal::HttpClient* client = new internal::HttpClient();
  return *client;
}

// A 2xx body written to a temporary file in the cache while hashed.
struct Download {
  std::string tmp;
  UniqueFd fd;
  internal::Sha256Hasher hasher;
};

}  // namespace

Result<HttpFetch> FetchHttp(const pb::SourceOp& op, const std::string& dest_dir,
                            const HttpSourceOptions& options,
                            std::stop_token stop) {
  const std::string& url = op.identifier();
  const std::string shown = internal::RedactUrl(url);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return InvalidArgumentError("http source \"" + url +
                                "\": not an http(s) URL");
  }
  KILN_ASSIGN_OR_RETURN(HttpAttrs attrs, ParseAttrs(op, url));
  if (options.cache_dir.empty()) {
    return InvalidArgumentError("http source: no cache directory configured");
  }
  const std::string root = options.cache_dir + "/http";
  KILN_RETURN_IF_ERROR(
      internal::MakeDirs(root + "/blobs", "http cache " + root));
  KILN_RETURN_IF_ERROR(
      internal::MakeDirs(root + "/urls", "http cache " + root));
  const std::string record_path =
      root + "/urls/" + RecordKey(url, attrs) + ".json";
  auto blob_path = [&](const Digest& d) {
    return root + "/blobs/" + std::string(d.hex());
  };
  std::optional<HttpCacheRecord> record =
      internal::LoadHttpCacheRecord(record_path);
  if (record && !Exists(blob_path(record->content))) record.reset();

  auto finish = [&](const HttpCacheRecord& r) -> Result<HttpFetch> {
    if (attrs.checksum && *attrs.checksum != r.content) {
      return DataLossError("digest mismatch for " + shown + ": got " +
                           r.content.str() + ", expected " +
                           attrs.checksum->str());
    }
    std::string name = internal::SafeFileName(
        !attrs.filename.empty()           ? attrs.filename
        : !r.disposition_filename.empty() ? r.disposition_filename
                                          : internal::UrlBaseName(url));
    KILN_RETURN_IF_ERROR(Install(blob_path(r.content), dest_dir, name, attrs,
                                 internal::ParseHttpDate(r.last_modified)));
    return HttpFetch{r.content, name};
  };

  if (attrs.checksum && Exists(blob_path(*attrs.checksum))) {
    HttpCacheRecord known;
    if (record && record->content == *attrs.checksum) known = *record;
    known.content = *attrs.checksum;
    return finish(known);
  }

  internal::HttpRequest request;
  request.url = url;
  request.verify_tls = options.verify_tls;
  request.headers.push_back("User-Agent: " + (attrs.headers.count("user-agent")
                                                  ? attrs.headers["user-agent"]
                                                  : std::string("kiln")));
  if (attrs.headers.count("accept"))
    request.headers.push_back("Accept: " + attrs.headers["accept"]);
  KILN_ASSIGN_OR_RETURN(std::string auth,
                        Authorization(attrs, url, options.secrets));
  if (!auth.empty()) request.headers.push_back("Authorization: " + auth);
  if (record && !record->etag.empty()) {
    request.headers.push_back("If-None-Match: " + record->etag);
  }
  if (record && !record->last_modified.empty()) {
    request.headers.push_back("If-Modified-Since: " + record->last_modified);
  }

  Download download;
  download.tmp = root + "/blobs/.tmp-" + internal::RandomNonce();
  download.fd = UniqueFd(open(download.tmp.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!download.fd.valid()) {
    return internal::ErrnoError("creating download file", download.tmp, errno);
  }
  request.sink = [&](std::string_view chunk) -> Status {
    if (stop.stop_requested())
      return CancelledError("fetching " + shown + ": cancelled");
    download.hasher.Update(chunk);
    return internal::WriteFull(download.fd.get(), chunk, download.tmp);
  };
  Result<internal::HttpResponse> response = Client().Do(request);
  download.fd = UniqueFd();
  if (!response.ok() || response->status < 200 || response->status >= 300) {
    unlink(download.tmp.c_str());
  }
  if (!response.ok()) return response.status().WithContext("http source");
  if (response->status == 304 && record) return finish(*record);
  if (response->status < 200 || response->status >= 300) {
    return StatusError(url, response->status);
  }
  HttpCacheRecord fresh;
  fresh.etag = response->Header("etag");
  fresh.last_modified = response->Header("last-modified");
  fresh.disposition_filename =
      internal::DispositionFilename(response->Header("content-disposition"));
  fresh.content = download.hasher.Finish();
  if (rename(download.tmp.c_str(), blob_path(fresh.content).c_str()) != 0) {
    int err = errno;
    unlink(download.tmp.c_str());
    return internal::ErrnoError("storing download", blob_path(fresh.content),
                                err);
  }
  KILN_RETURN_IF_ERROR(internal::SaveHttpCacheRecord(record_path, fresh));
  return finish(fresh);
}

}  // namespace kiln::solver
