// Graph-level behaviour: merge and diff, de-duplication, op options and
// metadata, the terminal op, engine caps, determinism, op encoding vectors,
// and reading Definitions back (LoadDefinition, DumpOpJson).
#include <gtest/gtest.h>

#include "graph_util.h"
#include "kiln/llb/dump.h"
#include "kiln/llb/encoding.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"

namespace kiln::llb {
namespace {

using testing::Graph;
using testing::MarshalError;
using testing::MarshalOk;

// --- merge ---------------------------------------------------------------

TEST(Merge, InputsInOrderWithoutPlatform) {
  State a = Image("alpine");
  State b = Image("busybox");
  State c = Local("ctx");
  Graph g = MarshalOk(Merge({a, b, c}));
  ASSERT_EQ(g.ops.size(), 5u);
  const pb::Op& op = g.Result();
  ASSERT_TRUE(op.has_merge());
  ASSERT_EQ(op.inputs_size(), 3);
  ASSERT_EQ(op.merge().inputs_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(op.merge().inputs(i).input(), i);
    EXPECT_EQ(op.inputs(i).digest(), g.digests[i].str());
    EXPECT_EQ(op.inputs(i).index(), 0);
  }
  EXPECT_FALSE(op.has_platform());  // merge is not platform specific
  EXPECT_TRUE(op.has_constraints());
  EXPECT_TRUE(g.HasCap(3, "mergeop"));
}

TEST(Merge, ScratchInputsAreDropped) {
  State a = Image("alpine");
  EXPECT_TRUE(Merge({}).IsScratch());
  EXPECT_TRUE(Merge({Scratch(), Scratch()}).IsScratch());
  // One input left: that state itself, no merge op.
  Graph single = MarshalOk(Merge({Scratch(), a, Scratch()}));
  ASSERT_EQ(single.ops.size(), 2u);
  EXPECT_TRUE(single.Result().has_source());

  Graph g = MarshalOk(Merge({Scratch(), a, Scratch(), Image("busybox")}));
  ASSERT_TRUE(g.Result().has_merge());
  EXPECT_EQ(g.Result().merge().inputs_size(), 2);
  EXPECT_EQ(g.Result().merge().inputs(1).input(), 1);
}

TEST(Merge, SameInputTwiceIsOneOpInput) {
  State a = Image("alpine");
  Graph g = MarshalOk(Merge({a, Image("busybox"), a}));
  const pb::Op& op = g.Result();
  ASSERT_EQ(op.merge().inputs_size(), 3);
  // Go's client gives each merge input its own Op input; the digests repeat.
  EXPECT_EQ(op.inputs(0).digest(), op.inputs(2).digest());
  EXPECT_EQ(g.ops.size(), 4u);  // alpine and busybox once each
}

// --- diff ----------------------------------------------------------------

TEST(Diff, LowerAndUpper) {
  State base = Image("alpine");
  State upper = base.File(Mkdir("/x", 0755));
  Graph g = MarshalOk(Diff(base, upper, {.custom_name = "changes"}));
  const pb::Op& op = g.Result();
  ASSERT_TRUE(op.has_diff());
  ASSERT_EQ(op.inputs_size(), 2);
  EXPECT_EQ(op.diff().lower().input(), 0);
  EXPECT_EQ(op.diff().upper().input(), 1);
  EXPECT_EQ(op.inputs(0).digest(), g.digests[0].str());
  EXPECT_EQ(op.inputs(1).digest(), g.digests[1].str());
  EXPECT_FALSE(op.has_platform());
  EXPECT_TRUE(g.HasCap(2, "diffop"));
  EXPECT_EQ(g.ResultMetadata().description().at("llb.customname"), "changes");
}

TEST(Diff, ScratchSides) {
  State x = Image("alpine");
  // Everything in x is a change from nothing: Diff(scratch, x) is x.
  Graph same = MarshalOk(Diff(Scratch(), x));
  ASSERT_EQ(same.ops.size(), 2u);
  EXPECT_TRUE(same.Result().has_source());
  EXPECT_TRUE(Diff(Scratch(), Scratch()).IsScratch());

  // Diff(x, scratch): deletions only; the upper side is "no input".
  Graph g = MarshalOk(Diff(x, Scratch()));
  ASSERT_TRUE(g.Result().has_diff());
  EXPECT_EQ(g.Result().inputs_size(), 1);
  EXPECT_EQ(g.Result().diff().lower().input(), 0);
  EXPECT_EQ(g.Result().diff().upper().input(), -1);
}

// --- whole graph -----------------------------------------------------------

TEST(Graph, ScratchMarshalsToEmptyDefinition) {
  auto def = Scratch().Marshal();
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->def_size(), 0);
  EXPECT_TRUE(def->metadata().empty());
  EXPECT_EQ(SerializeDefinition(*def), "");
}

TEST(Graph, IdenticalOpsAppearOnce) {
  // Two separately built but identical chains share every op.
  auto chain = [] {
    return Image("busybox").Run({.args = {"echo", "hi"}}).Root();
  };
  State left = chain();
  State right = chain();
  Graph g = MarshalOk(Merge({left, right.File(Mkdir("/out", 0755))}));
  // busybox, exec, mkdir, merge, terminal.
  ASSERT_EQ(g.ops.size(), 5u);
  EXPECT_EQ(g.Result().inputs(0).digest(), g.digests[1].str());
  EXPECT_EQ(g.ops[2].inputs(0).digest(), g.digests[1].str());
  std::set<std::string> unique;
  for (const Digest& d : g.digests) unique.insert(d.str());
  EXPECT_EQ(unique.size(), g.digests.size());
}

TEST(Graph, InputsComeBeforeUsers) {
  State a = Image("alpine").Run({.args = {"a"}}).Root();
  State b = Image("busybox").Run({.args = {"b"}}).Root();
  Graph g = MarshalOk(Merge({a, b}).File(Mkfile("/f", 0644, "x")));
  for (size_t i = 0; i < g.ops.size(); ++i) {
    for (const auto& in : g.ops[i].inputs()) {
      int at = g.IndexOf(in.digest());
      ASSERT_GE(at, 0);
      EXPECT_LT(static_cast<size_t>(at), i) << "op " << i << " uses a later op";
    }
  }
}

TEST(Graph, TerminalOpAndItsCaps) {
  State s = Image("alpine", {.op = {.ignore_cache = true}})
                .File(Mkdir("/x", 0755),
                      {.description = {{"k", "v"}}, .export_cache = false});
  Graph g = MarshalOk(s);
  ASSERT_EQ(g.ops.size(), 3u);
  const pb::Op& terminal = g.ops.back();
  EXPECT_EQ(OpKind(terminal), "terminal");
  ASSERT_EQ(terminal.inputs_size(), 1);
  EXPECT_EQ(terminal.inputs(0).digest(), g.digests[1].str());
  EXPECT_EQ(terminal.inputs(0).index(), 0);
  EXPECT_FALSE(terminal.has_platform());
  EXPECT_FALSE(terminal.has_constraints());
  testing::ExpectCaps(g, 2,
                      {"constraints", "platform", "meta.ignorecache",
                       "meta.description", "meta.exportcache"});
  // Only what some op uses.
  Graph plain = MarshalOk(Image("alpine"));
  EXPECT_EQ(plain.Metadata(1).caps().size(), 2u);
}

TEST(Graph, TerminalPointsAtTheChosenOutput) {
  State ctx = Local("ctx");
  ExecState e = Image("busybox").Run(
      {.args = {"make"},
       .mounts = {Mount::Bind("/out", Scratch()), Mount::Bind("/src", ctx)}});
  auto out = e.GetMount("/out");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Graph g = MarshalOk(*out);
  const pb::Op& terminal = g.ops.back();
  const pb::ExecOp& exec = g.Result().exec();
  int64_t want = -1;
  for (const auto& m : exec.mounts()) {
    if (m.dest() == "/out") want = m.output();
  }
  ASSERT_GE(want, 0);
  EXPECT_EQ(terminal.inputs(0).index(), want);
}

TEST(Graph, OpMetadataFromOptions) {
  SourceLocation unused;  // no file: ignored
  OpOptions o{.custom_name = "fetch",
              .description = {{"com.example.k", "v"}},
              .ignore_cache = true,
              .export_cache = true,
              .progress_group = ProgressGroup{"g1", "Group one", true},
              .source_locations = {unused}};
  Graph g = MarshalOk(Image("alpine", {.op = o}));
  const pb::OpMetadata& md = g.ResultMetadata();
  EXPECT_TRUE(md.ignore_cache());
  EXPECT_EQ(md.description().at("llb.customname"), "fetch");
  EXPECT_EQ(md.description().at("com.example.k"), "v");
  ASSERT_TRUE(md.has_export_cache());
  EXPECT_TRUE(md.export_cache().value());
  EXPECT_EQ(md.progress_group().id(), "g1");
  EXPECT_EQ(md.progress_group().name(), "Group one");
  EXPECT_TRUE(md.progress_group().weak());
  // Like the Go client, Definition.source is always set; nothing located.
  EXPECT_TRUE(g.def.source().infos().empty());
  EXPECT_TRUE(g.def.source().locations().empty());

  // Metadata does not change the op's digest.
  EXPECT_EQ(g.digests[0], MarshalOk(Image("alpine")).digests[0]);
}

TEST(Graph, MarshalOptionsApplyToEveryOp) {
  MarshalOptions o = testing::Amd64();
  o.worker_filters = {"labels.a==1"};
  o.ignore_cache = true;
  State s = Image("alpine", {.op = {.worker_filters = {"labels.b==2"}}})
                .Run({.args = {"true"}})
                .Root();
  Graph g = MarshalOk(s, o);
  ASSERT_EQ(g.ops.size(), 3u);
  const auto& src = g.ops[0].constraints();
  ASSERT_EQ(src.filter_size(), 2);
  EXPECT_EQ(src.filter(0), "labels.a==1");
  EXPECT_EQ(src.filter(1), "labels.b==2");
  ASSERT_EQ(g.ops[1].constraints().filter_size(), 1);
  EXPECT_TRUE(g.Metadata(0).ignore_cache());
  EXPECT_TRUE(g.Metadata(1).ignore_cache());
  EXPECT_TRUE(g.HasCap(2, "meta.ignorecache"));
}

TEST(Graph, PlatformPrecedence) {
  Platform arm{"linux", "arm64", "v8", "", {}};
  Platform win{"windows", "amd64", "", "10.0.20348.1", {"win32k"}};
  // MarshalOptions.platform is the default …
  MarshalOptions o;
  o.platform = arm;
  Graph g = MarshalOk(Image("alpine"), o);
  EXPECT_EQ(g.Result().platform().architecture(), "arm64");
  EXPECT_EQ(g.Result().platform().variant(), "v8");
  // … an op's own platform wins and is written in full …
  Graph w = MarshalOk(Image("alpine", {.op = {.platform = win}}), o);
  const pb::Platform& p = w.Result().platform();
  EXPECT_EQ(p.os(), "windows");
  EXPECT_EQ(p.osversion(), "10.0.20348.1");
  ASSERT_EQ(p.osfeatures_size(), 1);
  EXPECT_EQ(p.osfeatures(0), "win32k");
  // … and a state's platform carries to the ops built on it.
  State on_arm = Image("alpine").WithPlatform(arm);
  Graph run = MarshalOk(on_arm.Run({.args = {"true"}}));
  EXPECT_EQ(run.Result().platform().architecture(), "arm64");
}

TEST(Graph, SourceLocationsBecomeDefinitionSource) {
  auto file = std::make_shared<SourceFile>(SourceFile{
      "Dockerfile", "Dockerfile", "FROM alpine\nRUN true\n", nullptr});
  auto file_copy =
      std::make_shared<SourceFile>(*file);  // equal content: same info
  auto other = std::make_shared<SourceFile>(
      SourceFile{"recipe.yaml", "YAML", "a: b\n", nullptr});
  SourceLocation from{file, {{{1, 0}, {1, 0}}}};
  SourceLocation run{file_copy, {{{2, 1}, {2, 9}}, {{3, 0}, {3, 0}}}};
  SourceLocation yaml{other, {{{1, 0}, {1, 4}}}};
  State s =
      Image("alpine", {.op = {.source_locations = {from}}})
          .Run({.args = {"true"}, .op = {.source_locations = {run, yaml}}})
          .Root();
  Graph g = MarshalOk(s);
  const pb::Source& src = g.def.source();
  ASSERT_EQ(src.infos_size(), 2);
  EXPECT_EQ(src.infos(0).filename(), "Dockerfile");
  EXPECT_EQ(src.infos(0).language(), "Dockerfile");
  EXPECT_EQ(src.infos(0).data(), "FROM alpine\nRUN true\n");
  EXPECT_EQ(src.infos(1).filename(), "recipe.yaml");

  const pb::Locations& image_locs = src.locations().at(g.digests[0].str());
  ASSERT_EQ(image_locs.locations_size(), 1);
  EXPECT_EQ(image_locs.locations(0).sourceindex(), 0);
  EXPECT_EQ(image_locs.locations(0).ranges(0).start().line(), 1);

  const pb::Locations& run_locs = src.locations().at(g.digests[1].str());
  ASSERT_EQ(run_locs.locations_size(), 2);
  EXPECT_EQ(run_locs.locations(0).sourceindex(), 0);
  ASSERT_EQ(run_locs.locations(0).ranges_size(), 2);
  EXPECT_EQ(run_locs.locations(0).ranges(0).start().character(), 1);
  EXPECT_EQ(run_locs.locations(0).ranges(0).end().character(), 9);
  EXPECT_EQ(run_locs.locations(1).sourceindex(), 1);
  EXPECT_FALSE(src.locations().contains(g.digests[2].str()));  // terminal
}

TEST(Graph, EngineCapsRejectUnsupportedOps) {
  caps::CapSet no_diff = caps::AllLlbCaps();
  no_diff.erase(std::string(caps::kDiffOp));
  MarshalOptions o = testing::Amd64();
  o.engine_caps = &no_diff;
  State base = Image("alpine");
  MarshalOk(Merge({base, Image("busybox")}), o);
  Status s = MarshalError(Diff(base, base.File(Mkdir("/x", 0755))), o);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("\"diffop\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("sha256:"), std::string::npos) << s.message();
}

TEST(Graph, MarshalIsDeterministic) {
  auto build = [] {
    State ctx = Local("ctx", {.include_patterns = {"b", "a"}});
    RunOptions r{.args = {"sh", "-c", "make"}};
    r.mounts.push_back(Mount::Bind("/src", ctx).Readonly());
    r.mounts.push_back(
        Mount::Cache("/root/.cache", "c", CacheSharing::kLocked));
    return Image("debian:12")
        .AddEnv("Z", "1")
        .AddEnv("A", "2")
        .Run(r)
        .Root()
        .File(Copy(ctx, "/a", "/b", {.include_patterns = {"*.c"}}),
              {.description = {{"z", "1"}, {"a", "2"}}});
  };
  auto first = build().Marshal(testing::Amd64());
  auto second = build().Marshal(testing::Amd64());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(SerializeDefinition(*first), SerializeDefinition(*second));
  // And again through the same State object.
  State s = build();
  EXPECT_EQ(SerializeDefinition(*s.Marshal(testing::Amd64())),
            SerializeDefinition(*s.Marshal(testing::Amd64())));
}

// --- op encoding vectors (reference/llb.md §5) ----------------------------

std::string Hex(const std::string& bytes) { return HexEncode(bytes); }

TEST(OpEncoding, UpstreamGogoVector) {
  pb::Op source;
  source.mutable_source()->set_identifier(
      "docker-image://docker.io/library/busybox:latest");
  for (OpEncoding enc : {OpEncoding::kProtobufGo, OpEncoding::kFieldNumber}) {
    std::string bytes = MarshalOp(source, enc);
    EXPECT_EQ(Hex(bytes.substr(0, 4)), "1a310a2f");
    EXPECT_EQ(
        Digest::FromBytes(bytes).str(),
        "sha256:"
        "74ecb5d790c33a213ba00f8f43d62947df1d4dea72f5ec13353a9b943f469f0f");
  }
  pb::Op terminal;
  terminal.add_inputs()->set_digest(
      "sha256:"
      "74ecb5d790c33a213ba00f8f43d62947df1d4dea72f5ec13353a9b943f469f0f");
  std::string bytes = MarshalOp(terminal, OpEncoding::kProtobufGo);
  EXPECT_EQ(Hex(bytes.substr(0, 4)), "0a490a47");
  EXPECT_EQ(Digest::FromBytes(bytes).str(),
            "sha256:"
            "fdd990931001ae92f1971673ff21204ef6a5ccc8c1a4dd133d8f0f9bff67a3c2");
}

TEST(OpEncoding, OneofLastInProtobufGo) {
  pb::Op op;
  op.mutable_source()->set_identifier(
      "docker-image://docker.io/library/alpine:latest");
  op.mutable_platform()->set_architecture("amd64");
  op.mutable_platform()->set_os("linux");
  op.mutable_constraints();
  std::string go = MarshalOp(op, OpEncoding::kProtobufGo);
  std::string gogo = MarshalOp(op, OpEncoding::kFieldNumber);
  EXPECT_EQ(Hex(go.substr(0, 4)), "520e0a05");
  EXPECT_EQ(Hex(gogo.substr(0, 4)), "1a300a2e");
  // The pointer overload leaves the op as it was.
  pb::Op copy = op;
  EXPECT_EQ(MarshalOp(&copy, OpEncoding::kProtobufGo), go);
  EXPECT_EQ(copy.SerializeAsString(), op.SerializeAsString());
  // Both decode to the same message.
  pb::Op a, b;
  ASSERT_TRUE(a.ParseFromString(go));
  ASSERT_TRUE(b.ParseFromString(gogo));
  EXPECT_EQ(SerializeDeterministic(a), SerializeDeterministic(b));
}

// --- LoadDefinition and dumps --------------------------------------------

pb::Definition DefOf(const State& s) { return MarshalOk(s).def; }

TEST(LoadDefinition, AcceptsBuilderOutputAndDedupes) {
  pb::Definition def = DefOf(Image("alpine").Run({.args = {"true"}}).Root());
  std::string first = def.def(0);
  def.mutable_def()->Add(std::string(first));  // a duplicate entry …
  std::swap(*def.mutable_def(def.def_size() - 1),
            *def.mutable_def(def.def_size() - 2));
  auto loaded = LoadDefinition(def);  // … before the terminal
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->ops.size(), 3u);
  EXPECT_EQ(OpKind(loaded->terminal().op), "terminal");
  EXPECT_EQ(OpKind(loaded->ops[0].op), "source");
  EXPECT_EQ(OpKind(loaded->ops[1].op), "exec");
  EXPECT_NE(loaded->Metadata(loaded->ops[0].digest), nullptr);
  EXPECT_EQ(loaded->Metadata(Digest::FromBytes("nothing")), nullptr);
}

TEST(LoadDefinition, RejectsBadStructure) {
  auto expect_error = [](const pb::Definition& def, const std::string& needle) {
    auto loaded = LoadDefinition(def);
    ASSERT_FALSE(loaded.ok()) << "accepted; wanted error containing " << needle;
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(loaded.status().message().find(needle), std::string::npos)
        << loaded.status().message();
  };
  pb::Definition good = DefOf(Image("alpine").Run({.args = {"true"}}).Root());
  std::string exec_digest = Digest::FromBytes(good.def(1)).str();

  expect_error(pb::Definition(), "empty");

  pb::Definition undecodable = good;
  undecodable.set_def(1, std::string("\xff\xff\xff", 3));
  expect_error(undecodable, Digest::FromBytes(undecodable.def(1)).str());

  // The exec's input names an op that is not there.
  pb::Definition dangling = good;
  dangling.mutable_def()->DeleteSubrange(0, 1);
  expect_error(dangling, exec_digest);

  pb::Definition negative = good;
  pb::Op exec;
  ASSERT_TRUE(exec.ParseFromString(good.def(1)));
  exec.mutable_inputs(0)->set_index(-1);
  negative.set_def(1, MarshalOp(exec, OpEncoding::kProtobufGo));
  pb::Op term;
  term.add_inputs()->set_digest(Digest::FromBytes(negative.def(1)).str());
  negative.set_def(2, MarshalOp(term, OpEncoding::kProtobufGo));
  expect_error(negative, Digest::FromBytes(negative.def(1)).str());

  pb::Definition no_terminal = good;
  no_terminal.mutable_def()->RemoveLast();
  expect_error(no_terminal, "terminal");
}

TEST(Dump, MissingMetadataAndEscaping) {
  pb::Op op;
  op.mutable_source()->set_identifier("local://<ctx>&");
  LoadedOp loaded{Digest::FromBytes("x"), "", op};
  std::string line = DumpOpJson(loaded, nullptr);
  EXPECT_NE(line.find(R"("OpMetadata":{"caps":null})"), std::string::npos)
      << line;
  EXPECT_NE(line.find(R"(local://\u003cctx\u003e\u0026)"), std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Dump, OneofZeroValues) {
  // A oneof member at its zero value is present on the wire but Go's JSON
  // omits it inside the wrapper (omitempty); input indexes are never omitted.
  pb::UserOpt by_id;
  by_id.set_byid(0);
  EXPECT_EQ(MessageToGoJson(by_id), R"({"User":{}})");
  by_id.set_byid(1000);
  EXPECT_EQ(MessageToGoJson(by_id), R"({"User":{"byID":1000}})");
  pb::UserOpt named;
  named.mutable_byname()->set_name("app");
  EXPECT_EQ(MessageToGoJson(named),
            R"({"User":{"byName":{"name":"app","input":0}}})");
}

}  // namespace
}  // namespace kiln::llb
