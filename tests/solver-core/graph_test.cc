// BuildGraph: topological order, inputs, outputs and names of real graphs
// from the llb builder, and one test per validation error on hand-made
// Definitions (each asserts the code, the op digest and the reason).
#include "kiln/solver/graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/llb/encoding.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln::solver {
namespace {

using ::testing::HasSubstr;

// Appends hand-made ops to a Definition and returns their digests.
class DefBuilder {
 public:
  Digest Add(const pb::Op& op) {
    return AddBytes(llb::MarshalOp(op, llb::OpEncoding::kProtobufGo));
  }
  Digest AddBytes(const std::string& bytes) {
    def_.add_def(bytes);
    return Digest::FromBytes(bytes);
  }
  void Caps(const Digest& d, std::vector<std::string> caps) {
    for (auto& cap : caps)
      (*(*def_.mutable_metadata())[d.str()].mutable_caps())[cap] = true;
  }
  void Name(const Digest& d, const std::string& name) {
    (*(*def_.mutable_metadata())[d.str()]
          .mutable_description())["llb.customname"] = name;
  }
  // Adds the terminal op and returns the definition.
  pb::Definition Finish(const Digest& result, int64_t index = 0) {
    pb::Op terminal;
    AddInput(&terminal, result, index);
    terminal_ = Add(terminal);
    return def_;
  }
  const Digest& terminal() const { return terminal_; }

  static void AddInput(pb::Op* op, const Digest& d, int64_t index = 0) {
    pb::Input* in = op->add_inputs();
    in->set_digest(d.str());
    in->set_index(index);
  }

 private:
  pb::Definition def_;
  Digest terminal_;
};

pb::Op Source(const std::string& identifier) {
  pb::Op op;
  op.mutable_source()->set_identifier(identifier);
  return op;
}

// An exec on input 0 as root with one output per entry of `mounts` extra.
pb::Op Exec(const Digest& root, std::vector<std::string> args = {"/bin/true"}) {
  pb::Op op;
  DefBuilder::AddInput(&op, root);
  for (auto& a : args) op.mutable_exec()->mutable_meta()->add_args(a);
  pb::Mount* m = op.mutable_exec()->add_mounts();
  m->set_dest("/");
  m->set_input(0);
  m->set_output(0);
  return op;
}

// A file op with one mkdir action on input 0 (or scratch with no input).
pb::Op Mkdir(const Digest* base) {
  pb::Op op;
  if (base != nullptr) DefBuilder::AddInput(&op, *base);
  pb::FileAction* a = op.mutable_file()->add_actions();
  a->set_input(base != nullptr ? 0 : -1);
  a->set_secondaryinput(-1);
  a->set_output(0);
  a->mutable_mkdir()->set_path("/d");
  return op;
}

Result<Graph> Build(const pb::Definition& def,
                    const GraphOptions& options = {}) {
  auto loaded = llb::LoadDefinition(def);
  if (!loaded.ok()) return loaded.status();
  return BuildGraph(*loaded, options);
}

// Asserts an InvalidArgument naming `digest` and containing `reason`.
void ExpectInvalid(const Result<Graph>& graph, const Digest& digest,
                   const std::string& reason) {
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(graph.status().message(), HasSubstr("op " + digest.str()));
  EXPECT_THAT(graph.status().message(), HasSubstr(reason));
}

// --- valid graphs ----------------------------------------------------------

TEST(BuildGraph, RealGraphInTopologicalOrderWithNamesAndOutputs) {
  llb::State base = llb::Image("docker.io/library/busybox:latest");
  llb::State ctx = llb::Local("context");
  llb::ExecState run =
      base.Run({.args = {"/bin/sh", "-c", "make"},
                .mounts = {llb::Mount::Bind("/out", llb::Scratch())}});
  llb::State out = run.GetMount("/out").value();
  llb::State copied =
      run.Root().File(llb::Copy(ctx, "/src", "/app/").Mkdir("/x", 0755));
  llb::State merged = llb::Merge({copied, out});
  auto def = merged.Marshal();
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  auto graph = Build(*def);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();

  ASSERT_EQ(graph->size(), 5);
  for (int i = 0; i < graph->size(); ++i) {
    for (const VertexInput& in : graph->vertex(i).inputs)
      EXPECT_LT(in.vertex, i);
    EXPECT_EQ(graph->Find(graph->vertex(i).digest), i);
  }
  const Vertex& exec = graph->vertex(graph->vertex(4).inputs[1].vertex);
  EXPECT_EQ(exec.name, "/bin/sh -c make");
  EXPECT_EQ(exec.num_outputs, 2);  // "/" and "/out"
  EXPECT_EQ(graph->vertex(4).inputs[1].output, 1);
  const Vertex& file = graph->vertex(graph->vertex(4).inputs[0].vertex);
  EXPECT_EQ(file.name, "copy /src /app/, mkdir /x");
  EXPECT_EQ(file.num_outputs, 1);
  EXPECT_EQ(graph->vertex(4).name,
            "merge \"copy /src /app/, mkdir /x\" + \"/bin/sh -c make\"");
  EXPECT_EQ(graph->result().vertex, 4);
  EXPECT_EQ(graph->result().output, 0);
  EXPECT_EQ(graph->Find(Digest::FromBytes("not an op")), -1);
  std::vector<std::string> names;
  for (const Vertex& v : graph->vertices()) names.push_back(v.name);
  EXPECT_NE(std::find(names.begin(), names.end(),
                      "docker-image://docker.io/library/busybox:latest"),
            names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "local://context"),
            names.end());
}

