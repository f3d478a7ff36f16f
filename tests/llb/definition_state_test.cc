// State::FromDefinition: a received Definition as the start of a new graph
// (Go's llb.NewDefinitionOp): its ops kept byte for byte, new ops on top.
#include <gtest/gtest.h>

#include "kiln/llb/definition.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln::llb {
namespace {

pb::Definition Received() {
  OpOptions named;
  named.custom_name = "load context";
  State s = Image("busybox").File(Mkdir("/a", 0755), named);
  return s.Marshal().value();
}

TEST(DefinitionState, RemarshalKeepsTheOpsAndMetadata) {
  pb::Definition def = Received();
  Result<State> st = State::FromDefinition(def);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_FALSE(st->IsScratch());
  Result<pb::Definition> again = st->Marshal();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->def_size(), def.def_size());
  for (int i = 0; i < def.def_size(); ++i)
    EXPECT_EQ(again->def(i), def.def(i)) << i;
  for (const auto& [digest, md] : def.metadata()) {
    auto it = again->metadata().find(digest);
    ASSERT_NE(it, again->metadata().end()) << digest;
    EXPECT_EQ(it->second.description().size(), md.description().size());
  }
}

TEST(DefinitionState, NewOpsReadTheTerminalsInput) {
  pb::Definition def = Received();
  LoadedDefinition loaded = LoadDefinition(def).value();
  const pb::Input& out = loaded.terminal().op.inputs(0);
  State st = State::FromDefinition(def).value().Dir("/a").File(
      Mkfile("f", 0644, "data"));
  LoadedDefinition built = LoadDefinition(st.Marshal().value()).value();
  // Every received op, then the new file op reading the received output.
  ASSERT_EQ(built.ops.size(), loaded.ops.size() + 1);
  for (size_t i = 0; i + 1 < loaded.ops.size(); ++i)
    EXPECT_EQ(built.ops[i].bytes, loaded.ops[i].bytes);
  const pb::Op& file = built.ops[built.ops.size() - 2].op;
  ASSERT_TRUE(file.has_file());
  ASSERT_EQ(file.inputs_size(), 1);
  EXPECT_EQ(file.inputs(0).digest(), out.digest());
  EXPECT_EQ(file.inputs(0).index(), out.index());
  EXPECT_EQ(file.file().actions(0).mkfile().path(), "/a/f");
  // The same op twice (received and rebuilt) is emitted once.
  State twice = Merge({State::FromDefinition(def).value(),
                       Image("busybox").File(Mkdir("/b", 0755))});
  LoadedDefinition merged = LoadDefinition(twice.Marshal().value()).value();
  EXPECT_EQ(merged.ops.size(), loaded.ops.size() + 2);
}

TEST(DefinitionState, EmptyIsScratchAndGarbageIsAnError) {
  Result<State> empty = State::FromDefinition(pb::Definition());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->IsScratch());
  pb::Definition bad;
  bad.add_def("not an op");
  Result<State> r = State::FromDefinition(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::llb
