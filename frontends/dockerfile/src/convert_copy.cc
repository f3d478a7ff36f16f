// COPY, ADD and WORKDIR: file ops as upstream's dispatchCopy and
// dispatchWorkdir (v0.11): sources from the build context or `--from`,
// dest relative to WORKDIR with a significant trailing slash, --link as a
// copy onto scratch merged onto the stage.
#include <string>
#include <vector>

#include "convert_internal.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"

namespace kiln::dockerfile::convert {
namespace {

// The file name of an http source: the URL path's base, else __unnamed__.
std::string HttpFilename(const std::string& url) {
  size_t scheme = url.find("://");
  size_t path_start =
      url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path_start == std::string::npos) return "__unnamed__";
  std::string path = url.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  std::string clean = PathClean(path);
  std::string base = clean.substr(clean.rfind('/') + 1);
  if (base.empty() || base == ".") return "__unnamed__";
  return base;
}

}  // namespace

Status Converter::DispatchCopy(
    StageState& s, const CommandBase& base, const SourcesAndDest& files,
    const std::string& from, const std::string& chown, const std::string& chmod,
    bool link, const std::vector<std::string>& excludes, bool is_add,
    bool unpack, const std::string& checksum, bool keep_git_dir, bool parents) {
  auto expand = [&](const std::string& w) -> Result<std::string> {
    auto r = Expand(s, w);
    if (!r.ok()) return r.status().WithRange(base.range);
    return r;
  };
  llb::State source = context;
  bool from_context = from.empty();
  if (!from_context) {
    if (IsLaterStage(from, s.index)) {
      return Invalid(base,
                     "stage " + from + " is defined after the current stage");
    }
    int st = FindStage(from, s.index);
    if (st >= 0) {
      if (!stages[st].dispatched) {
        return Invalid(base, "stage " + from +
                                 " must be defined before it is copied from");
      }
      source = stages[st].state;
    } else {
      auto img = ImageState(from, s.platform, "");
      if (!img.ok()) return img.status().WithRange(base.range);
      source = img->first;
    }
  }

  KILN_ASSIGN_OR_RETURN(std::string dest_word, expand(files.dest));
  const std::string& dir = s.state.GetDir();
  std::string dest;
  if (!dest_word.empty() && dest_word[0] == '/') {
    dest = dest_word;
  } else {
    dest = PathJoin(dir.empty() ? "/" : dir, dest_word);
    if (dest_word.empty() || dest_word == "." || dest_word.back() == '/') {
      if (dest.back() != '/') dest += "/";
    }
  }

  llb::CopyOptions co;
  co.follow_symlinks = true;
  co.copy_dir_contents_only = true;
  co.attempt_unpack = is_add && unpack;
  co.create_dest_path = true;
  co.allow_wildcard = true;
  co.allow_empty_wildcard = true;
  co.exclude_patterns = excludes;
  if (!chown.empty()) {
    KILN_ASSIGN_OR_RETURN(std::string spec, expand(chown));
    auto owner = llb::ChownOpt::Parse(spec);
    if (!owner.ok()) return Invalid(base, owner.status().message());
    co.owner = *owner;
  }
  if (!chmod.empty()) {
    KILN_ASSIGN_OR_RETURN(std::string mode, expand(chmod));
    bool octal = !mode.empty() && mode.size() <= 5 &&
                 mode.find_first_not_of("01234567") == std::string::npos;
    if (octal) {
      int32_t m = static_cast<int32_t>(std::stoul(mode, nullptr, 8));
      if (m > 07777) return Invalid(base, "invalid chmod parameter " + mode);
      co.mode = m;
    } else {
      co.mode_str = mode;
    }
  }

  std::string commit = base.name;
  if (parents) commit += " --parents";
  std::optional<llb::FileAction> action;
  for (const std::string& raw : files.source_paths) {
    KILN_ASSIGN_OR_RETURN(std::string src, expand(raw));
    commit += " " + src;
    if (is_add && IsGitUrl(src)) {
      // A git repository: URL#ref[:subdir] or the query form, copied from
      // its root.
      Result<GitRef> git = ParseGitRef(src);
      if (!git.ok()) return Invalid(base, git.status().message());
      llb::GitOptions go;
      go.keep_git_dir = git->keep_git_dir.value_or(keep_git_dir);
      go.checksum = git->checksum;
      go.skip_submodules = git->skip_submodules;
      go.mtime = git->mtime;
      go.op.custom_name = "[internal] load git source " + src;
      go.op.ignore_cache = options->no_cache;
      llb::State st = llb::Git(git->remote, git->ref, go);
      llb::CopyOptions gc;
      gc.owner = co.owner;
      gc.mode = co.mode;
      gc.mode_str = co.mode_str;
      gc.create_dest_path = true;
      action = action ? action->Copy(st, "/", dest, gc)
                      : llb::Copy(st, "/", dest, gc);
      continue;
    }
    if (IsHttpUrl(src)) {
      if (!is_add) return Invalid(base, "source can't be a URL for COPY");
      // Remote files are not unpacked (upstream v0.11).
      std::string f = HttpFilename(src);
      llb::HttpOptions ho;
      ho.filename = f;
      if (!checksum.empty()) {
        auto d = Digest::Parse(checksum);
        if (!d.ok())
          return Invalid(base, "invalid checksum: " + d.status().message());
      }
      ho.checksum = checksum;
      ho.op.custom_name = "[internal] download " + src;
      ho.op.ignore_cache = options->no_cache;
      llb::CopyOptions hc;
      hc.owner = co.owner;
      hc.mode = co.mode;
      hc.mode_str = co.mode_str;
      hc.create_dest_path = true;
      llb::State st = llb::Http(src, ho);
      action =
          action ? action->Copy(st, f, dest, hc) : llb::Copy(st, f, dest, hc);
      continue;
    }
    if (!checksum.empty())
      return Invalid(base, "checksum can't be specified for non-HTTP sources");
    if (from_context) s.ctx_paths.insert(PathJoin("/", src));
    std::string path = src;
    llb::CopyOptions sc = co;
    if (parents) {
      // --parents: copy from the pivot (`/./`, else the root) keeping the
      // matched paths below it (include pattern, wildcards allowed).
      size_t pivot = src.find("/./");
      std::string pattern = src;
      path = "/";
      if (pivot != std::string::npos) {
        pattern = src.substr(pivot + 3);
        path = src.substr(0, pivot);
      }
      pattern = PathJoin("/", pattern).substr(1);
      sc.include_patterns = {pattern};
    }
    path = PathJoin("/", path);
    action = action ? action->Copy(source, path, dest, sc)
                    : llb::Copy(source, path, dest, sc);
  }
  for (const SourceContent& content : files.source_contents) {
    // A heredoc source: written to a scratch file, then copied (upstream's
    // raw expansion keeps quotes when the delimiter was not quoted).
    commit += " <<" + content.path;
    std::string data = content.data;
    if (content.expand) {
      auto expanded = ProcessWord(
          data, Lookup(s), {.escape = '\\', .skip_process_quotes = true});
      if (!expanded.ok()) return expanded.status().WithRange(base.range);
      data = *expanded;
    }
    llb::OpOptions doc;
    doc.custom_name = "[internal] preparing inline document";
    doc.platform = s.platform;
    llb::State st =
        llb::Scratch().File(llb::Mkfile("/" + content.path, 0664, data), doc);
    llb::CopyOptions hc;
    hc.owner = co.owner;
    hc.mode = co.mode;
    hc.mode_str = co.mode_str;
    hc.create_dest_path = true;
    std::string src = "/" + content.path;
    action =
        action ? action->Copy(st, src, dest, hc) : llb::Copy(st, src, dest, hc);
  }
  commit += " " + dest_word;
  if (!action) return Invalid(base, base.name + " has no source");

  LexOptions name_lex{
      .escape = escape, .raw_quotes = true, .skip_unset_env = true};
  auto shown = ProcessWord(base.original, Lookup(s), name_lex);
  llb::OpOptions oo;
  oo.custom_name = Prefix(s, shown.ok() ? *shown : base.original);
  oo.platform = s.platform;
  oo.ignore_cache = options->no_cache;
  if (link) {
    // As upstream: the copy onto scratch is shown inside a progress group
    // named after the instruction, the merge as "LINK <instruction>".
    llb::ProgressGroup group{
        "link-" + std::to_string(s.index) + "-" + std::to_string(s.cmd_index),
        oo.custom_name, true};
    llb::OpOptions merge;
    merge.custom_name = oo.custom_name;
    size_t bracket = merge.custom_name.find("] ");
    merge.custom_name.insert(bracket == std::string::npos ? 0 : bracket + 2,
                             "LINK ");
    merge.ignore_cache = options->no_cache;
    merge.progress_group = group;
    merge.progress_group->weak = false;
    oo.progress_group = group;
    oo.custom_name.clear();
    llb::State copied =
        llb::Scratch().WithPlatform(s.platform).File(*action, oo);
    s.state = llb::Merge({s.state, copied}, merge).Reset(s.state);
  } else {
    s.state = s.state.File(*action, oo);
  }
  AddHistory(s.image, commit, true, true);
  return Status::Ok();
}

