#include "kiln/llb/source.h"

#include <regex>

#include "kiln/llb/dump.h"
#include "kiln/llb/reference.h"
#include "vertex.h"

namespace kiln::llb {
namespace {

using internal::StateMeta;
using internal::Vertex;

class SourceVertex final : public Vertex {
 public:
  SourceVertex(std::string identifier, std::map<std::string, std::string> attrs,
               std::set<std::string_view> caps, bool writes_platform,
               OpOptions options, std::optional<Platform> platform)
      : Vertex(std::move(options), std::move(platform)),
        identifier_(std::move(identifier)),
        attrs_(std::move(attrs)),
        caps_(std::move(caps)),
        writes_platform_(writes_platform) {}

  std::vector<const Vertex*> Dependencies() const override { return {}; }

  Status Build(const internal::MarshalContext& ctx, pb::Op* op,
               std::set<std::string_view>* caps) const override {
    auto* source = op->mutable_source();
    source->set_identifier(identifier_);
    for (const auto& [k, v] : attrs_) (*source->mutable_attrs())[k] = v;
    caps->insert(caps_.begin(), caps_.end());
    if (identifier_.starts_with("local://") &&
        !attrs_.contains("local.session")) {
      std::string unique =
          attrs_.contains("local.unique") ? "" : ctx.options().local_unique_id;
      if (!unique.empty()) {
        (*source->mutable_attrs())["local.unique"] = unique;
        caps->insert(caps::kSourceLocalUnique);
      }
    }
    return Status::Ok();
  }
  bool WritesPlatform() const override { return writes_platform_; }
  std::string Describe() const override { return "source " + identifier_; }

 private:
  std::string identifier_;
  std::map<std::string, std::string> attrs_;
  std::set<std::string_view> caps_;
  bool writes_platform_;
};

State MakeSource(std::string identifier,
                 std::map<std::string, std::string> attrs,
                 std::set<std::string_view> caps, bool writes_platform,
                 OpOptions options, Status error = Status::Ok()) {
  std::shared_ptr<const StateMeta> meta = internal::DefaultMeta();
  if (writes_platform && options.platform) {
    auto m = std::make_shared<StateMeta>();
    m->platform = options.platform;
    meta = std::move(m);
  }
  auto v = std::make_shared<SourceVertex>(
      std::move(identifier), std::move(attrs), std::move(caps), writes_platform,
      std::move(options), std::nullopt);
  if (!error.ok()) v->set_error(std::move(error));
  return StateAccess::Make(std::move(v), 0, std::move(meta));
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += GoJsonString(items[i]);
  }
  return out + "]";
}

}  // namespace

State Image(std::string_view ref, ImageOptions options) {
  std::map<std::string, std::string> attrs;
  std::set<std::string_view> caps{caps::kSourceImage};
  auto parsed = ParseImageReference(ref);
  std::string identifier = "docker-image://";
  Status error;
  if (parsed.ok()) {
    identifier += TagNameOnly(*parsed).String();
  } else {
    identifier += ref;
    error = parsed.status();
  }
  switch (options.resolve_mode) {
    case ResolveMode::kDefault:
      break;
    case ResolveMode::kForcePull:
      attrs["image.resolvemode"] = "pull";
      break;
    case ResolveMode::kPreferLocal:
      attrs["image.resolvemode"] = "local";
      break;
  }
  // Only the security-relevant mode requires the cap (as in the Go client).
  if (options.resolve_mode == ResolveMode::kForcePull) {
    caps.insert(caps::kSourceImageResolveMode);
  }
  if (!options.record_type.empty())
    attrs["image.recordtype"] = options.record_type;
  if (options.layer_limit > 0) {
    attrs["image.layerlimit"] = std::to_string(options.layer_limit);
    caps.insert(caps::kSourceImageLayerLimit);
  } else if (options.layer_limit < 0) {
    error = InvalidArgumentError("image layer limit must be positive, got " +
                                 std::to_string(options.layer_limit));
  }
  if (!options.checksum.empty()) {
    auto d = Digest::Parse(options.checksum);
    if (!d.ok()) error = d.status().WithContext("image checksum");
    attrs["image.checksum"] = options.checksum;
    caps.insert(caps::kSourceImageChecksum);
  }
  return MakeSource(std::move(identifier), std::move(attrs), std::move(caps),
                    true, std::move(options.op), std::move(error));
}

