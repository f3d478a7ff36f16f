// Pieces of the HTTP source (http_source.h): the per-URL cache record, file
// names from URLs and Content-Disposition, and HTTP dates. Private to
// solver-core.
//
// Thread safety: pure functions, and record files replaced atomically.
#ifndef KILN_SOLVER_SRC_HTTP_SOURCE_CACHE_H_
#define KILN_SOLVER_SRC_HTTP_SOURCE_CACHE_H_

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"

namespace kiln::solver::internal {

// What the last full response for a URL (and request headers) said.
struct HttpCacheRecord {
  std::string etag;                  // as sent by the server
  std::string last_modified;         // HTTP date, as sent
  std::string disposition_filename;  // Content-Disposition filename
  Digest content;                    // the body's digest
};

// The record at `path`; nullopt when it is missing or unreadable (a
// damaged record only costs a full download).
std::optional<HttpCacheRecord> LoadHttpCacheRecord(const std::string& path);
Status SaveHttpCacheRecord(const std::string& path,
                           const HttpCacheRecord& record);

// BuildKit's pathutil.SafeFileName: the base name of `name` trimmed of
// outer whitespace; "download" when that is empty, ".", ".." or holds a
// control character.
std::string SafeFileName(std::string_view name);

// The filename parameter of a Content-Disposition value ("" when none or
// it names a directory).
std::string DispositionFilename(std::string_view value);

// The last segment of the URL's path ("" for none).
std::string UrlBaseName(std::string_view url);

// An HTTP date (IMF-fixdate, as Last-Modified uses) as Unix seconds.
std::optional<time_t> ParseHttpDate(std::string_view value);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_HTTP_SOURCE_CACHE_H_