Status Converter::DispatchWorkdir(StageState& s, const WorkdirCommand& c) {
  auto word = Expand(s, c.path);
  if (!word.ok()) return word.status().WithRange(c.range);
  std::string wd = *word;
  if (wd.empty() || wd[0] != '/')
    wd = PathJoin(s.state.GetDir().empty() ? "/" : s.state.GetDir(), wd);
  wd = PathClean(wd);
  s.state = s.state.Dir(wd);
  s.image["config"]["WorkingDir"] = wd;
  bool with_layer = false;
  if (wd != "/") {
    llb::MkdirOptions mo;
    mo.make_parents = true;
    const Json& cfg = s.image["config"];
    if (cfg.contains("User") && cfg["User"].is_string() &&
        !cfg["User"].get<std::string>().empty()) {
      auto owner = llb::ChownOpt::Parse(cfg["User"].get<std::string>());
      if (!owner.ok()) return Invalid(c, owner.status().message());
      mo.owner = *owner;
    }
    llb::OpOptions oo;
    LexOptions name_lex{
        .escape = escape, .raw_quotes = true, .skip_unset_env = true};
    auto shown = ProcessWord(c.original, Lookup(s), name_lex);
    oo.custom_name = Prefix(s, shown.ok() ? *shown : c.original);
    oo.platform = s.platform;
    oo.ignore_cache = options->no_cache;
    s.state = s.state.File(llb::Mkdir(wd, 0755, mo), oo);
    with_layer = true;
  }
  AddHistory(s.image, "WORKDIR " + wd, with_layer, false);
  return Status::Ok();
}

}  // namespace kiln::dockerfile::convert
