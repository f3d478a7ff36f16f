// Remote build contexts (upstream dockerui's DetectGitContext and
// DetectHTTPContext) and opt contextsubdir; see frontend_load.h.
#include <optional>
#include <string>
#include <string_view>

#include "convert_internal.h"
#include "frontend_load.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln::dockerfile::internal {
namespace {

constexpr char kHttpFilename[] = "context";

// Upstream's IsArchive: gzip, bzip2, xz, zstd or a tar header.
bool IsArchive(const std::string& head) {
  static const std::string kMagics[] = {
      std::string("\x1f\x8b", 2), std::string("BZh", 3),
      std::string("\xfd\x37\x7a\x58\x5a\x00", 6),
      std::string("\x28\xb5\x2f\xfd", 4)};
  for (const std::string& magic : kMagics) {
    if (head.size() >= magic.size() &&
        head.compare(0, magic.size(), magic) == 0) {
      return true;
    }
  }
  return head.size() >= 262 && head.compare(257, 5, "ustar") == 0;
}

// Go's strconv.ParseBool; nullopt for anything else.
std::optional<bool> ParseBool(const std::string& v) {
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" ||
      v == "True") {
    return true;
  }
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" ||
      v == "False") {
    return false;
  }
  return std::nullopt;
}

}  // namespace

Result<std::optional<RemoteContext>> DetectRemoteContext(
    sdk::Client& client, const sdk::FrontendOptions& opts) {
  auto it = opts.opts.find(opts.context_key);
  if (it == opts.opts.end()) return std::optional<RemoteContext>();
  const std::string& url = it->second;
  RemoteContext out;
  if (convert::IsGitUrl(url)) {
    Result<convert::GitRef> git = convert::ParseGitRef(url);
    if (!git.ok()) {
      return git.status().WithContext("remote build context " + url);
    }
    bool keep = false;
    if (auto arg = opts.build_args.find("BUILDKIT_CONTEXT_KEEP_GIT_DIR");
        arg != opts.build_args.end()) {
      keep = ParseBool(arg->second).value_or(false);
    }
    llb::GitOptions go;
    go.keep_git_dir = git->keep_git_dir.value_or(keep);
    go.checksum = git->checksum;
    go.skip_submodules = git->skip_submodules;
    go.mtime = git->mtime;
    go.op.custom_name = "[internal] load git source " + url;
    out.context = llb::Git(git->remote, git->ref, go);
    out.dockerfile = out.context;
    return std::optional<RemoteContext>(std::move(out));
  }
  if (!convert::IsHttpUrl(url)) return std::optional<RemoteContext>();
  llb::HttpOptions ho;
  ho.filename = kHttpFilename;
  ho.op.custom_name = "[internal] load remote build context";
  llb::State st = llb::Http(url, ho);
  KILN_ASSIGN_OR_RETURN(pb::Definition def, st.Marshal());
  KILN_ASSIGN_OR_RETURN(sdk::Ref ref, client.Solve(def, /*evaluate=*/true));
  Result<std::string> head =
      client.ReadFile(ref, kHttpFilename, sdk::FileRange{.length = 1024});
  if (!head.ok()) return head.status();
  if (IsArchive(*head)) {
    llb::CopyOptions co;
    co.attempt_unpack = true;
    out.context = llb::Scratch().File(
        llb::Copy(st, std::string("/") + kHttpFilename, "/", co));
  } else {
    // The download itself is the Dockerfile.
    out.context = st;
    out.filename = kHttpFilename;
  }
  out.dockerfile = out.context;
  return std::optional<RemoteContext>(std::move(out));
}

llb::State ScopeToSubdir(const llb::State& context, const std::string& dir) {
  llb::CopyOptions co;
  co.copy_dir_contents_only = true;
  return llb::Scratch().File(llb::Copy(context, dir, "/", co));
}

}  // namespace kiln::dockerfile::internal
