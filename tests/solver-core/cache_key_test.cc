// Cache keys: the exact v1 encoding, what changes a key and what does not.
#include "kiln/solver/cache_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
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

Graph Load(const pb::Definition& def) {
  auto loaded = llb::LoadDefinition(def);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto graph = BuildGraph(*loaded);
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  return std::move(*graph);
}

Graph Load(const llb::State& state) {
  auto def = state.Marshal();
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  return Load(*def);
}

std::vector<Digest> Keys(const Graph& graph,
                         const ContentChecksumFn& checksum = {}) {
  auto keys = ComputeCacheKeys(graph, checksum);
  EXPECT_TRUE(keys.ok()) << keys.status().ToString();
  return keys.ok() ? *keys : std::vector<Digest>{};
}

// The key of the vertex whose display name is `name`.
Digest KeyOf(const Graph& graph, const std::vector<Digest>& keys,
             const std::string& name) {
  for (int i = 0; i < graph.size(); ++i) {
    if (graph.vertex(i).name == name) return keys[static_cast<size_t>(i)];
  }
  ADD_FAILURE() << "no vertex named " << name;
  return {};
}

// A Definition of: source → exec, the source encoded as asked.
pb::Definition SourceAndExec(llb::OpEncoding source_encoding,
                             bool with_proxy = false) {
  pb::Op source;
  source.mutable_source()->set_identifier(
      "docker-image://docker.io/library/alpine:3.20");
  source.mutable_platform()->set_os("linux");
  source.mutable_platform()->set_architecture("amd64");
  source.mutable_constraints();
  pb::Definition def;
  def.add_def(llb::MarshalOp(source, source_encoding));
  pb::Op exec;
  pb::Input* in = exec.add_inputs();
  in->set_digest(Digest::FromBytes(def.def(0)).str());
  exec.mutable_exec()->mutable_meta()->add_args("make");
  if (with_proxy)
    exec.mutable_exec()->mutable_meta()->mutable_proxy_env()->set_http_proxy(
        "p:1");
  pb::Mount* root = exec.mutable_exec()->add_mounts();
  root->set_dest("/");
  root->set_output(0);
  def.add_def(llb::MarshalOp(exec, llb::OpEncoding::kProtobufGo));
  pb::Op terminal;
  terminal.add_inputs()->set_digest(Digest::FromBytes(def.def(1)).str());
  def.add_def(llb::MarshalOp(terminal, llb::OpEncoding::kProtobufGo));
  return def;
}

TEST(CacheKey, ExactV2EncodingOfASource) {
  pb::Definition def;
  pb::Op source;
  source.mutable_source()->set_identifier(
      "docker-image://docker.io/library/busybox:latest");
  def.add_def(llb::MarshalOp(source, llb::OpEncoding::kProtobufGo));
  pb::Op terminal;
  terminal.add_inputs()->set_digest(Digest::FromBytes(def.def(0)).str());
  def.add_def(llb::MarshalOp(terminal, llb::OpEncoding::kProtobufGo));
  Graph graph = Load(def);
  const std::string op_bytes =
      std::string("\x1a\x31\x0a\x2f", 4) +
      "docker-image://docker.io/library/busybox:latest";
  EXPECT_EQ(CacheKeyEncoding(graph.vertex(0), {}),
            "kiln-cachekey-v2\nop 51\n" + op_bytes + "\ninputs 0\n");
  // sha256 of the line above, computed independently (Python hashlib).
  EXPECT_EQ(Keys(graph)[0].str(),
            "sha256:"
            "bbd998c1aee4aab39c58464fb0a4a5fae1a9b4a5dda7f4bd6581fa95aafdf418");
}

