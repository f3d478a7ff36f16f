// Unit tests of the recipe conversion (Convert) and the syntax decision:
// image config rules, targets and pruning, the context's follow paths,
// run/copy/file ops and mounts.
#include "kiln/recipe/convert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/llb/definition.h"
#include "kiln/recipe/frontend.h"
#include "kiln/recipe/recipe.h"

namespace kiln::recipe {
namespace {

using Json = nlohmann::json;

constexpr char kDigest[] =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

struct Converted {
  ConvertResult result;
  std::vector<pb::Op> ops;
  Json config;
};

ConvertOptions Options(std::vector<std::string>* resolved = nullptr) {
  ConvertOptions o;
  o.target_platform = {.os = "linux", .architecture = "arm64"};
  o.resolve_image = [resolved](std::string_view ref,
                               const llb::Platform&) -> Result<ImageMeta> {
    if (resolved) resolved->push_back(std::string(ref));
    return ImageMeta{std::string(ref), kDigest,
                     R"({"architecture":"amd64","os":"linux","rootfs":{},)"
                     R"("config":{"Env":["PATH=/bin"],"Cmd":["sh"],)"
                     R"("WorkingDir":"/w"}})"};
  };
  return o;
}

Converted ConvertText(std::string_view text,
                      ConvertOptions options = Options()) {
  Converted out;
  Result<Recipe> recipe = LoadRecipe(text, {});
  EXPECT_TRUE(recipe.ok()) << recipe.status().ToString();
  if (!recipe.ok()) return out;
  Result<ConvertResult> r = Convert(*recipe, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  out.result = *r;
  out.config = Json::parse(r->image_config);
  if (r->definition.def_size() == 0) return out;  // scratch: no ops
  auto loaded = llb::LoadDefinition(r->definition);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (loaded.ok()) {
    for (const auto& op : loaded->ops) out.ops.push_back(op.op);
  }
  return out;
}

TEST(RecipeConvert, ImageConfigFromBaseStepsAndSection) {
  Converted c = ConvertText(R"(stages:
  app:
    from: busybox
    steps:
      - env: {A: "1", PATH: /usr/bin}
      - workdir: app
      - user: nobody
image:
  entrypoint: [/bin/app]
  env: {B: "2"}
  labels: {k: v}
  ports: [8080, 53/udp]
  volumes: [/data]
)");
  const Json& cfg = c.config["config"];
  EXPECT_EQ(c.config["architecture"], "arm64");  // the target's platform
  EXPECT_FALSE(c.config.contains("rootfs"));
  EXPECT_EQ(cfg["Env"], Json::array({"PATH=/usr/bin", "A=1", "B=2"}));
  EXPECT_EQ(cfg["WorkingDir"], "/w/app");
  EXPECT_EQ(cfg["User"], "nobody");
  EXPECT_EQ(cfg["Entrypoint"], Json::array({"/bin/app"}));
  EXPECT_FALSE(cfg.contains("Cmd"));  // a new entrypoint drops the base's
  EXPECT_EQ(cfg["Labels"], Json({{"k", "v"}}));
  EXPECT_EQ(cfg["ExposedPorts"],
            Json({{"8080/tcp", Json::object()}, {"53/udp", Json::object()}}));
  EXPECT_EQ(cfg["Volumes"], Json({{"/data", Json::object()}}));
  EXPECT_TRUE(cfg["OnBuild"].is_null());
  EXPECT_EQ(
      c.result.base_image_config.find("\"Cmd\":[\"sh\"]") != std::string::npos,
      true);
  bool pinned = false;
  for (const pb::Op& op : c.ops) {
    if (op.has_source() && op.source().identifier().starts_with("docker-")) {
      EXPECT_EQ(
          op.source().identifier(),
          std::string("docker-image://docker.io/library/busybox@") + kDigest);
      pinned = true;
    }
  }
  EXPECT_TRUE(pinned);
}

TEST(RecipeConvert, ScratchDefaultsAndCmd) {
  Converted c =
      ConvertText("stages:\n  a:\n    from: scratch\nimage:\n  cmd: echo hi\n");
  EXPECT_EQ(c.config["config"]["Env"],
            Json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/"
                         "bin:/sbin:/bin"}));
  EXPECT_EQ(c.config["config"]["Cmd"],
            Json::array({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(c.config["config"]["ArgsEscaped"], true);
  EXPECT_TRUE(c.result.base_image_config.empty());
  EXPECT_TRUE(c.ops.empty());
}

TEST(RecipeConvert, TargetPrunesUnreachableStages) {
  const char* text = R"(stages:
  build:
    from: golang
  other:
    from: alpine
  final:
    from: scratch
    steps:
      - copy: /out
        dest: /out
        from: build
target: final
)";
  std::vector<std::string> resolved;
  Converted c = ConvertText(text, Options(&resolved));
  EXPECT_EQ(resolved,
            std::vector<std::string>{"docker.io/library/golang:latest"});
  resolved.clear();
  ConvertOptions other = Options(&resolved);
  other.target = "other";
  ConvertText(text, other);
  EXPECT_EQ(resolved,
            std::vector<std::string>{"docker.io/library/alpine:latest"});

  Result<Recipe> recipe = LoadRecipe(text, {});
  ASSERT_TRUE(recipe.ok());
  ConvertOptions missing = Options();
  missing.target = "nope";
  Result<ConvertResult> r = Convert(*recipe, missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "target stage nope could not be found");
}

TEST(RecipeConvert, ContextFollowsOnlyCopiedPaths) {
  Converted c = ConvertText(R"(stages:
  a:
    from: busybox
    steps:
      - copy: [src/, go.mod]
        dest: /app/
        exclude: ["*.tmp"]
      - run: make
        mounts:
          - {type: bind, target: /cfg, source: conf}
)");
  bool found = false;
  for (const pb::Op& op : c.ops) {
    if (!op.has_source() || op.source().identifier() != "local://context") {
      continue;
    }
    found = true;
    EXPECT_EQ(op.source().attrs().at("local.followpaths"),
              R"(["conf","go.mod","src"])");
  }
  EXPECT_TRUE(found);
}

TEST(RecipeConvert, RunStepEnvDoesNotPersist) {
  Converted c = ConvertText(R"(stages:
  a:
    from: busybox
    steps:
      - run: [echo, one]
        env: {ONLY: here}
        workdir: /tmp
        user: "1000"
        network: none
        mounts:
          - {type: cache, target: /root/.cache, id: c1, sharing: locked}
          - {type: tmpfs, target: /scratch, size: 1024}
          - {type: secret, id: tok}
      - run: echo two
)");
  std::vector<pb::ExecOp> execs;
  for (const pb::Op& op : c.ops) {
    if (op.has_exec()) execs.push_back(op.exec());
  }
  ASSERT_EQ(execs.size(), 2u);
  const pb::ExecOp* first = &execs[0];
  const pb::ExecOp* second = &execs[1];
  if (first->meta().args(0) != "echo") std::swap(first, second);
  EXPECT_EQ(first->meta().cwd(), "/tmp");
  EXPECT_EQ(first->meta().user(), "1000");
  EXPECT_EQ(first->network(), pb::NetMode::NONE);
  bool has_env = false;
  for (const auto& e : first->meta().env()) has_env |= e == "ONLY=here";
  EXPECT_TRUE(has_env);
  int cache = 0, tmpfs = 0, secret = 0;
  for (const pb::Mount& m : first->mounts()) {
    if (m.mounttype() == pb::MountType::CACHE) {
      ++cache;
      EXPECT_EQ(m.cacheopt().id(), "c1");
      EXPECT_EQ(m.cacheopt().sharing(), pb::CacheSharingOpt::LOCKED);
    }
    if (m.mounttype() == pb::MountType::TMPFS) ++tmpfs;
    if (m.mounttype() == pb::MountType::SECRET) {
      ++secret;
      EXPECT_EQ(m.dest(), "/run/secrets/tok");
    }
  }
  EXPECT_EQ(cache + tmpfs + secret, 3);
  EXPECT_EQ(second->meta().args(2), "echo two");
  EXPECT_EQ(second->meta().cwd(), "/w");
  for (const auto& e : second->meta().env()) EXPECT_NE(e, "ONLY=here");
}

TEST(RecipeConvert, FileSteps) {
  Converted c = ConvertText(R"(stages:
  a:
    from: scratch
    steps:
      - mkdir: /etc/app
        mode: 0700
      - file: /etc/app/conf
        content: "k=v\n"
        mode: "0600"
        owner: "1:2"
      - symlink: /etc/app/link
        target: conf
      - rm: /etc/gone
        allow-not-found: true
)");
  std::vector<std::string> kinds;
  for (const pb::Op& op : c.ops) {
    if (!op.has_file()) continue;
    for (const pb::FileAction& a : op.file().actions()) {
      if (a.has_mkdir()) {
        kinds.push_back("mkdir");
        EXPECT_EQ(a.mkdir().mode(), 0700);
      }
      if (a.has_mkfile()) {
        kinds.push_back("mkfile");
        EXPECT_EQ(a.mkfile().mode(), 0600);
        EXPECT_EQ(a.mkfile().data(), "k=v\n");
        EXPECT_EQ(a.mkfile().owner().user().byid(), 1u);
      }
      if (a.has_symlink()) {
        kinds.push_back("symlink");
        EXPECT_EQ(a.symlink().oldpath(), "conf");
        EXPECT_EQ(a.symlink().newpath(), "/etc/app/link");
      }
      if (a.has_rm()) {
        kinds.push_back("rm");
        EXPECT_TRUE(a.rm().allownotfound());
      }
    }
  }
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"mkdir", "mkfile", "rm", "symlink"}));
}