TEST(BuildGraph, CustomNameDiffNameSharedInputAndUnreachableOps) {
  DefBuilder b;
  Digest unreachable =
      b.Add(Source("docker-image://docker.io/library/unused:1"));
  Digest src = b.Add(Source("docker-image://docker.io/library/alpine:3"));
  b.Name(src, "base \"image\"");
  Digest exec = b.Add(Exec(src, {"echo", "hi"}));
  pb::Op diff;
  DefBuilder::AddInput(&diff, src);
  DefBuilder::AddInput(&diff, exec);
  diff.mutable_diff()->mutable_lower()->set_input(0);
  diff.mutable_diff()->mutable_upper()->set_input(1);
  Digest d = b.Add(diff);
  auto graph = Build(b.Finish(d));
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_EQ(graph->size(), 3);  // the unreachable source is left out
  EXPECT_EQ(graph->Find(unreachable), -1);
  EXPECT_EQ(graph->vertex(0).digest, src);  // shared by exec and diff, once
  EXPECT_EQ(graph->vertex(0).name, "base \"image\"");
  EXPECT_EQ(graph->vertex(1).name, "echo hi");
  EXPECT_EQ(graph->vertex(2).name,
            "diff \"base \\\"image\\\"\" -> \"echo hi\"");
  EXPECT_EQ(graph->vertex(2).inputs,
            (std::vector<VertexInput>{{0, 0}, {1, 0}}));
  EXPECT_FALSE(graph->vertex(2).ignore_cache());
}

TEST(BuildGraph, IgnoreCacheAndTerminalMetadataAreKept) {
  llb::State s = llb::Image("alpine")
                     .Run({.args = {"date"}, .op = {.ignore_cache = true}})
                     .Root();
  auto graph = Build(s.Marshal().value());
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_TRUE(graph->vertex(1).ignore_cache());
  EXPECT_FALSE(graph->vertex(0).ignore_cache());
  EXPECT_TRUE(graph->terminal_metadata().caps().contains("platform"));
}