State OciLayout(std::string_view ref, OciLayoutOptions options) {
  std::map<std::string, std::string> attrs;
  std::set<std::string_view> caps{caps::kSourceOciLayout};
  Status error;
  // The identifier is the reference as given (the Go client does not
  // normalize it); it must name a digest, the only thing the engine resolves.
  auto parsed = ParseImageReference(ref);
  if (!parsed.ok()) {
    error = parsed.status();
  } else if (parsed->digest.empty()) {
    error = InvalidArgumentError("oci layout reference \"" + std::string(ref) +
                                 "\" has no digest; use name@sha256:…");
  }
  std::string identifier = "oci-layout://" + std::string(ref);
  if (!options.session_id.empty()) attrs["oci.session"] = options.session_id;
  if (!options.store_id.empty()) attrs["oci.store"] = options.store_id;
  if (options.layer_limit > 0)
    attrs["oci.layerlimit"] = std::to_string(options.layer_limit);
  return MakeSource(std::move(identifier), std::move(attrs), std::move(caps),
                    true, std::move(options.op), std::move(error));
}

State Local(std::string_view name, LocalOptions options) {
  std::map<std::string, std::string> attrs;
  std::set<std::string_view> caps{caps::kSourceLocal};
  Status error;
  if (name.empty()) error = InvalidArgumentError("local source needs a name");
  if (!options.session_id.empty()) {
    attrs["local.session"] = options.session_id;
    caps.insert(caps::kSourceLocalSessionId);
  } else if (!options.unique_id.empty()) {
    attrs["local.unique"] = options.unique_id;
    caps.insert(caps::kSourceLocalUnique);
  }
  if (!options.include_patterns.empty()) {
    attrs["local.includepattern"] = JsonArray(options.include_patterns);
    caps.insert(caps::kSourceLocalIncludePatterns);
  }
  if (!options.follow_paths.empty()) {
    attrs["local.followpaths"] = JsonArray(options.follow_paths);
    caps.insert(caps::kSourceLocalFollowPaths);
  }
  if (!options.exclude_patterns.empty()) {
    attrs["local.excludepatterns"] = JsonArray(options.exclude_patterns);
    caps.insert(caps::kSourceLocalExcludePatterns);
  }
  if (!options.shared_key_hint.empty()) {
    attrs["local.sharedkeyhint"] = options.shared_key_hint;
    caps.insert(caps::kSourceLocalSharedKeyHint);
  }
  if (options.differ != LocalDiffer::kUnset) {
    attrs["local.differ"] =
        options.differ == LocalDiffer::kNone ? "none" : "metadata";
    if (options.differ_required) caps.insert(caps::kSourceLocalDiffer);
  }
  if (options.metadata_transfer) {
    attrs["local.metadatatransfer"] = "true";
    caps.insert(caps::kSourceLocalMetadataTransfer);
  }
  return MakeSource("local://" + std::string(name), std::move(attrs),
                    std::move(caps), false, std::move(options.op),
                    std::move(error));
}

namespace {

struct GitRemote {
  bool ssh = false;
  std::string host;
  std::string path;
  std::string fragment;
  std::string remote;  // the URL without fragment
};

// gitutil.ParseURL: scheme URLs (http, https, ssh, git) and scp-style
// user@host:path. Returns nullopt for an unknown form; sets *bad_scheme for
// an unsupported scheme.
std::optional<GitRemote> ParseGitUrl(std::string_view url,
                                     std::string* bad_scheme) {
  static const std::regex kScheme("^([a-zA-Z0-9]+)://");
  static const std::regex kScp("^(?:([^@/]+)@)?([^:/]+):(.*)$");
  std::string u(url);
  std::string fragment;
  if (auto hash = u.find('#'); hash != std::string::npos) {
    fragment = u.substr(hash + 1);
    u.resize(hash);
  }
  std::smatch m;
  if (std::regex_search(u, m, kScheme)) {
    std::string scheme = m[1].str();
    for (char& c : scheme)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http" && scheme != "https" && scheme != "ssh" &&
        scheme != "git") {
      *bad_scheme = scheme;
      return std::nullopt;
    }
    std::string rest = u.substr(m[0].length());
    size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    std::string path = slash == std::string::npos ? "" : rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string::npos)
      authority = authority.substr(at + 1);
    return GitRemote{scheme == "ssh", authority, path, fragment, u};
  }
  if (std::regex_match(u, m, kScp)) {
    return GitRemote{true, m[2].str(), m[3].str(), fragment, u};
  }
  return std::nullopt;
}

}  // namespace

