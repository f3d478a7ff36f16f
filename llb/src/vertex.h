// Internal: the vertex model behind llb::State, shared by the op builders.
#ifndef KILN_LLB_SRC_VERTEX_H_
#define KILN_LLB_SRC_VERTEX_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kiln/llb/definition.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/state.h"

namespace kiln::llb {
namespace internal {

// The process context a State carries (Go's state values).
struct StateMeta {
  std::vector<std::pair<std::string, std::string>> env;
  std::string dir = "/";
  std::string user;
  std::string hostname;
  std::optional<Platform> platform;
  NetMode network = NetMode::kSandbox;
  SecurityMode security = SecurityMode::kSandbox;
  std::vector<HostIP> extra_hosts;
  std::vector<Ulimit> ulimits;
  std::string cgroup_parent;
};

const std::shared_ptr<const StateMeta>& DefaultMeta();

class MarshalContext;

// One op of the graph. Immutable once built; shared by every State that
// refers to one of its outputs.
class Vertex {
 public:
  Vertex(OpOptions options, std::optional<Platform> state_platform)
      : options_(std::move(options)),
        state_platform_(std::move(state_platform)) {}
  virtual ~Vertex() = default;
  Vertex(const Vertex&) = delete;
  Vertex& operator=(const Vertex&) = delete;

  // Vertices whose outputs this op reads (for graph traversal).
  virtual std::vector<const Vertex*> Dependencies() const = 0;
  // Fills the op body and inputs, and adds the caps the op needs. Input
  // digests of dependencies are available from `ctx`. `caps` holds views:
  // insert only the constants of kiln/llb/caps.h, never a temporary string.
  virtual Status Build(const MarshalContext& ctx, pb::Op* op,
                       std::set<std::string_view>* caps) const = 0;
  // Whether Op.platform is written (exec, image and OCI layout sources).
  virtual bool WritesPlatform() const { return false; }
  // "exec [sh -c ...]", "image source alpine", … for error messages.
  virtual std::string Describe() const = 0;
  // Op-specific metadata (e.g. exec resource limits).
  virtual void AddMetadata(pb::OpMetadata* /*md*/) const {}
  // Ops marshaled already (State::FromDefinition): Marshal emits them as
  // they are instead of calling Build(), and the vertex stands for the
  // output `prebuilt_output()` names. Null for every other vertex.
  virtual const LoadedDefinition* prebuilt() const { return nullptr; }
  virtual const Digest* prebuilt_output() const { return nullptr; }

  const OpOptions& options() const { return options_; }
  // The op's platform: its own option, else the state's; unset = default.
  const std::optional<Platform>& platform() const {
    return options_.platform ? options_.platform : state_platform_;
  }
  // An error found while building, reported by Marshal().
  const Status& error() const { return error_; }
  void set_error(Status s) { error_ = std::move(s); }

 private:
  OpOptions options_;
  std::optional<Platform> state_platform_;
  Status error_;
};

class MarshalContext {
 public:
  explicit MarshalContext(const MarshalOptions& options) : options_(options) {}
  const MarshalOptions& options() const { return options_; }
  const Platform& default_platform() const {
    return options_.platform ? *options_.platform : HostPlatform();
  }
  // The pb.Input for output `index` of an already marshaled vertex.
  pb::Input InputOf(const Vertex* v, int64_t index) const {
    pb::Input in;
    in.set_digest(digests_.at(v).str());
    in.set_index(index);
    return in;
  }
  void SetDigest(const Vertex* v, Digest d) { digests_[v] = std::move(d); }
  bool Has(const Vertex* v) const { return digests_.contains(v); }
  const Digest& DigestOf(const Vertex* v) const { return digests_.at(v); }

 private:
  const MarshalOptions& options_;
  std::unordered_map<const Vertex*, Digest> digests_;
};

// Adds `in` to op.inputs unless an equal input is there; returns its index.
int64_t AddInputDedup(pb::Op* op, const pb::Input& in);

// Go's path.Clean / path.Join (slash paths, lexical).
std::string CleanPath(std::string_view p);
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace internal

// Friend access to State's representation for the op builders.
struct StateAccess {
  static State Make(std::shared_ptr<const internal::Vertex> v, int64_t index,
                    std::shared_ptr<const internal::StateMeta> meta) {
    return State(std::move(v), index, std::move(meta));
  }
  static const std::shared_ptr<const internal::Vertex>& vertex(const State& s) {
    return s.vertex_;
  }
  static int64_t index(const State& s) { return s.index_; }
  static const internal::StateMeta& meta(const State& s) { return *s.meta_; }
  static const std::shared_ptr<const internal::StateMeta>& meta_ptr(
      const State& s) {
    return s.meta_;
  }
};

}  // namespace kiln::llb

#endif  // KILN_LLB_SRC_VERTEX_H_
