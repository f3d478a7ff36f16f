// Source ops: where content enters a graph. Identifiers, attrs and caps are
// exactly those of BuildKit's Go client (client/llb/source.go), see
// reference/llb.md §7.
#ifndef KILN_LLB_SOURCE_H_
#define KILN_LLB_SOURCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/state.h"

namespace kiln::llb {

enum class ResolveMode { kDefault, kForcePull, kPreferLocal };

struct ImageOptions {
  // image.resolvemode: "default" is not written; "pull" / "local" are.
  ResolveMode resolve_mode = ResolveMode::kDefault;
  // image.recordtype ("regular", "internal", "frontend"); empty = unset.
  std::string record_type;
  // image.layerlimit: use only the first N layers (0 = all).
  int layer_limit = 0;
  // image.checksum: digest the resolved manifest must match.
  std::string checksum;
  // Platform, worker filters, name, … of the op. A platform set here also
  // becomes the returned state's platform.
  OpOptions op;
};

// A registry image, e.g. Image("alpine:3.20") → docker-image://docker.io/
// library/alpine:3.20. An invalid reference is reported by Marshal().
State Image(std::string_view ref, ImageOptions options = {});

struct OciLayoutOptions {
  std::string session_id;  // oci.session
  std::string store_id;    // oci.store
  int layer_limit = 0;     // oci.layerlimit
  OpOptions op;
};

// An image from a client-side OCI layout store: ref is "name@sha256:…" (the
// digest is required; the engine resolves nothing else).
State OciLayout(std::string_view ref, OciLayoutOptions options = {});

enum class LocalDiffer { kUnset, kMetadata, kNone };

struct LocalOptions {
  // local.session: the client session owning the directory. Without it the
  // op gets local.unique (this option, else MarshalOptions.local_unique_id;
  // omitted when both are empty).
  std::string session_id;
  std::string unique_id;
  std::vector<std::string> include_patterns;  // local.includepattern (JSON)
  std::vector<std::string> exclude_patterns;  // local.excludepatterns (JSON)
  std::vector<std::string> follow_paths;      // local.followpaths (JSON)
  std::string shared_key_hint;                // local.sharedkeyhint
  LocalDiffer differ = LocalDiffer::kUnset;   // local.differ
  bool differ_required = false;  // engine must support the differ (cap)
  bool metadata_transfer = false;             // local.metadatatransfer
  OpOptions op;
};

// A directory streamed from the client, named as the client session names it
// (e.g. "context", "dockerfile").
State Local(std::string_view name, LocalOptions options = {});

struct GitOptions {
  bool keep_git_dir = false;  // git.keepgitdir
  std::string subdir;         // the id fragment becomes "#ref:subdir"
  // Secrets for HTTP auth; defaults as in the Go client. The httpauth cap is
  // required only when the caller sets them explicitly.
  std::optional<std::string> auth_token_secret;   // default "GIT_AUTH_TOKEN"
  std::optional<std::string> auth_header_secret;  // default "GIT_AUTH_HEADER"
  // For ssh remotes: known_hosts content (kiln never runs ssh-keyscan; give
  // it here or the engine uses its own) and the ssh agent id ("default").
  std::string known_ssh_hosts;
  std::string mount_ssh_sock;
  std::string checksum;         // git.checksum: expected commit
  bool skip_submodules = false; // git.skipsubmodules
  std::string mtime;            // git.mtime: "checkout" (default) or "commit"
  OpOptions op;
};

// A git repository at `ref` (branch, tag or commit; empty = default branch;
// "ref:subdir" is accepted as in Docker's URL fragments). `url` may be
// https://, http://, ssh://, git://, scp-style (git@host:path) or a bare
// host/path (https assumed); a "#fragment" in the URL is dropped, as in the Go
// client. The id is host/path[#ref[:subdir]], the same for https and ssh
// remotes of one repository; the full URL goes to git.fullurl.
State Git(std::string_view url, std::string_view ref = {}, GitOptions options = {});

struct HttpOptions {
  std::string checksum;  // http.checksum: "sha256:…"
  std::string filename;  // http.filename
  uint32_t perm = 0;     // http.perm, e.g. 0644 (masked to 0777; 0 = unset)
  uint32_t uid = 0;      // http.uid (0 = unset)
  uint32_t gid = 0;      // http.gid (0 = unset)
  std::string auth_header_secret;  // http.authheadersecret
  // Request headers (http.header.accept / http.header.user-agent), the only
  // two the engine honours.
  std::string accept;
  std::string user_agent;
  OpOptions op;
};

// A file downloaded over http(s); the identifier is the URL itself.
State Http(std::string_view url, HttpOptions options = {});

}  // namespace kiln::llb

#endif  // KILN_LLB_SOURCE_H_