TEST(CacheKey, EncodingListsInputKeysOutputsAndChecksums) {
  Graph graph = Load(SourceAndExec(llb::OpEncoding::kProtobufGo));
  std::vector<Digest> keys = Keys(graph);
  const Vertex& exec = graph.vertex(1);
  std::string plain = CacheKeyEncoding(exec, {&keys[0], 1});
  EXPECT_THAT(plain, HasSubstr("\ninputs 1\n" + keys[0].str() + " 0\n"));
  EXPECT_EQ(plain.find(graph.vertex(0).digest.str()),
            std::string::npos);  // no input digest
  Digest sum = Digest::FromBytes("content");
  std::string with_sum = CacheKeyEncoding(exec, {&keys[0], 1}, {&sum, 1});
  // A checksummed input is named by its content alone.
  EXPECT_THAT(with_sum, HasSubstr("\ninputs 1\ncontent " + sum.str() + "\n"));
  EXPECT_EQ(with_sum.find(keys[0].str()), std::string::npos);
  EXPECT_EQ(VertexCacheKey(exec, {&keys[0], 1}), Digest::FromBytes(plain));
  EXPECT_EQ(keys[1], Digest::FromBytes(plain));
}

TEST(CacheKey, IdenticalGraphsGiveIdenticalKeys) {
  auto build = [] {
    llb::State base = llb::Image("alpine:3.20");
    llb::State built = base.Run({.args = {"make"}}).Root();
    return llb::Merge(
        {built.File(llb::Mkdir("/out", 0755)), llb::Local("ctx")});
  };
  std::vector<Digest> a = Keys(Load(build()));
  std::vector<Digest> b = Keys(Load(build()));
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::set<Digest>(a.begin(), a.end()).size(),
            a.size());  // all distinct
  for (const Digest& k : a) EXPECT_EQ(k.algorithm(), "sha256");
}

TEST(CacheKey, MetadataIsNotPartOfTheKeyButIgnoreCacheIsExposed) {
  auto build = [](llb::OpOptions op) {
    return llb::Image("alpine:3.20")
        .Run({.args = {"make"}, .op = std::move(op)})
        .Root();
  };
  Graph plain = Load(build({}));
  Graph named = Load(
      build({.custom_name = "[2/3] RUN make",
             .description = {{"com.docker.dockerfile.v1.command", "RUN make"}},
             .ignore_cache = true,
             .progress_group = llb::ProgressGroup{"g", "group", false}}));
  EXPECT_EQ(named.vertex(1).name, "[2/3] RUN make");
  EXPECT_TRUE(named.vertex(1).ignore_cache());
  EXPECT_FALSE(plain.vertex(1).ignore_cache());
  EXPECT_EQ(Keys(plain), Keys(named));
}

TEST(CacheKey, ChangingAnInputChangesEveryDependantOnly) {
  auto build = [](const std::string& tag) {
    llb::State base = llb::Image("alpine:" + tag);
    llb::State step =
        base.Run({.args = {"a"}}).Root().Run({.args = {"b"}}).Root();
    return llb::Merge({step, llb::Local("ctx")});
  };
  Graph g19 = Load(build("3.19"));
  Graph g20 = Load(build("3.20"));
  std::vector<Digest> k19 = Keys(g19), k20 = Keys(g20);
  EXPECT_EQ(KeyOf(g19, k19, "local://ctx"), KeyOf(g20, k20, "local://ctx"));
  for (const char* name : {"a", "b"})
    EXPECT_NE(KeyOf(g19, k19, name), KeyOf(g20, k20, name));
  EXPECT_NE(k19.back(), k20.back());  // the merge
}

TEST(CacheKey, ReencodedInputKeepsTheKey) {
  Graph go = Load(SourceAndExec(llb::OpEncoding::kProtobufGo));
  Graph gogo = Load(SourceAndExec(llb::OpEncoding::kFieldNumber));
  // Different bytes, hence different digests for both ops…
  EXPECT_NE(go.vertex(0).digest, gogo.vertex(0).digest);
  EXPECT_NE(go.vertex(1).digest, gogo.vertex(1).digest);
  // …but the same ops, hence the same keys.
  EXPECT_EQ(Keys(go), Keys(gogo));
}

TEST(CacheKey, ProxyEnvIsLeftOutPlatformIsIn) {
  Graph plain = Load(SourceAndExec(llb::OpEncoding::kProtobufGo));
  Graph proxied =
      Load(SourceAndExec(llb::OpEncoding::kProtobufGo, /*with_proxy=*/true));
  EXPECT_NE(plain.vertex(1).digest, proxied.vertex(1).digest);
  EXPECT_EQ(Keys(plain), Keys(proxied));

  auto on = [](const char* arch) {
    llb::MarshalOptions o;
    o.platform = llb::Platform{"linux", arch, "", "", {}};
    return Load(llb::Image("alpine:3.20")
                    .Run({.args = {"make"}})
                    .Root()
                    .Marshal(o)
                    .value());
  };
  EXPECT_NE(Keys(on("amd64")).back(), Keys(on("arm64")).back());
}

