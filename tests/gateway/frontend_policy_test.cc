// Frontend policy: normalization, patterns, remaps, allow/deny, pins and the
// TOML loader (gateway/frontend_policy.h).
#include "kiln/gateway/frontend_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::gateway {
namespace {

constexpr char kDigestA[] =
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kDigestB[] =
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

TEST(FrontendPatternTest, StarStopsAtSlashDoubleStarDoesNot) {
  EXPECT_TRUE(FrontendPatternMatches("kiln/*", "docker.io/kiln/dockerfile:1"));
  EXPECT_FALSE(FrontendPatternMatches("kiln/*", "docker.io/kiln/a/b:1"));
  EXPECT_TRUE(FrontendPatternMatches("kiln/**", "docker.io/kiln/a/b:1"));
  EXPECT_TRUE(
      FrontendPatternMatches("127.0.0.1:5000/**", "127.0.0.1:5000/team/fe:2"));
  EXPECT_FALSE(
      FrontendPatternMatches("127.0.0.1:5000/**", "docker.io/library/fe:2"));
  EXPECT_TRUE(FrontendPatternMatches("**", "ghcr.io/x/y:z"));
}

TEST(FrontendPatternTest, TagPartMatchesTagsOnly) {
  EXPECT_TRUE(FrontendPatternMatches("docker/dockerfile:*",
                                     "docker.io/docker/dockerfile:1.7"));
  EXPECT_TRUE(FrontendPatternMatches("docker/dockerfile:1.*",
                                     "docker.io/docker/dockerfile:1.7"));
  EXPECT_FALSE(FrontendPatternMatches("docker/dockerfile:1.*",
                                      "docker.io/docker/dockerfile:2.0"));
  EXPECT_FALSE(FrontendPatternMatches(
      "docker/dockerfile:*", "docker.io/docker/dockerfile-upstream:1"));
  // No tag in the pattern: every tag and digest of the repository.
  EXPECT_TRUE(FrontendPatternMatches("alpine",
                                     "docker.io/library/alpine:3@sha256:abc"));
  EXPECT_FALSE(FrontendPatternMatches("alpine", "docker.io/library/alpinex:3"));
}

TEST(FrontendPolicyTest, DefaultRemapsDockerDockerfileToInstalledMajor) {
  FrontendPolicy policy = FrontendPolicy::Default();
  auto d = ApplyFrontendPolicy(policy, "docker/dockerfile:1.7.0-labs");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->requested, "docker.io/docker/dockerfile:1.7.0-labs");
  EXPECT_EQ(d->ref, "docker.io/kiln/dockerfile:1");
  EXPECT_TRUE(d->installed_only);
  ASSERT_EQ(d->notes.size(), 1u);
  EXPECT_NE(d->notes[0].find("remap docker.io/docker/dockerfile:1.7.0-labs → "
                             "docker.io/kiln/dockerfile:1"),
            std::string::npos)
      << d->notes[0];
  auto latest = ApplyFrontendPolicy(policy, "docker/dockerfile");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->ref, "docker.io/kiln/dockerfile:latest");
  // A digest names the upstream image: dropped by the remap.
  auto pinned = ApplyFrontendPolicy(
      policy, std::string("docker/dockerfile:1@") + kDigestA);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->ref, "docker.io/kiln/dockerfile:1");
  // Anything else is untouched.
  auto other = ApplyFrontendPolicy(policy, "127.0.0.1:5000/fe:2");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->ref, "127.0.0.1:5000/fe:2");
  EXPECT_FALSE(other->installed_only);
  EXPECT_TRUE(other->notes.empty());
}

TEST(FrontendPolicyTest, DenyAndAllowLists) {
  FrontendPolicy policy = FrontendPolicy::Default();
  policy.deny = {"evil/**"};
  auto denied = ApplyFrontendPolicy(policy, "evil/frontend:1");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(),
            "frontend image docker.io/evil/frontend:1 is denied by policy "
            "(deny pattern \"evil/**\")");
  policy.deny.clear();
  policy.allow = {"kiln/*"};
  EXPECT_TRUE(ApplyFrontendPolicy(policy, "docker/dockerfile:1").ok())
      << "the remapped reference is what the allow list sees";
  auto not_allowed = ApplyFrontendPolicy(policy, "other/fe");
  ASSERT_FALSE(not_allowed.ok());
  EXPECT_EQ(not_allowed.status().message(),
            "frontend image docker.io/other/fe:latest is not in the policy's "
            "allow list");
  // The requested reference is denied even when a remap would rename it.
  policy.allow.clear();
  policy.deny = {"docker/dockerfile:1.2"};
  EXPECT_FALSE(ApplyFrontendPolicy(policy, "docker/dockerfile:1.2").ok());
}

TEST(FrontendPolicyTest, PinsApplyToTheFinalReference) {
  FrontendPolicy policy = FrontendPolicy::Default();
  policy.pins["docker.io/kiln/dockerfile:1"] = kDigestA;
  auto d = ApplyFrontendPolicy(policy, "docker/dockerfile:1");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->pin.has_value());
  EXPECT_EQ(*d->pin, kDigestA);
  EXPECT_TRUE(CheckFrontendPin(*d, kDigestA).ok());
  Status mismatch = CheckFrontendPin(*d, kDigestB);
  EXPECT_EQ(mismatch.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(mismatch.message(),
            std::string("frontend image docker.io/kiln/dockerfile:1 is pinned "
                        "to ") +
                kDigestA + " by policy but resolved to " + kDigestB);
  auto unpinned = ApplyFrontendPolicy(policy, "kiln/dockerfile:2");
  ASSERT_TRUE(unpinned.ok());
  EXPECT_FALSE(unpinned->pin.has_value());
  EXPECT_TRUE(CheckFrontendPin(*unpinned, kDigestB).ok());
}

