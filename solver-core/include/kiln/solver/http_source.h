// HTTP sources (llb "http://" and "https://" with http.checksum,
// http.filename, http.perm, http.uid, http.gid): downloading one file into a
// snapshot directory, as BuildKit's source/http does.
//
// The file: named http.filename, else the Content-Disposition filename,
// else the last segment of the URL path, else "download" (always reduced to
// a safe base name); mode http.perm (an octal string such as "0644", base
// auto-detected; default 0600); owner http.uid/http.gid (chown only when
// either is non-zero, which needs privileges); mtime the response's
// Last-Modified, else the Unix epoch.
//
// Cache (under HttpSourceOptions::cache_dir/http): contents by digest
// ("blobs/<hex>") and, per URL and request headers, the last response's
// ETag, Last-Modified, Content-Disposition filename and content digest.
// A later fetch of the URL revalidates with If-None-Match (and
// If-Modified-Since); a 304 reuses the cached content, so an unchanged
// resource transfers no body. With http.checksum whose content is cached,
// no request is made at all.
//
// Auth, as BuildKit: http.authheadersecret names a secret holding the whole
// Authorization value (required when named); without it the secrets
// HTTP_AUTH_HEADER_<host> and HTTP_AUTH_TOKEN_<host> (sent as "Bearer …")
// are used when they exist. Extra headers: http.header.accept and
// http.header.user-agent only. Signature attrs (http.sig.*) are not
// supported and ignored.
//
// Thread safety: FetchHttp may be called concurrently, also for one URL;
// cache files are replaced atomically.
#ifndef KILN_SOLVER_HTTP_SOURCE_H_
#define KILN_SOLVER_HTTP_SOURCE_H_

#include <stop_token>
#include <string>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/secrets.h"
#include "solver/pb/ops.pb.h"

namespace kiln::solver {

struct HttpSourceOptions {
  // Downloads are cached here. Created when missing.
  std::string cache_dir;
  // Secrets for auth headers; null: no auth.
  SecretProvider* secrets = nullptr;
  // TLS: verify server certificates (off only for tests).
  bool verify_tls = true;
};

struct HttpFetch {
  Digest content;        // sha256 of the file's bytes
  std::string filename;  // base name written in dest_dir
};

// Downloads the op's URL into dest_dir/<filename> (dest_dir must exist; an
// existing file of that name is replaced). Errors: InvalidArgument for a
// non-http(s) identifier or bad attrs (naming the attr); NotFound for 404/
// 410, PermissionDenied for 401/403, Unavailable for other failing statuses
// and transport errors, each naming the URL; DataLoss "digest mismatch"
// naming the URL, expected and actual digest when http.checksum does not
// match (nothing is written then); NotFound for a named auth secret that is
// missing; PermissionDenied when chown is not allowed; Cancelled.
Result<HttpFetch> FetchHttp(const pb::SourceOp& op, const std::string& dest_dir,
                            const HttpSourceOptions& options,
                            std::stop_token stop);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_HTTP_SOURCE_H_