TEST(CacheKey, OutputIndexIsPartOfTheKey) {
  llb::ExecState run =
      llb::Image("alpine:3.20")
          .Run({.args = {"make"},
                .mounts = {llb::Mount::Bind("/out", llb::Scratch())}});
  Graph from_root = Load(run.Root().File(llb::Mkdir("/x", 0755)));
  Graph from_out =
      Load(run.GetMount("/out").value().File(llb::Mkdir("/x", 0755)));
  EXPECT_EQ(Keys(from_root)[1], Keys(from_out)[1]);  // the exec itself
  EXPECT_NE(Keys(from_root).back(), Keys(from_out).back());
}

TEST(CacheKey, ContentChecksumChangesThatVertexAndDependantsOnly) {
  llb::State base = llb::Image("alpine:3.20");
  llb::State copied =
      base.File(llb::Copy(llb::Local("ctx"), "/app.c", "/src/"));
  llb::State built = copied.Run({.args = {"cc", "/src/app.c"}}).Root();
  llb::State sibling = base.Run({.args = {"apk", "add", "make"}}).Root();
  Graph graph = Load(llb::Merge({built, sibling}));
  std::string content = "int main() {}";
  // Only the copy reads particular content: input 1, its source.
  ContentChecksumFn checksum = [&](const Vertex& v,
                                   int input) -> Result<Digest> {
    if (v.op.has_file() && input == 1) return Digest::FromBytes(content);
    return Digest();
  };
  std::vector<Digest> none = Keys(graph);
  std::vector<Digest> before = Keys(graph, checksum);
  content = "int main() { return 1; }";
  std::vector<Digest> after = Keys(graph, checksum);
  for (const char* name : {"docker-image://docker.io/library/alpine:3.20",
                           "local://ctx", "apk add make"}) {
    EXPECT_EQ(KeyOf(graph, before, name), KeyOf(graph, after, name)) << name;
    EXPECT_EQ(KeyOf(graph, none, name), KeyOf(graph, after, name)) << name;
  }
  for (const char* name : {"copy /app.c /src/", "cc /src/app.c"}) {
    EXPECT_NE(KeyOf(graph, before, name), KeyOf(graph, after, name)) << name;
    EXPECT_NE(KeyOf(graph, none, name), KeyOf(graph, before, name)) << name;
  }
  EXPECT_NE(before.back(), after.back());
}

TEST(CacheKey, ChecksummedInputReplacesTheInputKey) {
  // Two different local sources (different attrs, so different keys) whose
  // copied path has the same content give the same copy key.
  llb::State a = llb::Scratch().File(
      llb::Copy(llb::Local("ctx", {.exclude_patterns = {"x"}}), "/f", "/f"));
  llb::State b = llb::Scratch().File(
      llb::Copy(llb::Local("ctx", {.exclude_patterns = {"y"}}), "/f", "/f"));
  ContentChecksumFn same = [](const Vertex& v, int input) -> Result<Digest> {
    if (v.op.has_file() && input == 0) return Digest::FromBytes("content");
    return Digest();
  };
  std::vector<Digest> ka = Keys(Load(a), same);
  std::vector<Digest> kb = Keys(Load(b), same);
  EXPECT_NE(ka.front(), kb.front());  // the local sources differ
  EXPECT_EQ(ka.back(), kb.back());    // the copies do not
  EXPECT_NE(Keys(Load(a)).back(), Keys(Load(b)).back());  // without checksums
}

TEST(CacheKey, ChecksumErrorNamesTheVertexAndInput) {
  Graph graph = Load(SourceAndExec(llb::OpEncoding::kProtobufGo));
  auto keys = ComputeCacheKeys(graph, [](const Vertex&, int) -> Result<Digest> {
    return NotFoundError("/src/app.c: no such file");
  });
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(keys.status().message(),
              HasSubstr("content checksum of input 0 of op " +
                        graph.vertex(1).digest.str() +
                        " (\"make\"): /src/app.c: no such file"));
}

}  // namespace
}  // namespace kiln::solver