TEST(FrontendPolicyTest, BadReferenceIsInvalidArgument) {
  auto bad = ApplyFrontendPolicy(FrontendPolicy::Default(), "example/Upper:1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("frontend image"), std::string::npos);
}

TEST(FrontendPolicyConfigTest, ParsesEveryKeyOperatorRulesFirst) {
  auto policy = ParseFrontendPolicy(std::string(R"(
[registry."127.0.0.1:5000"]
  http = true
[frontend]
  dockerfile = "127.0.0.1:5000/df:1"
  allow = ["kiln/*", "127.0.0.1:5000/**"]
  deny = ["evil/**"]
[[frontend.remap]]
  from = "docker/dockerfile:1.4"
  to = "127.0.0.1:5000/df:{tag}"
[frontend.pin]
  "kiln/dockerfile:1" = ")") + kDigestA +
                                        "\"\n",
                                    "kiln.toml");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  EXPECT_EQ(policy->dockerfile, "127.0.0.1:5000/df:1");
  EXPECT_EQ(policy->allow.size(), 2u);
  EXPECT_EQ(policy->deny, std::vector<std::string>{"evil/**"});
  ASSERT_EQ(policy->remaps.size(), 2u);
  EXPECT_EQ(policy->remaps[0].from, "docker/dockerfile:1.4");
  EXPECT_EQ(policy->remaps[1].from, "docker/dockerfile:*");
  EXPECT_EQ(policy->pins.at("docker.io/kiln/dockerfile:1"), kDigestA);
  auto d = ApplyFrontendPolicy(*policy, "docker/dockerfile:1.4");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->ref, "127.0.0.1:5000/df:1.4");
  EXPECT_FALSE(d->installed_only);
}

TEST(FrontendPolicyConfigTest, NoFrontendTableGivesDefaults) {
  auto policy = ParseFrontendPolicy("[registry.\"x\"]\nhttp = true\n", "f");
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->dockerfile, "kiln/dockerfile:1");
  EXPECT_EQ(policy->remaps.size(), 1u);
  auto off = ParseFrontendPolicy("[frontend]\ndefault_remaps = false\n", "f");
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->remaps.empty());
}

TEST(FrontendPolicyConfigTest, BuildkitdFrontendTablesAreHonoured) {
  auto policy = ParseFrontendPolicy(
      "[frontend.\"gateway.v0\"]\n"
      "allowedRepositories = [\"team/fe\", \"127.0.0.1:5000/x\"]\n"
      "[frontend.\"dockerfile.v0\"]\nenabled = false\n",
      "buildkitd.toml");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  EXPECT_TRUE(policy->gateway_enabled);
  EXPECT_FALSE(policy->dockerfile_enabled);
  EXPECT_EQ(policy->allow, (std::vector<std::string>{"docker.io/team/fe",
                                                     "127.0.0.1:5000/x"}));
  EXPECT_TRUE(ApplyFrontendPolicy(*policy, "team/fe:3").ok());
  EXPECT_FALSE(ApplyFrontendPolicy(*policy, "team/other:3").ok());
  auto tagged = ParseFrontendPolicy(
      "[frontend.\"gateway.v0\"]\nallowedRepositories = [\"team/fe:1\"]\n",
      "b.toml");
  ASSERT_FALSE(tagged.ok());
  EXPECT_NE(tagged.status().message().find(
                "\"team/fe:1\" is not a repository name without a tag"),
            std::string::npos);
  auto unknown =
      ParseFrontendPolicy("[frontend.\"dockerfile.v0\"]\nfoo = 1\n", "b.toml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find(
                "unknown key \"foo\" in [frontend.\"dockerfile.v0\"]"),
            std::string::npos)
      << unknown.status().message();
}

TEST(FrontendPolicyConfigTest, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* toml;
    const char* want;
  } cases[] = {
      {"[frontend]\nallow = \"kiln/*\"\n",
       "f.toml:2:9: frontend policy: allow must be an array of patterns"},
      {"[frontend]\nfoo = 1\n",
       "f.toml:2:7: frontend policy: unknown key \"foo\""},
      {"[frontend.pin]\n\"kiln/df:1\" = \"md5:00\"\n",
       "f.toml:2:15: frontend policy: pin \"kiln/df:1\": \"md5:00\" is not a "
       "sha256 digest"},
      {"[[frontend.remap]]\nfrom = \"a\"\n",
       "frontend policy: a remap needs both from and to"},
      {"[[frontend.remap]]\nfrom = \"a\"\nto = \"x/UP:{tag}\"\n",
       "f.toml:3:6: frontend policy: remap.to \"x/UP:{tag}\" does not make an "
       "image reference"},
      {"[frontend\n", "f.toml:1:"},
  };
  for (const Case& c : cases) {
    auto policy = ParseFrontendPolicy(c.toml, "f.toml");
    ASSERT_FALSE(policy.ok()) << c.toml;
    EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(policy.status().message().find(c.want), std::string::npos)
        << "got: " << policy.status().message() << "\nwant: " << c.want;
  }
}

}  // namespace
}  // namespace kiln::gateway
