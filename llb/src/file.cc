#include "kiln/llb/file.h"

#include <algorithm>
#include <charconv>
#include <variant>

#include "vertex.h"

namespace kiln::llb {
namespace internal {

struct MkdirAction {
  std::string path;
  uint32_t mode;
  MkdirOptions options;
};
struct MkfileAction {
  std::string path;
  uint32_t mode;
  std::string data;
  MkfileOptions options;
};
struct RmAction {
  std::string path;
  RmOptions options;
};
struct CopyAction {
  State source;
  std::string src;
  std::string dest;
  CopyOptions options;
};
struct SymlinkAction {
  std::string oldpath;
  std::string newpath;
  SymlinkOptions options;
};

struct FileActionNode {
  std::variant<MkdirAction, MkfileAction, RmAction, CopyAction, SymlinkAction> action;
  std::shared_ptr<const FileActionNode> prev;
};

}  // namespace internal

namespace {

using internal::CopyAction;
using internal::FileActionNode;
using internal::MkdirAction;
using internal::MkfileAction;
using internal::RmAction;
using internal::SymlinkAction;
using internal::Vertex;

// Go's normalizePath: relative paths join the parent dir; with keep_slash a
// trailing "/" or "/." survives cleaning (it means "into this directory").
std::string NormalizePath(const std::string& parent, const std::string& p, bool keep_slash) {
  std::string out = internal::CleanPath(p);
  if (out.empty() || out[0] != '/') out = internal::JoinPath("/" + parent, out);
  if (keep_slash) {
    if (p.ends_with("/") && !out.ends_with("/")) {
      out += '/';
    } else if (p.ends_with("/.")) {
      if (out != "/") out += '/';
      out += '.';
    }
  }
  return out;
}

void SetUser(pb::UserOpt* out, const UserRef& u, int64_t base) {
  if (u.id) {
    out->set_byid(*u.id);
  } else {
    out->mutable_byname()->set_name(u.name);
    out->mutable_byname()->set_input(base);
  }
}

template <typename M>
void SetOwnerOf(M* msg, const std::optional<ChownOpt>& owner, int64_t base) {
  if (!owner || (!owner->user && !owner->group)) return;
  pb::ChownOpt* out = msg->mutable_owner();
  if (owner->user) SetUser(out->mutable_user(), *owner->user, base);
  if (owner->group) SetUser(out->mutable_group(), *owner->group, base);
}

class FileVertex final : public Vertex {
 public:
  FileVertex(State base, std::vector<std::shared_ptr<const FileActionNode>> actions,
             OpOptions options)
      : Vertex(std::move(options), std::nullopt),
        base_(std::move(base)),
        actions_(std::move(actions)) {}

  std::vector<const Vertex*> Dependencies() const override {
    std::vector<const Vertex*> deps;
    if (!base_.IsScratch()) deps.push_back(StateAccess::vertex(base_).get());
    for (const auto& a : actions_) {
      if (const auto* c = std::get_if<CopyAction>(&a->action); c && !c->source.IsScratch()) {
        deps.push_back(StateAccess::vertex(c->source).get());
      }
    }
    return deps;
  }

