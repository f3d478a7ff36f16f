// State::FromDefinition: a vertex standing for a Definition received from
// elsewhere, marshaled as its ops are (see State::Marshal).
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "kiln/llb/definition.h"
#include "kiln/llb/state.h"
#include "vertex.h"

namespace kiln::llb {
namespace {

class DefinitionVertex final : public internal::Vertex {
 public:
  DefinitionVertex(LoadedDefinition loaded, Digest output)
      : Vertex(OpOptions{}, std::nullopt),
        loaded_(std::move(loaded)),
        output_(std::move(output)) {}

  std::vector<const Vertex*> Dependencies() const override { return {}; }
  Status Build(const internal::MarshalContext&, pb::Op*,
               std::set<std::string_view>*) const override {
    return InternalError("a definition vertex is emitted as it is");
  }
  std::string Describe() const override {
    return "definition of " + std::to_string(loaded_.ops.size()) + " ops";
  }
  const LoadedDefinition* prebuilt() const override { return &loaded_; }
  const Digest* prebuilt_output() const override { return &output_; }

 private:
  LoadedDefinition loaded_;
  Digest output_;
};

}  // namespace

Result<State> State::FromDefinition(const pb::Definition& definition) {
  if (definition.def_size() == 0) return State();
  KILN_ASSIGN_OR_RETURN(LoadedDefinition loaded, LoadDefinition(definition));
  const pb::Input& in = loaded.terminal().op.inputs(0);
  KILN_ASSIGN_OR_RETURN(Digest output, Digest::Parse(in.digest()));
  int64_t index = in.index();
  auto v =
      std::make_shared<DefinitionVertex>(std::move(loaded), std::move(output));
  return StateAccess::Make(std::move(v), index, internal::DefaultMeta());
}

}  // namespace kiln::llb