// Upstream BuildKit v0.11.6 Dockerfile frontend output must all validate.
TEST(BuildGraph, AcceptsEveryUpstreamConformanceDefinition) {
  const std::filesystem::path dir =
      std::filesystem::path(KILN_SHARED_DIR) / "conformance/llb";
  ASSERT_TRUE(std::filesystem::is_directory(dir))
      << "conformance data missing: " << dir;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::filesystem::path file = entry.path() / "llb.pb";
    if (!std::filesystem::exists(file)) continue;
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    auto def = llb::ParseDefinition(bytes.str());
    ASSERT_TRUE(def.ok()) << file << ": " << def.status().ToString();
    auto graph = Build(*def);
    ASSERT_TRUE(graph.ok()) << file << ": " << graph.status().ToString();
    EXPECT_EQ(graph->size(), def->def_size() - 1)
        << file;  // all reachable, minus terminal
    for (const Vertex& v : graph->vertices())
      EXPECT_FALSE(v.name.empty()) << file;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

// --- OrderNodes ------------------------------------------------------------

TEST(OrderNodes, DependenciesFirstOnlyReachable) {
  // 0 reads 1 and 2, 1 reads 2, 3 is not reachable from 0.
  internal::NodeOrder o = internal::OrderNodes({{1, 2}, {2}, {}, {0}}, {0});
  EXPECT_TRUE(o.cycle.empty());
  EXPECT_EQ(o.order, (std::vector<int>{2, 1, 0}));
}

TEST(OrderNodes, FindsCyclesAndSelfLoops) {
  internal::NodeOrder three = internal::OrderNodes({{1}, {2}, {3}, {1}}, {0});
  EXPECT_TRUE(three.order.empty());
  EXPECT_EQ(three.cycle, (std::vector<int>{1, 2, 3, 1}));
  internal::NodeOrder self = internal::OrderNodes({{}, {1}}, {0, 1});
  EXPECT_EQ(self.cycle, (std::vector<int>{1, 1}));
}

TEST(OrderNodes, LongChainNeedsNoRecursion) {
  const int n = 200'000;
  std::vector<std::vector<int>> deps(n);
  for (int i = 0; i + 1 < n; ++i) deps[static_cast<size_t>(i)] = {i + 1};
  internal::NodeOrder o = internal::OrderNodes(deps, {0});
  ASSERT_EQ(o.order.size(), static_cast<size_t>(n));
  EXPECT_EQ(o.order.front(), n - 1);
  EXPECT_EQ(o.order.back(), 0);
}

// --- errors ----------------------------------------------------------------

TEST(GraphErrors, MissingInput) {
  DefBuilder b;
  Digest absent = Digest::FromBytes("absent");
  Digest exec = b.Add(Exec(absent));
  pb::Definition def = b.Finish(exec);
  // LoadDefinition already rejects it, naming the op.
  ExpectInvalid(Build(def), exec, "not in the definition");
  // BuildGraph has its own check for LoadedDefinitions made by hand.
  llb::LoadedDefinition loaded;
  pb::Op op = Exec(absent);
  loaded.ops.push_back({exec, "", op});
  pb::Op terminal;
  DefBuilder::AddInput(&terminal, exec);
  loaded.ops.push_back({Digest::FromBytes("terminal"), "", terminal});
  auto graph = BuildGraph(loaded);
  ExpectInvalid(
      graph, exec,
      "input 0 refers to " + absent.str() + ", which is not in the definition");
}

TEST(GraphErrors, CycleBetweenOps) {
  // Impossible in a real Definition (it needs a sha256 fixed point), so the
  // ops claim digests of our choosing.
  Digest a = Digest::FromBytes("a"), c = Digest::FromBytes("c");
  llb::LoadedDefinition loaded;
  loaded.ops.push_back({a, "", Exec(c)});
  loaded.ops.push_back({c, "", Exec(a)});
  pb::Op terminal;
  DefBuilder::AddInput(&terminal, a);
  loaded.ops.push_back({Digest::FromBytes("t"), "", terminal});
  auto graph = BuildGraph(loaded);
  ExpectInvalid(
      graph, a,
      "ops form a cycle: " + a.str() + " -> " + c.str() + " -> " + a.str());
}

TEST(GraphErrors, UnknownOpType) {
  DefBuilder b;
  pb::Op empty;  // platform only, no body
  empty.mutable_platform()->set_os("linux");
  Digest bodyless = b.Add(empty);
  ExpectInvalid(Build(b.Finish(bodyless)), bodyless, "unknown op type");
  // A body from a newer protocol (field 9) decodes as no body.
  DefBuilder future;
  Digest d = future.AddBytes(std::string("\x4a\x02\x08\x01", 4));
  ExpectInvalid(Build(future.Finish(d)), d, "(unknown): unknown op type");
}

TEST(GraphErrors, InputOutputIndexOutOfRange) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  pb::Op exec = Exec(src);
  exec.mutable_inputs(0)->set_index(1);  // a source has one output
  Digest e = b.Add(exec);
  b.Name(e, "RUN it");
  ExpectInvalid(Build(b.Finish(e)), e,
                "(exec \"RUN it\"): input 0 refers to output 1 of op " +
                    src.str() + " (source), which has 1 outputs");
  // The terminal's input is checked too.
  DefBuilder t;
  Digest s = t.Add(Source("local://ctx"));
  auto graph = Build(t.Finish(s, 2));
  ExpectInvalid(graph, t.terminal(),
                "input 0 refers to output 2 of op " + s.str());
}