  Status Build(const internal::MarshalContext& ctx, pb::Op* op,
               std::set<std::string_view>* caps) const override {
    caps->insert(caps::kFileBase);
    auto input_of = [&](const State& s) -> int64_t {
      if (s.IsScratch()) return -1;
      return internal::AddInputDedup(
          op, ctx.InputOf(StateAccess::vertex(s).get(), StateAccess::index(s)));
    };
    // Inputs in Go's order: the base of the first action, then each copy
    // source in action order.
    const int64_t first_input = input_of(base_);
    std::vector<int64_t> secondary(actions_.size(), -1);
    for (size_t i = 0; i < actions_.size(); ++i) {
      if (const auto* c = std::get_if<CopyAction>(&actions_[i]->action)) {
        secondary[i] = input_of(c->source);
      }
    }
    const int64_t n = op->inputs_size();
    const std::string& parent = base_.GetDir();
    auto* file = op->mutable_file();
    for (size_t i = 0; i < actions_.size(); ++i) {
      auto* out = file->add_actions();
      const int64_t input = i == 0 ? first_input : n + static_cast<int64_t>(i) - 1;
      out->set_input(input);
      out->set_secondaryinput(secondary[i]);
      out->set_output(i + 1 == actions_.size() ? 0 : -1);
      std::visit(
          [&](const auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, MkdirAction>) {
              auto* m = out->mutable_mkdir();
              m->set_path(NormalizePath(parent, a.path, false));
              m->set_mode(static_cast<int32_t>(a.mode & 0777));
              m->set_makeparents(a.options.make_parents);
              SetOwnerOf(m, a.options.owner, first_input);
              m->set_timestamp(a.options.timestamp_ns.value_or(-1));
            } else if constexpr (std::is_same_v<T, MkfileAction>) {
              auto* m = out->mutable_mkfile();
              m->set_path(NormalizePath(parent, a.path, false));
              m->set_mode(static_cast<int32_t>(a.mode & 0777));
              m->set_data(a.data);
              SetOwnerOf(m, a.options.owner, first_input);
              m->set_timestamp(a.options.timestamp_ns.value_or(-1));
            } else if constexpr (std::is_same_v<T, RmAction>) {
              auto* m = out->mutable_rm();
              m->set_path(NormalizePath(parent, a.path, false));
              m->set_allownotfound(a.options.allow_not_found);
              m->set_allowwildcard(a.options.allow_wildcard);
              if (a.options.allow_wildcard) caps->insert(caps::kFileRmWildcard);
            } else if constexpr (std::is_same_v<T, CopyAction>) {
              const CopyOptions& o = a.options;
              auto* m = out->mutable_copy();
              std::string src = internal::CleanPath(a.src);
              if (src.empty() || src[0] != '/') {
                src = internal::JoinPath(a.source.GetDir(), src);
                if (src.empty() || src[0] != '/') src = "/" + src;
              }
              m->set_src(src);
              m->set_dest(NormalizePath(parent, a.dest, true));
              SetOwnerOf(m, o.owner, first_input);
              if (!o.mode_str.empty()) {
                m->set_mode(-1);
                m->set_modestr(o.mode_str);
              } else {
                m->set_mode(o.mode.value_or(-1));
              }
              m->set_followsymlink(o.follow_symlinks);
              m->set_dircopycontents(o.copy_dir_contents_only);
              m->set_attemptunpackdockercompatibility(o.attempt_unpack);
              m->set_createdestpath(o.create_dest_path);
              m->set_allowwildcard(o.allow_wildcard);
              m->set_allowemptywildcard(o.allow_empty_wildcard);
              m->set_timestamp(o.timestamp_ns.value_or(-1));
              for (const auto& p : o.include_patterns) m->add_include_patterns(p);
              for (const auto& p : o.exclude_patterns) m->add_exclude_patterns(p);
              if (!o.include_patterns.empty() || !o.exclude_patterns.empty()) {
                caps->insert(caps::kFileCopyIncludeExcludePatterns);
              }
              m->set_alwaysreplaceexistingdestpaths(o.always_replace_existing_dest_paths);
              if (o.always_replace_existing_dest_paths) {
                caps->insert(caps::kFileCopyAlwaysReplaceExistingDestPaths);
              }
              for (const auto& p : o.required_paths) m->add_required_paths(p);
              if (!o.required_paths.empty()) {
                caps->insert(caps::kFileCopyRequiredPaths);
              }
            } else {
              auto* m = out->mutable_symlink();
              m->set_oldpath(a.oldpath);
              m->set_newpath(NormalizePath(parent, a.newpath, false));
              SetOwnerOf(m, a.options.owner, first_input);
              m->set_timestamp(a.options.timestamp_ns.value_or(-1));
              caps->insert(caps::kFileSymlinkCreate);
            }
          },
          actions_[i]->action);
    }
    return Status::Ok();
  }

  std::string Describe() const override {
    return "file op (" + std::to_string(actions_.size()) + " actions)";
  }

