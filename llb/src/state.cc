#include "kiln/llb/state.h"

#include <algorithm>
#include <unordered_set>

#include "kiln/llb/path.h"
#include "vertex.h"

namespace kiln::llb {
namespace internal {

const std::shared_ptr<const StateMeta>& DefaultMeta() {
  static const auto* meta = new std::shared_ptr<const StateMeta>(std::make_shared<StateMeta>());
  return *meta;
}

int64_t AddInputDedup(pb::Op* op, const pb::Input& in) {
  for (int i = 0; i < op->inputs_size(); ++i) {
    if (op->inputs(i).digest() == in.digest() && op->inputs(i).index() == in.index()) return i;
  }
  *op->add_inputs() = in;
  return op->inputs_size() - 1;
}

std::string CleanPath(std::string_view p) {
  if (p.empty()) return ".";
  const bool rooted = p[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view part = p.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  if (out.empty()) out = ".";
  return out;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return "";
  if (a.empty()) return CleanPath(b);
  if (b.empty()) return CleanPath(a);
  std::string joined(a);
  joined += '/';
  joined += b;
  return CleanPath(joined);
}

namespace {

class MergeVertex final : public Vertex {
 public:
  MergeVertex(std::vector<State> inputs, OpOptions options)
      : Vertex(std::move(options), std::nullopt), inputs_(std::move(inputs)) {}

  std::vector<const Vertex*> Dependencies() const override {
    std::vector<const Vertex*> deps;
    for (const State& s : inputs_) deps.push_back(StateAccess::vertex(s).get());
    return deps;
  }
  Status Build(const MarshalContext& ctx, pb::Op* op, std::set<std::string_view>* caps) const override {
    auto* merge = op->mutable_merge();
    for (const State& s : inputs_) {
      merge->add_inputs()->set_input(op->inputs_size());
      *op->add_inputs() = ctx.InputOf(StateAccess::vertex(s).get(), StateAccess::index(s));
    }
    caps->insert(caps::kMergeOp);
    return Status::Ok();
  }
  std::string Describe() const override {
    return "merge of " + std::to_string(inputs_.size()) + " inputs";
  }

 private:
  std::vector<State> inputs_;
};

class DiffVertex final : public Vertex {
 public:
  DiffVertex(State lower, State upper, OpOptions options)
      : Vertex(std::move(options), std::nullopt),
        lower_(std::move(lower)),
        upper_(std::move(upper)) {}

  std::vector<const Vertex*> Dependencies() const override {
    std::vector<const Vertex*> deps;
    if (!lower_.IsScratch()) deps.push_back(StateAccess::vertex(lower_).get());
    if (!upper_.IsScratch()) deps.push_back(StateAccess::vertex(upper_).get());
    return deps;
  }
  Status Build(const MarshalContext& ctx, pb::Op* op, std::set<std::string_view>* caps) const override {
    auto* diff = op->mutable_diff();
    auto add = [&](const State& s) -> int64_t {
      if (s.IsScratch()) return -1;
      *op->add_inputs() = ctx.InputOf(StateAccess::vertex(s).get(), StateAccess::index(s));
      return op->inputs_size() - 1;
    };
    diff->mutable_lower()->set_input(add(lower_));
    diff->mutable_upper()->set_input(add(upper_));
    caps->insert(caps::kDiffOp);
    return Status::Ok();
  }
  std::string Describe() const override { return "diff"; }

 private:
  State lower_;
  State upper_;
};

// Collects Definition.Source: SourceInfos de-duplicated, locations per op.
class SourceCollector {
 public:
  void Add(const Digest& digest, const std::vector<SourceLocation>& locations) {
    for (const SourceLocation& loc : locations) {
      if (!loc.file) continue;
      int index = IndexOf(loc.file);
      pb::Location* out = (*source_.mutable_locations())[digest.str()].add_locations();
      out->set_sourceindex(index);
      for (const auto& r : loc.ranges) {
        pb::Range* pr = out->add_ranges();
        pr->mutable_start()->set_line(r.start.line);
        pr->mutable_start()->set_character(r.start.character);
        pr->mutable_end()->set_line(r.end.line);
        pr->mutable_end()->set_character(r.end.character);
      }
    }
  }
  pb::Source Take() { return std::move(source_); }

 private:
  int IndexOf(const std::shared_ptr<const SourceFile>& f) {
    for (size_t i = 0; i < files_.size(); ++i) {
      const SourceFile& g = *files_[i];
      if (files_[i] == f || (g.filename == f->filename && g.language == f->language &&
                             g.data == f->data && g.definition == f->definition)) {
        return static_cast<int>(i);
      }
    }
    files_.push_back(f);
    pb::SourceInfo* info = source_.add_infos();
    info->set_filename(f->filename);
    info->set_data(f->data);
    info->set_language(f->language);
    if (f->definition) *info->mutable_definition() = *f->definition;
    return static_cast<int>(files_.size() - 1);
  }

  std::vector<std::shared_ptr<const SourceFile>> files_;
  pb::Source source_;
};

void MergeMetadata(pb::OpMetadata* into, const pb::OpMetadata& from) {
  if (from.ignore_cache()) into->set_ignore_cache(true);
  for (const auto& [k, v] : from.description()) (*into->mutable_description())[k] = v;
  if (from.has_export_cache()) *into->mutable_export_cache() = from.export_cache();
  for (const auto& [k, v] : from.caps()) (*into->mutable_caps())[k] = true;
  if (from.has_progress_group()) *into->mutable_progress_group() = from.progress_group();
  if (from.has_linux_resources()) *into->mutable_linux_resources() = from.linux_resources();
}

}  // namespace
}  // namespace internal

using internal::StateMeta;

State::State() : meta_(internal::DefaultMeta()) {}

State::State(std::shared_ptr<const internal::Vertex> vertex, int64_t index,
             std::shared_ptr<const internal::StateMeta> meta)
    : vertex_(std::move(vertex)), index_(index), meta_(std::move(meta)) {}

State State::WithMeta(std::shared_ptr<const internal::StateMeta> meta) const {
  return State(vertex_, index_, std::move(meta));
}

namespace {
template <typename F>
State Mutate(const State& s, F&& f) {
  auto meta = std::make_shared<StateMeta>(StateAccess::meta(s));
  f(*meta);
  return StateAccess::Make(StateAccess::vertex(s), StateAccess::index(s), std::move(meta));
}
}  // namespace

State State::AddEnv(std::string key, std::string value) const {
  return Mutate(*this, [&](StateMeta& m) {
    std::erase_if(m.env, [&](const auto& kv) { return kv.first == key; });
    m.env.emplace_back(std::move(key), std::move(value));
  });
}

State State::DelEnv(const std::string& key) const {
  return Mutate(*this, [&](StateMeta& m) {
    std::erase_if(m.env, [&](const auto& kv) { return kv.first == key; });
  });
}

State State::Dir(const std::string& dir) const {
  return Mutate(*this, [&](StateMeta& m) {
    m.dir = (!dir.empty() && dir[0] == '/') ? dir : internal::JoinPath(m.dir, dir);
  });
}

State State::User(std::string user) const {
  return Mutate(*this, [&](StateMeta& m) { m.user = std::move(user); });
}
State State::Hostname(std::string hostname) const {
  return Mutate(*this, [&](StateMeta& m) { m.hostname = std::move(hostname); });
}
State State::WithPlatform(Platform platform) const {
  return Mutate(*this, [&](StateMeta& m) { m.platform = std::move(platform); });
}
State State::Network(NetMode mode) const {
  return Mutate(*this, [&](StateMeta& m) { m.network = mode; });
}
State State::Security(SecurityMode mode) const {
  return Mutate(*this, [&](StateMeta& m) { m.security = mode; });
}
State State::AddExtraHost(std::string host, std::string ip) const {
  return Mutate(*this, [&](StateMeta& m) {
    m.extra_hosts.push_back(HostIP{std::move(host), std::move(ip)});
  });
}
State State::AddUlimit(std::string name, int64_t soft, int64_t hard) const {
  return Mutate(*this,
                [&](StateMeta& m) { m.ulimits.push_back(Ulimit{std::move(name), soft, hard}); });
}
State State::WithCgroupParent(std::string parent) const {
  return Mutate(*this, [&](StateMeta& m) { m.cgroup_parent = std::move(parent); });
}
State State::Reset(const State& other) const { return WithMeta(other.meta_); }

std::optional<std::string> State::GetEnv(std::string_view key) const {
  for (const auto& [k, v] : meta_->env) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::vector<std::string> State::Env() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : meta_->env) out.push_back(k + "=" + v);
  return out;
}

const std::string& State::GetDir() const { return meta_->dir; }
const std::string& State::GetUser() const { return meta_->user; }
const std::string& State::GetHostname() const { return meta_->hostname; }
const std::optional<Platform>& State::GetPlatform() const { return meta_->platform; }
NetMode State::GetNetwork() const { return meta_->network; }
SecurityMode State::GetSecurity() const { return meta_->security; }

State Scratch() { return State(); }

State Merge(const std::vector<State>& inputs, OpOptions options) {
  std::vector<State> kept;
  for (const State& s : inputs) {
    if (!s.IsScratch()) kept.push_back(s);
  }
  if (kept.empty()) return Scratch();
  if (kept.size() == 1) return kept[0];
  auto v = std::make_shared<internal::MergeVertex>(kept, std::move(options));
  return StateAccess::Make(std::move(v), 0, internal::DefaultMeta());
}

State Diff(const State& lower, const State& upper, OpOptions options) {
  if (lower.IsScratch()) return upper.IsScratch() ? Scratch() : upper;
  auto v = std::make_shared<internal::DiffVertex>(lower, upper, std::move(options));
  return StateAccess::Make(std::move(v), 0, internal::DefaultMeta());
}

Result<pb::Definition> State::Marshal(const MarshalOptions& options) const {
  pb::Definition def;
  if (IsScratch()) return def;

  internal::MarshalContext ctx(options);
  internal::SourceCollector sources;
  std::unordered_set<Digest> emitted;
  auto& metadata = *def.mutable_metadata();

  // Iterative post-order walk (graphs can be 10,000s of ops deep): inputs
  // before users, in input order, each vertex once.
  std::vector<std::pair<const internal::Vertex*, bool>> stack{{vertex_.get(), false}};
  while (!stack.empty()) {
    auto [v, expanded] = stack.back();
    stack.pop_back();
    if (ctx.Has(v)) continue;
    if (!expanded) {
      stack.emplace_back(v, true);
      std::vector<const internal::Vertex*> deps = v->Dependencies();
      for (auto it = deps.rbegin(); it != deps.rend(); ++it) {
        if (!ctx.Has(*it)) stack.emplace_back(*it, false);
      }
      continue;
    }
    if (!v->error().ok()) return v->error().WithContext(v->Describe());
    if (const LoadedDefinition* pre = v->prebuilt()) {
      // A received Definition: its ops byte for byte, terminal left out.
      for (size_t i = 0; i + 1 < pre->ops.size(); ++i) {
        const LoadedOp& lop = pre->ops[i];
        if (const pb::OpMetadata* md = pre->Metadata(lop.digest)) {
          auto [it, fresh] = metadata.try_emplace(lop.digest.str());
          if (fresh) {
            it->second = *md;
          } else {
            internal::MergeMetadata(&it->second, *md);
          }
        }
        if (emitted.insert(lop.digest).second) def.add_def(lop.bytes);
      }
      ctx.SetDigest(v, *v->prebuilt_output());
      continue;
    }

    pb::Op op;
    std::set<std::string_view> caps;
    KILN_RETURN_IF_ERROR(v->Build(ctx, &op, &caps).WithContext(v->Describe()));
    const OpOptions& o = v->options();
    if (v->WritesPlatform()) {
      ToProto(v->platform() ? *v->platform() : ctx.default_platform(), op.mutable_platform());
    }
    auto* constraints = op.mutable_constraints();
    for (const auto& f : options.worker_filters) constraints->add_filter(f);
    for (const auto& f : o.worker_filters) constraints->add_filter(f);

    std::string bytes = MarshalOp(&op, options.encoding);
    Digest digest = Digest::FromBytes(bytes);
    ctx.SetDigest(v, digest);

    pb::OpMetadata md;
    if (o.ignore_cache || options.ignore_cache) md.set_ignore_cache(true);
    for (const auto& [k, val] : o.description) (*md.mutable_description())[k] = val;
    if (!o.custom_name.empty()) (*md.mutable_description())["llb.customname"] = o.custom_name;
    if (o.export_cache) md.mutable_export_cache()->set_value(*o.export_cache);
    if (o.progress_group) {
      auto* pg = md.mutable_progress_group();
      pg->set_id(o.progress_group->id);
      pg->set_name(o.progress_group->name);
      pg->set_weak(o.progress_group->weak);
    }
    v->AddMetadata(&md);
    for (std::string_view c : caps) (*md.mutable_caps())[std::string(c)] = true;
    if (options.engine_caps != nullptr) {
      for (std::string_view c : caps) {
        if (!options.engine_caps->contains(c)) {
          return FailedPreconditionError("op " + digest.str() + " (" + v->Describe() +
                                         ") needs LLB capability \"" + std::string(c) +
                                         "\", which the target engine does not support");
        }
      }
    }
    // Most ops appear once: move their metadata in rather than merging.
    auto [it, fresh] = metadata.try_emplace(digest.str());
    if (fresh) {
      it->second.Swap(&md);
    } else {
      internal::MergeMetadata(&it->second, md);
    }
    sources.Add(digest, o.source_locations);
    if (emitted.insert(digest).second) def.add_def(std::move(bytes));
  }

  pb::Op terminal;
  *terminal.add_inputs() = ctx.InputOf(vertex_.get(), index_);
  std::string bytes = SerializeDeterministic(terminal);
  Digest digest = Digest::FromBytes(bytes);
  pb::OpMetadata md;
  (*md.mutable_caps())[std::string(caps::kConstraints)] = true;
  (*md.mutable_caps())[std::string(caps::kPlatform)] = true;
  for (const auto& [d, m] : metadata) {
    if (m.ignore_cache()) (*md.mutable_caps())[std::string(caps::kMetaIgnoreCache)] = true;
    if (!m.description().empty()) {
      (*md.mutable_caps())[std::string(caps::kMetaDescription)] = true;
    }
    if (m.has_export_cache()) (*md.mutable_caps())[std::string(caps::kMetaExportCache)] = true;
  }
  internal::MergeMetadata(&metadata[digest.str()], md);
  def.add_def(std::move(bytes));
  *def.mutable_source() = sources.Take();
  return def;
}

std::string SerializeDefinition(const pb::Definition& def) { return SerializeDeterministic(def); }

std::string CleanPath(std::string_view path) { return internal::CleanPath(path); }

std::string JoinPath(std::string_view a, std::string_view b) { return internal::JoinPath(a, b); }

}  // namespace kiln::llb