State Git(std::string_view url, std::string_view ref, GitOptions options) {
  std::map<std::string, std::string> attrs;
  std::set<std::string_view> caps;
  Status error;
  std::string bad_scheme;
  std::string full(url);
  std::optional<GitRemote> remote = ParseGitUrl(full, &bad_scheme);
  if (!remote && bad_scheme.empty()) {
    full = "https://" + full;
    remote = ParseGitUrl(full, &bad_scheme);
  }
  // `ref` may carry "ref:subdir" (the old Docker git URL fragment form);
  // options.subdir overrides the subdir part.
  std::string_view ref_part = ref;
  std::string subdir;
  if (auto colon = ref.find(':'); colon != std::string_view::npos) {
    ref_part = ref.substr(0, colon);
    subdir = std::string(ref.substr(colon + 1));
  }
  if (!options.subdir.empty()) subdir = options.subdir;
  subdir = internal::JoinPath("/", subdir).substr(1);  // cleaned, relative
  std::string id;
  if (!remote) {
    id = full;
    error = InvalidArgumentError("git url \"" + std::string(url) + "\": " +
                                 (bad_scheme.empty()
                                      ? std::string("cannot parse")
                                      : "unsupported protocol " + bad_scheme));
  } else {
    full = remote->remote;
    id = remote->host + internal::JoinPath("/", remote->path);
    if (!ref_part.empty() || !subdir.empty()) {
      id += "#" + std::string(ref_part);
      if (!subdir.empty()) id += ":" + subdir;
    }
  }
  if (options.keep_git_dir) {
    attrs["git.keepgitdir"] = "true";
    caps.insert(caps::kSourceGitKeepDir);
  }
  if (!full.empty()) {
    attrs["git.fullurl"] = full;
    caps.insert(caps::kSourceGitFullUrl);
  }
  const std::string token =
      options.auth_token_secret.value_or("GIT_AUTH_TOKEN");
  const std::string header =
      options.auth_header_secret.value_or("GIT_AUTH_HEADER");
  if (!token.empty()) {
    attrs["git.authtokensecret"] = token;
    if (options.auth_token_secret) caps.insert(caps::kSourceGitHttpAuth);
  }
  if (!header.empty()) {
    attrs["git.authheadersecret"] = header;
    if (options.auth_header_secret) caps.insert(caps::kSourceGitHttpAuth);
  }
  if (remote && remote->ssh) {
    if (!options.known_ssh_hosts.empty())
      attrs["git.knownsshhosts"] = options.known_ssh_hosts;
    caps.insert(caps::kSourceGitKnownSshHosts);
    attrs["git.mountsshsock"] =
        options.mount_ssh_sock.empty() ? "default" : options.mount_ssh_sock;
    caps.insert(caps::kSourceGitMountSshSock);
  }
  if (!options.checksum.empty()) {
    attrs["git.checksum"] = options.checksum;
    caps.insert(caps::kSourceGitChecksum);
  }
  if (options.skip_submodules) {
    attrs["git.skipsubmodules"] = "true";
    caps.insert(caps::kSourceGitSkipSubmodules);
  }
  if (!options.mtime.empty()) {
    if (options.mtime != "checkout" && options.mtime != "commit") {
      error = InvalidArgumentError(
          "git mtime must be \"checkout\" or \"commit\", got \"" +
          options.mtime + "\"");
    }
    attrs["git.mtime"] = options.mtime;
    caps.insert(caps::kSourceGitMTime);
  }
  caps.insert(caps::kSourceGit);
  return MakeSource("git://" + id, std::move(attrs), std::move(caps), false,
                    std::move(options.op), std::move(error));
}

State Http(std::string_view url, HttpOptions options) {
  std::map<std::string, std::string> attrs;
  std::set<std::string_view> caps{caps::kSourceHttp};
  Status error;
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    error = InvalidArgumentError("http source \"" + std::string(url) +
                                 "\" is not an http:// or https:// URL");
  }
  if (!options.checksum.empty()) {
    auto d = Digest::Parse(options.checksum);
    if (!d.ok()) error = d.status().WithContext("http checksum");
    attrs["http.checksum"] = options.checksum;
    caps.insert(caps::kSourceHttpChecksum);
  }
  if (!options.filename.empty()) attrs["http.filename"] = options.filename;
  if ((options.perm & 0777) != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%o", options.perm & 0777);
    attrs["http.perm"] = buf;
    caps.insert(caps::kSourceHttpPerm);
  }
  if (options.uid != 0) {
    attrs["http.uid"] = std::to_string(options.uid);
    caps.insert(caps::kSourceHttpUidGid);
  }
  if (options.gid != 0) {
    attrs["http.gid"] = std::to_string(options.gid);
    caps.insert(caps::kSourceHttpUidGid);
  }
  if (!options.auth_header_secret.empty()) {
    attrs["http.authheadersecret"] = options.auth_header_secret;
    caps.insert(caps::kSourceHttpAuth);
  }
  if (!options.accept.empty()) attrs["http.header.accept"] = options.accept;
  if (!options.user_agent.empty())
    attrs["http.header.user-agent"] = options.user_agent;
  if (!options.accept.empty() || !options.user_agent.empty()) {
    caps.insert(caps::kSourceHttpHeader);
  }
  return MakeSource(std::string(url), std::move(attrs), std::move(caps), false,
                    std::move(options.op), std::move(error));
}

}  // namespace kiln::llb