TEST(RecipeSyntax, DetectAndDecide) {
  EXPECT_EQ(DetectSyntax("# syntax=kiln/yaml-recipe:1\nstages: {}\n"),
            "kiln/yaml-recipe:1");
  EXPECT_EQ(DetectSyntax("\xEF\xBB\xBF#syntax = other/img:2 --flag\n"),
            "other/img:2 --flag");
  EXPECT_EQ(DetectSyntax("stages: {}\n# syntax=x\n"), std::nullopt);
  EXPECT_TRUE(IsSelfReference("kiln/yaml-recipe:1", "1.0.0"));
  EXPECT_TRUE(IsSelfReference("docker.io/kiln/yaml-recipe:1.0", "1.0.0"));
  EXPECT_TRUE(IsSelfReference("kiln/yaml-recipe:1.0.0", "1.0.0"));
  EXPECT_FALSE(IsSelfReference("kiln/yaml-recipe:2", "1.0.0"));
  EXPECT_FALSE(IsSelfReference("kiln/dockerfile:1", "1.0.0"));

  sdk::FrontendOptions opts;
  SyntaxDecision self =
      DecideSyntax(opts, "# syntax=kiln/yaml-recipe:1\n", "1.0.0");
  EXPECT_FALSE(self.forward);
  SyntaxDecision other =
      DecideSyntax(opts, "# syntax=example/recipe:2 x\n", "1.0.0");
  EXPECT_TRUE(other.forward);
  EXPECT_EQ(other.source, "example/recipe:2");
  EXPECT_EQ(other.cmdline, "example/recipe:2 x");
  opts.cmdline = "example/recipe:2 x";  // forwarded already: no loop
  EXPECT_FALSE(
      DecideSyntax(opts, "# syntax=example/recipe:2\n", "1.0.0").forward);
}

}  // namespace
}  // namespace kiln::recipe
