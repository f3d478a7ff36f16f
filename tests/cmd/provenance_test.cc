// The SLSA provenance v0.2 predicate of a build (cmd/kiln/provenance.h),
// checked field by field against BuildKit's layout.
#include "provenance.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/llb/digest.h"

namespace kiln::cli {
namespace {

using Json = nlohmann::json;

ProvenanceBuild SampleBuild() {
  ProvenanceBuild b;
  b.frontend = "dockerfile.v0";
  b.opts = {{"build-arg:SOURCE_DATE_EPOCH", "1700000000"},
            {"build-arg:TOKEN", "hunter2-private-arg"},
            {"label:maintainer", "private-label-value"},
            {"platform", "linux/amd64"},
            {"image-resolve-mode", "pull"},
            {"attest:provenance", "mode=min"},
            {"vcs:source", "https://example.com/repo.git"},
            {"vcs:revision", "abc123"}};
  b.locals = {"dockerfile"};
  b.build_platform = llb::Platform{"linux", "riscv64", "", "", {}};
  b.sources = {
      {"docker-image://docker.io/library/busybox:latest",
       "sha256:" + std::string(64, 'a'),
       llb::Platform{"linux", "arm64", "v8", "", {}}},
      {"docker-image://example.com:5000/team/app@sha256:" +
           std::string(64, 'c'),
       "sha256:" + std::string(64, 'c'), llb::Platform{"linux", "amd64"}},
      {"git://github.com/moby/buildkit.git#v0.12.0",
       "sha1:" + std::string(40, 'b'),
       {}},
      {"https://example.com/file.tgz", "sha256:" + std::string(64, 'd'), {}},
      {"local://context", "", {}},
      {"docker-image://docker.io/kiln/fe:1@sha256:" + std::string(64, 'e'),
       "sha256:" + std::string(64, 'e'),
       {}},
      {"docker-image://docker.io/library/alpine",
       "sha256:" + std::string(64, 'f'),
       {}}};
  b.invocation_id = "build-1";
  b.started_ns = 1700000000123456789;
  b.finished_ns = 1700000005000000000;
  return b;
}

TEST(ProvenanceTest, PredicateHasBuildKitsFields) {
  Json p = Json::parse(ProvenancePredicate({}, SampleBuild()));
  EXPECT_EQ(p["buildType"], "https://mobyproject.org/buildkit@v1");
  EXPECT_EQ(p["builder"]["id"], "");
  const Json& inv = p["invocation"];
  EXPECT_EQ(inv["configSource"]["entryPoint"], "Dockerfile");
  EXPECT_EQ(inv["parameters"]["frontend"], "dockerfile.v0");
  EXPECT_EQ(inv["parameters"]["args"],
            Json({{"vcs:source", "https://example.com/repo.git"},
                  {"vcs:revision", "abc123"}}))
      << "mode=min: host-specific opts, attest:*, build-arg:* and label:* "
         "are left out";
  EXPECT_EQ(inv["parameters"]["locals"],
            Json::parse(R"([{"name":"context"},{"name":"dockerfile"}])"));
  EXPECT_EQ(inv["environment"]["platform"], "linux/riscv64")
      << "the build machine's platform, not the target's";

  ASSERT_EQ(p["materials"].size(), 6u) << "locals are not materials";
  EXPECT_EQ(p["materials"][4]["uri"],
            "pkg:docker/kiln/fe@1?digest=sha256%3A" + std::string(64, 'e'));
  EXPECT_EQ(p["materials"][5]["uri"], "pkg:docker/alpine@latest");
  EXPECT_EQ(p["materials"][0]["uri"],
            "pkg:docker/busybox@latest?platform=linux%2Farm64%2Fv8");
  EXPECT_EQ(p["materials"][0]["digest"]["sha256"], std::string(64, 'a'));
  EXPECT_EQ(p["materials"][1]["uri"],
            "pkg:docker/example.com:5000/team/app?digest=sha256%3A" +
                std::string(64, 'c') + "&platform=linux%2Famd64");
  EXPECT_EQ(p["materials"][2]["uri"],
            "https://github.com/moby/buildkit.git#v0.12.0");
  EXPECT_EQ(p["materials"][2]["digest"]["sha1"], std::string(40, 'b'));
  EXPECT_EQ(p["materials"][3]["uri"], "https://example.com/file.tgz");
  EXPECT_EQ(p["materials"][3]["digest"]["sha256"], std::string(64, 'd'));

  const Json& m = p["metadata"];
  EXPECT_EQ(m["buildInvocationID"], "build-1");
  EXPECT_EQ(m["buildStartedOn"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(m["buildFinishedOn"], "2023-11-14T22:13:25Z");
  EXPECT_EQ(m["completeness"], Json({{"parameters", false},
                                     {"environment", true},
                                     {"materials", false}}));
  EXPECT_EQ(m["reproducible"], false);
  EXPECT_EQ(m["https://mobyproject.org/buildkit@v1#metadata"]["vcs"],
            Json({{"source", "https://example.com/repo.git"},
                  {"revision", "abc123"}}));
  EXPECT_FALSE(p.contains("buildConfig")) << "mode=min";
}

// mode=min must not publish build-arg or label values anywhere; mode=max
// lists them, as BuildKit does.
TEST(ProvenanceTest, ModeMinLeavesOutBuildArgsAndLabels) {
  const std::string min = ProvenancePredicate({}, SampleBuild());
  EXPECT_EQ(min.find("hunter2-private-arg"), std::string::npos) << min;
  EXPECT_EQ(min.find("private-label-value"), std::string::npos) << min;
  EXPECT_EQ(min.find("build-arg:"), std::string::npos) << min;
  EXPECT_EQ(min.find("label:"), std::string::npos) << min;

  ProvenanceRequest max_request;
  max_request.mode = "max";
  Json max = Json::parse(ProvenancePredicate(max_request, SampleBuild()));
  EXPECT_EQ(max["invocation"]["parameters"]["args"],
            Json({{"build-arg:SOURCE_DATE_EPOCH", "1700000000"},
                  {"build-arg:TOKEN", "hunter2-private-arg"},
                  {"label:maintainer", "private-label-value"},
                  {"vcs:source", "https://example.com/repo.git"},
                  {"vcs:revision", "abc123"}}))
      << "host-specific opts and attest:* are left out";
  EXPECT_EQ(max["metadata"]["completeness"]["parameters"], true);

  // Nothing dropped: the parameters are complete in mode=min too.
  ProvenanceBuild plain = SampleBuild();
  plain.opts = {{"filename", "Dockerfile"}, {"platform", "linux/amd64"}};
  Json p = Json::parse(ProvenancePredicate({}, plain));
  EXPECT_EQ(p["invocation"]["parameters"]["args"],
            Json({{"filename", "Dockerfile"}}));
  EXPECT_EQ(p["metadata"]["completeness"]["parameters"], true);
}

TEST(ProvenanceTest, ReproducibleComesFromTheRequest) {
  auto r =
      ParseProvenanceOpt({{"attest:provenance", "mode=min,reproducible=true"}});
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status().ToString();
  EXPECT_TRUE((*r)->reproducible);
  Json p = Json::parse(ProvenancePredicate(**r, SampleBuild()));
  EXPECT_EQ(p["metadata"]["reproducible"], true);
  auto off = ParseProvenanceOpt({{"attest:provenance", "reproducible=false"}});
  ASSERT_TRUE(off.ok() && off->has_value());
  EXPECT_FALSE((*off)->reproducible);
  EXPECT_EQ(Json::parse(ProvenancePredicate(
                **off, SampleBuild()))["metadata"]["reproducible"],
            false);
  EXPECT_EQ(ParseProvenanceOpt({{"attest:provenance", "reproducible=maybe"}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(ProvenanceTest, OnlyVersionV02IsAccepted) {
  auto v02 = ParseProvenanceOpt({{"attest:provenance", "version=v0.2"}});
  ASSERT_TRUE(v02.ok() && v02->has_value()) << v02.status().ToString();
  auto v1 = ParseProvenanceOpt({{"attest:provenance", "mode=max,version=v1"}});
  ASSERT_EQ(v1.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v1.status().message(),
            "provenance version v1 is not supported by kiln (v0.2 only)");
  EXPECT_EQ(
      ParseProvenanceOpt({{"attest:provenance", "version="}}).status().code(),
      StatusCode::kInvalidArgument);
}

// Each platform's materials: its own images, not the other targets'; git,
// http and images resolved for no target platform are everyone's.
TEST(ProvenanceTest, SourcesForPlatformDropsOtherTargetsImages) {
  const llb::Platform amd64{"linux", "amd64", "", "", {}};
  const llb::Platform arm64{"linux", "arm64", "", "", {}};
  const llb::Platform riscv{"linux", "riscv64", "", "", {}};
  const std::vector<solver::ResolvedSource> all = {
      {"docker-image://docker.io/library/busybox:latest", "sha256:a",
       llb::Platform{"linux", "arm64", "v8", "", {}}},
      {"docker-image://docker.io/library/busybox:latest", "sha256:b", amd64},
      {"git://github.com/moby/buildkit.git#v0.12.0", "sha1:c", {}},
      {"docker-image://docker.io/library/golang:1", "sha256:d", riscv},
      {"https://example.com/file.tgz", "sha256:e", {}}};
  auto digests = [](const std::vector<solver::ResolvedSource>& v) {
    std::vector<std::string> out;
    for (const auto& s : v) out.push_back(s.digest);
    return out;
  };
  EXPECT_EQ(
      digests(SourcesForPlatform(all, arm64, {amd64, arm64})),
      (std::vector<std::string>{"sha256:a", "sha1:c", "sha256:d", "sha256:e"}));
  EXPECT_EQ(
      digests(SourcesForPlatform(all, amd64, {amd64, arm64})),
      (std::vector<std::string>{"sha256:b", "sha1:c", "sha256:d", "sha256:e"}));
  // A single-platform build keeps everything.
  EXPECT_EQ(SourcesForPlatform(all, amd64, {amd64}), all);
}

TEST(ProvenanceTest, AttestationCarriesThePredicateType) {
  ProvenanceRequest r;
  r.builder_id = "https://ci.example.com/run/7";
  solver::Attestation a = ProvenanceAttestation(r, SampleBuild());
  EXPECT_EQ(a.predicate_type, "https://slsa.dev/provenance/v0.2");
  EXPECT_EQ(Json::parse(a.predicate_json)["builder"]["id"],
            "https://ci.example.com/run/7");
}

TEST(ProvenanceTest, ParsesTheOpt) {
  auto none = ParseProvenanceOpt({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto min = ParseProvenanceOpt({{"attest:provenance", "mode=min"}});
  ASSERT_TRUE(min.ok() && min->has_value());
  EXPECT_EQ((*min)->mode, "min");
  auto id = ParseProvenanceOpt({{"attest:provenance", "builder-id=x"}});
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ((*id)->builder_id, "x");
  auto off = ParseProvenanceOpt({{"attest:provenance", "disabled=true"}});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value());
  auto max = ParseProvenanceOpt({{"attest:provenance", "mode=max"}});
  ASSERT_TRUE(max.ok() && max->has_value());
  EXPECT_EQ((*max)->mode, "max");
  EXPECT_EQ(
      ParseProvenanceOpt({{"attest:provenance", "mode=huge"}}).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseProvenanceOpt({{"attest:provenance", "colour=red"}}).status().code(),
      StatusCode::kInvalidArgument);
}

// A Definition: a local source, an exec on it, the terminal op.
pb::Definition SampleDefinition(std::string* src_digest,
                                std::string* exec_digest) {
  pb::Definition def;
  pb::Op src;
  src.mutable_source()->set_identifier("local://context");
  (*src.mutable_source()->mutable_attrs())["local.session"] = "s1";
  (*src.mutable_source()->mutable_attrs())["local.unique"] = "u1";
  (*src.mutable_source()->mutable_attrs())["local.includepattern"] = "[]";
  std::string src_bytes = src.SerializeAsString();
  *src_digest = Digest::FromBytes(src_bytes).str();
  pb::Op exec;
  pb::Input* in = exec.add_inputs();
  in->set_digest(*src_digest);
  in->set_index(0);
  exec.mutable_exec()->mutable_meta()->add_args("true");
  std::string exec_bytes = exec.SerializeAsString();
  *exec_digest = Digest::FromBytes(exec_bytes).str();
  pb::Op terminal;
  terminal.add_inputs()->set_digest(*exec_digest);
  def.add_def(exec_bytes);  // order in the Definition does not matter
  def.add_def(src_bytes);
  def.add_def(terminal.SerializeAsString());
  return def;
}

TEST(ProvenanceTest, ModeMaxListsTheLlbSteps) {
  std::string src, exec;
  auto config = BuildConfigJson(SampleDefinition(&src, &exec));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ProvenanceBuild build = SampleBuild();
  build.build_config_json = *config;
  ProvenanceRequest max;
  max.mode = "max";
  Json p = Json::parse(ProvenancePredicate(max, build));
  const Json& steps = p["buildConfig"]["llbDefinition"];
  ASSERT_EQ(steps.size(), 2u) << p["buildConfig"].dump();
  EXPECT_EQ(steps[0]["id"], "step0");
  EXPECT_EQ(steps[0]["inputs"], Json::array());
  EXPECT_EQ(steps[0]["op"]["source"]["identifier"], "local://context");
  EXPECT_EQ(steps[0]["op"]["source"]["attrs"],
            Json({{"local.includepattern", "[]"}}))
      << "session attrs dropped";
  EXPECT_EQ(steps[1]["id"], "step1");
  EXPECT_EQ(steps[1]["inputs"], Json::array({"step0:0"}));
  EXPECT_EQ(steps[1]["op"]["exec"]["meta"]["args"], Json::array({"true"}));
  EXPECT_FALSE(steps[1]["op"].contains("inputs"));
  EXPECT_EQ(p["buildConfig"]["digestMapping"],
            Json({{src, "step0"}, {exec, "step1"}}));
  // mode=min leaves it out even when given.
  EXPECT_FALSE(
      Json::parse(ProvenancePredicate({}, build)).contains("buildConfig"));

  EXPECT_EQ(*BuildConfigJson(pb::Definition()), "");
  pb::Definition bad;
  bad.add_def("\xff\xff not an op");
  EXPECT_EQ(BuildConfigJson(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(ProvenanceTest, BuildConfigComesFromTheResultRefsDefinition) {
  std::string src, exec;
  gateway::FrontendOutput out;
  out.result.ref =
      gateway::ResultRef{.id = "r1", .snapshot = "s", .platform = {}};
  out.definitions["r1"] = SampleDefinition(&src, &exec);
  ProvenanceRequest max;
  max.mode = "max";
  ProvenanceBuild build = SampleBuild();
  ASSERT_TRUE(AddBuildConfig(max, out, {}, &build).ok());
  EXPECT_EQ(Json::parse(build.build_config_json)["digestMapping"][exec],
            "step1");
  ProvenanceBuild min_build = SampleBuild();
  ASSERT_TRUE(AddBuildConfig({}, out, {}, &min_build).ok());
  EXPECT_EQ(min_build.build_config_json, "");
  // A RefMap: the entry of the platform asked for.
  out.result.ref.reset();
  llb::Platform arm64{"linux", "arm64", "", "", {}};
  out.result.refs["linux/arm64"] =
      gateway::ResultRef{.id = "r1", .snapshot = "s", .platform = arm64};
  ProvenanceBuild mapped = SampleBuild();
  ASSERT_TRUE(AddBuildConfig(max, out, arm64, &mapped).ok());
  EXPECT_NE(mapped.build_config_json, "");
  ProvenanceBuild other = SampleBuild();
  ASSERT_TRUE(AddBuildConfig(
                  max, out, llb::Platform{"linux", "amd64", "", "", {}}, &other)
                  .ok());
  EXPECT_EQ(other.build_config_json, "");
  out.definitions.clear();  // e.g. a scratch result
  ProvenanceBuild none = SampleBuild();
  ASSERT_TRUE(AddBuildConfig(max, out, {}, &none).ok());
  EXPECT_EQ(none.build_config_json, "");
}

}  // namespace
}  // namespace kiln::cli