TEST(GraphErrors, ExecMountOutputsOutOfOrder) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  pb::Op exec = Exec(src);
  pb::Mount* m = exec.mutable_exec()->add_mounts();
  m->set_dest("/out");
  m->set_input(-1);
  m->set_output(3);
  Digest e = b.Add(exec);
  ExpectInvalid(
      Build(b.Finish(e)), e,
      "mount 1 (dest \"/out\") has output index 3 out of range: expected 1");
}

TEST(BuildGraph, SecretSshAndTmpfsMountIndexesAreIgnored) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  pb::Op exec = Exec(src);
  for (pb::MountType type : {pb::SECRET, pb::SSH, pb::TMPFS}) {
    pb::Mount* m = exec.mutable_exec()->add_mounts();
    m->set_dest("/m" + std::to_string(type));
    m->set_mounttype(type);
    m->set_input(7);   // ignored
    m->set_output(0);  // ignored: gogo-era clients leave it at 0
  }
  Digest e = b.Add(exec);
  auto graph = Build(b.Finish(e));
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  EXPECT_EQ(graph->vertex(1).num_outputs, 1);
}

TEST(GraphErrors, UnknownCap) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  b.Caps(src, {"source.local", "source.local.telepathy"});
  ExpectInvalid(Build(b.Finish(src)), src,
                "unknown capability \"source.local.telepathy\"");
}

TEST(GraphErrors, CapNotSupportedByEngine) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  pb::Op merge;
  DefBuilder::AddInput(&merge, src);
  merge.mutable_merge()->add_inputs()->set_input(0);
  Digest m = b.Add(merge);
  b.Caps(m, {"mergeop"});
  pb::Definition def = b.Finish(m);
  llb::caps::CapSet old_engine = {"source.local"};
  ExpectInvalid(Build(def, {.engine_caps = &old_engine}), m,
                "capability \"mergeop\" is not supported by this engine");
  EXPECT_TRUE(Build(def).ok());  // every cap kiln knows
  // The terminal's caps are checked as well.
  DefBuilder t;
  Digest s = t.Add(Source("local://ctx"));
  pb::Definition terminal_caps = t.Finish(s);
  (*(*terminal_caps.mutable_metadata())[t.terminal().str()]
        .mutable_caps())["constraints"] = true;
  ExpectInvalid(
      Build(terminal_caps, {.engine_caps = &old_engine}), t.terminal(),
      "(terminal): capability \"constraints\" is not supported by this engine");
}

TEST(GraphErrors, ExecWithoutArgs) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  Digest e = b.Add(Exec(src, {}));
  ExpectInvalid(Build(b.Finish(e)), e, "exec has no args");
}

TEST(GraphErrors, ExecWithoutRootMount) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  pb::Op exec = Exec(src);
  exec.mutable_exec()->mutable_mounts(0)->set_dest("/work");
  Digest e = b.Add(exec);
  ExpectInvalid(Build(b.Finish(e)), e, "exec has no root mount");
  pb::Op tmpfs_root = Exec(src);
  tmpfs_root.mutable_exec()->mutable_mounts(0)->set_mounttype(pb::TMPFS);
  DefBuilder c;
  c.Add(Source("local://ctx"));
  Digest t = c.Add(tmpfs_root);
  ExpectInvalid(Build(c.Finish(t)), t, "exec root mount is not a bind mount");
}

TEST(GraphErrors, MountInputIndexOutOfRange) {
  DefBuilder b;
  Digest src = b.Add(Source("local://ctx"));
  pb::Op exec = Exec(src);
  pb::Mount* m = exec.mutable_exec()->add_mounts();
  m->set_dest("/src");
  m->set_input(1);
  m->set_output(-1);
  m->set_readonly(true);
  Digest e = b.Add(exec);
  ExpectInvalid(Build(b.Finish(e)), e,
                "mount 1 (dest \"/src\") has input index 1 out of range (the "
                "op has 1 inputs)");
}

