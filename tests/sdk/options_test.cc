// OptionsFromEnv on fake environments: every typed key, defaults, errors.
#include "kiln/sdk/options.h"

#include <gtest/gtest.h>

#include "support/fake_env.h"

namespace kiln::sdk {
namespace {

using testing::FakeEnv;

TEST(OptionsTest, DefaultsWithNoOpts) {
  FakeEnv env({}, {"PATH=/bin", "HOME=/root"});
  Result<FrontendOptions> o = OptionsFromEnv(env.envp());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->opts.empty());
  EXPECT_EQ(o->filename, "Dockerfile");
  EXPECT_EQ(o->dockerfile_key, "dockerfile");
  EXPECT_EQ(o->context_key, "context");
  EXPECT_TRUE(o->platforms.empty());
  EXPECT_FALSE(o->multi_platform);
  EXPECT_FALSE(o->no_cache_all);
  EXPECT_FALSE(o->cmdline.has_value());
  EXPECT_EQ(OptionsFromEnv(nullptr).ok(), true);
}

TEST(OptionsTest, EveryTypedKey) {
  FakeEnv env(
      {"build-arg:VERSION=1.2=3", "build-arg:EMPTY=", "label:org.title=kiln",
       "context:alpine=docker-image://mirror/alpine@sha256:aa",
       "context:base::linux/arm64=local:base-arm", "target=release",
       "platform=linux/amd64, linux/arm64/v8", "no-cache=build,test",
       "filename=ci/Dockerfile.ci", "dockerfilekey=df", "contextkey=ctx",
       "image-resolve-mode=pull", "requestid=frontend.outline",
       "cmdline=docker/dockerfile:1 --flag", "source=docker/dockerfile:1",
       "frontend.caps=moby.buildkit.frontend.inputs,"
       "moby.buildkit.frontend.contexts+forward",
       "cache-imports=[{\"Type\":\"local\"}]"},
      {"BUILDKIT_SESSION_ID=sess-1", "BUILDKIT_EXPORTEDPRODUCT=kiln"});
  Result<FrontendOptions> o = OptionsFromEnv(env.envp());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->build_args.at("VERSION"), "1.2=3");  // split at the first '='
  EXPECT_EQ(o->build_args.at("EMPTY"), "");
  EXPECT_EQ(o->labels.at("org.title"), "kiln");
  EXPECT_EQ(o->named_contexts.at("alpine"),
            "docker-image://mirror/alpine@sha256:aa");
  EXPECT_EQ(o->named_contexts.at("base::linux/arm64"), "local:base-arm");
  EXPECT_EQ(o->target, "release");
  ASSERT_EQ(o->platforms.size(), 2u);
  EXPECT_EQ(llb::FormatPlatform(o->platforms[0]), "linux/amd64");
  EXPECT_EQ(llb::FormatPlatform(o->platforms[1]), "linux/arm64");
  EXPECT_TRUE(o->multi_platform);  // several platforms
  EXPECT_FALSE(o->no_cache_all);
  EXPECT_EQ(o->no_cache_stages, (std::vector<std::string>{"build", "test"}));
  EXPECT_EQ(o->filename, "ci/Dockerfile.ci");
  EXPECT_EQ(o->dockerfile_key, "df");
  EXPECT_EQ(o->context_key, "ctx");
  EXPECT_EQ(o->image_resolve_mode, "pull");
  EXPECT_EQ(o->request_id, "frontend.outline");
  EXPECT_EQ(o->cmdline, "docker/dockerfile:1 --flag");
  EXPECT_EQ(o->source, "docker/dockerfile:1");
  EXPECT_EQ(o->frontend_caps, (std::vector<std::string>{
                                  "moby.buildkit.frontend.inputs",
                                  "moby.buildkit.frontend.contexts+forward"}));
  EXPECT_EQ(o->opts.at("cache-imports"), "[{\"Type\":\"local\"}]");
  EXPECT_EQ(o->opts.size(), 17u);
  EXPECT_EQ(o->session_id, "sess-1");
  EXPECT_EQ(o->exported_product, "kiln");
}

TEST(OptionsTest, NoCacheEmptyMeansEveryStage) {
  FakeEnv env({"no-cache="});
  Result<FrontendOptions> o = OptionsFromEnv(env.envp());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->no_cache_all);
  EXPECT_TRUE(o->no_cache_stages.empty());
}

TEST(OptionsTest, NamedContextPrefersThePlatformKey) {
  FakeEnv env({"context:alpine=docker-image://a",
               "context:alpine::linux/arm64=docker-image://b"});
  Result<FrontendOptions> o = OptionsFromEnv(env.envp());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  llb::Platform arm{.os = "linux", .architecture = "arm64", .variant = ""};
  llb::Platform amd{.os = "linux", .architecture = "amd64", .variant = ""};
  EXPECT_EQ(o->NamedContext("alpine", arm), "docker-image://b");
  EXPECT_EQ(o->NamedContext("alpine", amd), "docker-image://a");
  EXPECT_EQ(o->NamedContext("alpine"), "docker-image://a");
  EXPECT_FALSE(o->NamedContext("busybox").has_value());
}

TEST(OptionsTest, MultiPlatformFlag) {
  FakeEnv one({"platform=linux/amd64", "multi-platform=true"});
  Result<FrontendOptions> o = OptionsFromEnv(one.envp());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->multi_platform);

  FakeEnv by_arg({"build-arg:BUILDKIT_MULTI_PLATFORM=1"});
  o = OptionsFromEnv(by_arg.envp());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->multi_platform);

  FakeEnv both({"multi-platform=false", "build-arg:BUILDKIT_MULTI_PLATFORM=1"});
  o = OptionsFromEnv(both.envp());
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->multi_platform);
}

TEST(OptionsTest, Errors) {
  struct Case {
    std::vector<std::string> vars;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {{"BUILDKIT_FRONTEND_OPT_0=novalue"}, "BUILDKIT_FRONTEND_OPT_0"},
           {{"BUILDKIT_FRONTEND_OPT_0=platform=linux/amd64/v9/x"}, "platform"},
           {{"BUILDKIT_FRONTEND_OPT_0=multi-platform=maybe"}, "multi-platform"},
           {{"BUILDKIT_FRONTEND_OPT_0=platform=linux/amd64,linux/arm64",
             "BUILDKIT_FRONTEND_OPT_1=multi-platform=false"},
            "several target platforms"},
       }) {
    FakeEnv env({}, c.vars);
    Result<FrontendOptions> o = OptionsFromEnv(env.envp());
    ASSERT_FALSE(o.ok()) << c.want;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(o.status().message().find(c.want), std::string::npos)
        << o.status().ToString();
  }
}

}  // namespace
}  // namespace kiln::sdk