 private:
  State base_;
  std::vector<std::shared_ptr<const FileActionNode>> actions_;
};

Status ValidateActions(const std::vector<std::shared_ptr<const FileActionNode>>& actions) {
  if (actions.empty()) return InvalidArgumentError("file op needs at least one action");
  for (const auto& a : actions) {
    Status s = std::visit(
        [](const auto& x) -> Status {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, CopyAction>) {
            if (x.src.empty()) return InvalidArgumentError("copy needs a source path");
            if (x.dest.empty()) return InvalidArgumentError("copy needs a destination path");
            if (x.options.mode && !x.options.mode_str.empty()) {
              return InvalidArgumentError("copy takes a numeric or a symbolic mode, not both");
            }
          } else if constexpr (std::is_same_v<T, SymlinkAction>) {
            if (x.oldpath.empty() || x.newpath.empty()) {
              return InvalidArgumentError("symlink needs a target and a link path");
            }
          } else {
            if (x.path.empty()) return InvalidArgumentError("file action needs a path");
          }
          return Status::Ok();
        },
        a->action);
    KILN_RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

Result<UserRef> ParseUserPart(std::string_view part, std::string_view spec) {
  if (part.empty()) {
    return InvalidArgumentError("invalid owner \"" + std::string(spec) + "\": empty user or group");
  }
  if (part == "root") return UserRef::Id(0);  // as the Go client: no lookup needed
  uint32_t id = 0;
  auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), id);
  if (ec == std::errc() && ptr == part.data() + part.size()) return UserRef::Id(id);
  return UserRef::Name(std::string(part));
}

}  // namespace

Result<ChownOpt> ChownOpt::Parse(std::string_view spec) {
  ChownOpt out;
  size_t colon = spec.find(':');
  KILN_ASSIGN_OR_RETURN(UserRef user, ParseUserPart(spec.substr(0, colon), spec));
  out.user = std::move(user);
  if (colon != std::string_view::npos) {
    KILN_ASSIGN_OR_RETURN(UserRef group, ParseUserPart(spec.substr(colon + 1), spec));
    out.group = std::move(group);
  }
  return out;
}

FileAction FileAction::Append(internal::FileActionNode node) const {
  node.prev = last_;
  FileAction out;
  out.last_ = std::make_shared<const FileActionNode>(std::move(node));
  return out;
}

std::vector<std::shared_ptr<const FileActionNode>> FileAction::Actions() const {
  std::vector<std::shared_ptr<const FileActionNode>> out;
  for (auto n = last_; n; n = n->prev) out.push_back(n);
  std::reverse(out.begin(), out.end());
  return out;
}

FileAction FileAction::Mkdir(std::string path, uint32_t mode, MkdirOptions options) const {
  return Append({MkdirAction{std::move(path), mode, std::move(options)}, nullptr});
}
FileAction FileAction::Mkfile(std::string path, uint32_t mode, std::string data,
                              MkfileOptions options) const {
  return Append({MkfileAction{std::move(path), mode, std::move(data), std::move(options)}, nullptr});
}
FileAction FileAction::Rm(std::string path, RmOptions options) const {
  return Append({RmAction{std::move(path), options}, nullptr});
}
FileAction FileAction::Copy(const State& source, std::string src, std::string dest,
                            CopyOptions options) const {
  return Append({CopyAction{source, std::move(src), std::move(dest), std::move(options)}, nullptr});
}
FileAction FileAction::Symlink(std::string oldpath, std::string newpath,
                               SymlinkOptions options) const {
  return Append({SymlinkAction{std::move(oldpath), std::move(newpath), std::move(options)}, nullptr});
}

FileAction Mkdir(std::string path, uint32_t mode, MkdirOptions options) {
  return FileAction().Mkdir(std::move(path), mode, std::move(options));
}
FileAction Mkfile(std::string path, uint32_t mode, std::string data, MkfileOptions options) {
  return FileAction().Mkfile(std::move(path), mode, std::move(data), std::move(options));
}
FileAction Rm(std::string path, RmOptions options) {
  return FileAction().Rm(std::move(path), options);
}
FileAction Copy(const State& source, std::string src, std::string dest, CopyOptions options) {
  return FileAction().Copy(source, std::move(src), std::move(dest), std::move(options));
}
FileAction Symlink(std::string oldpath, std::string newpath, SymlinkOptions options) {
  return FileAction().Symlink(std::move(oldpath), std::move(newpath), std::move(options));
}

State State::File(const FileAction& action, OpOptions options) const {
  auto actions = action.Actions();
  Status error = ValidateActions(actions);
  auto v = std::make_shared<FileVertex>(*this, std::move(actions), std::move(options));
  if (!error.ok()) v->set_error(std::move(error));
  return State(std::move(v), 0, meta_);
}

}  // namespace kiln::llb