TEST(GraphErrors, FileActionReferencesOutOfRange) {
  struct Case {
    const char* field;
    void (*set)(pb::FileAction*);
  };
  const Case cases[] = {
      {"input 5", [](pb::FileAction* a) { a->set_input(5); }},
      {"secondaryInput -2",
       [](pb::FileAction* a) { a->set_secondaryinput(-2); }},
      {"owner user input 9",
       [](pb::FileAction* a) {
         a->mutable_mkdir()
             ->mutable_owner()
             ->mutable_user()
             ->mutable_byname()
             ->set_input(9);
       }},
  };
  for (const Case& c : cases) {
    DefBuilder b;
    Digest src = b.Add(Source("local://ctx"));
    pb::Op op = Mkdir(&src);
    c.set(op.mutable_file()->mutable_actions(0));
    Digest f = b.Add(op);
    ExpectInvalid(Build(b.Finish(f)), f,
                  std::string("file action 0 ") + c.field +
                      " is out of range (the op has 1 inputs and 1 actions: "
                      "valid are -1, 0..1)");
  }
}

TEST(GraphErrors, FileActionsFormACycle) {
  DefBuilder b;
  pb::Op op = Mkdir(nullptr);  // no op inputs: action j is index j
  pb::FileAction* second = op.mutable_file()->add_actions();
  *second = op.file().actions(0);
  op.mutable_file()->mutable_actions(0)->set_input(1);
  op.mutable_file()->mutable_actions(0)->set_output(-1);
  second->set_input(0);
  Digest f = b.Add(op);
  ExpectInvalid(Build(b.Finish(f)), f,
                "file actions form a cycle: action 0 -> action 1 -> action 0");
}

TEST(GraphErrors, FileOutputsNotNumberedFromZero) {
  DefBuilder b;
  pb::Op dup = Mkdir(nullptr);
  *dup.mutable_file()->add_actions() = dup.file().actions(0);
  Digest d = b.Add(dup);
  ExpectInvalid(Build(b.Finish(d)), d,
                "file actions 0 and 1 both have output index 0");
  DefBuilder c;
  pb::Op gap = Mkdir(nullptr);
  *gap.mutable_file()->add_actions() = gap.file().actions(0);
  gap.mutable_file()->mutable_actions(0)->set_output(1);
  gap.mutable_file()->mutable_actions(1)->set_output(-1);
  Digest g = c.Add(gap);
  ExpectInvalid(Build(c.Finish(g)), g, "file op outputs skip index 0");
  DefBuilder e;
  pb::Op big = Mkdir(nullptr);
  big.mutable_file()->mutable_actions(0)->set_output(4);
  Digest o = e.Add(big);
  ExpectInvalid(Build(e.Finish(o)), o,
                "file action 0 has output index 4 out of range");
}

TEST(GraphErrors, FileActionWithoutBody) {
  DefBuilder b;
  pb::Op op = Mkdir(nullptr);
  op.mutable_file()->mutable_actions(0)->clear_mkdir();
  Digest f = b.Add(op);
  ExpectInvalid(Build(b.Finish(f)), f, "file action 0 has no action body");
}

TEST(GraphErrors, MergeDiffBuildPassthroughAndSourceBodies) {
  auto check = [](void (*edit)(pb::Op*), const std::string& reason) {
    DefBuilder b;
    Digest src = b.Add(Source("local://ctx"));
    pb::Op op;
    DefBuilder::AddInput(&op, src);
    edit(&op);
    Digest d = b.Add(op);
    ExpectInvalid(Build(b.Finish(d)), d, reason);
  };
  check([](pb::Op* op) { op->mutable_merge()->add_inputs()->set_input(1); },
        "merge input 0 has input index 1 out of range");
  check([](pb::Op* op) { op->mutable_diff()->mutable_upper()->set_input(-2); },
        "diff upper has input index -2 out of range");
  check([](pb::Op* op) { op->mutable_build()->set_builder(0); },
        "build op has builder 0");
  check([](pb::Op* op) { op->mutable_passthrough()->add_outputs(0); },
        "passthrough op has no id");
  check([](pb::Op* op) { op->mutable_passthrough()->set_id("p"); },
        "passthrough op has no outputs");
  check([](pb::Op* op) { op->mutable_source(); },
        "source has an empty identifier");
}

}  // namespace
}  // namespace kiln::solver
