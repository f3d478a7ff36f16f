#include "kiln/solver/registry_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "support/test_util.h"

namespace kiln::solver {
namespace {

class RegistryConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.empty()); }

  std::string Write(const std::string& text) {
    const std::string path = dir_ + "/buildkitd.toml";
    testing::WriteFile(path, text);
    return path;
  }

  testing::TempDir tmp_{"kiln-registry-config-"};
  const std::string dir_ = tmp_.path();
};

TEST_F(RegistryConfigTest, LoadsBuildkitdRegistryTables) {
  const std::string path = Write(R"(
debug = true
[worker.oci]
  max-parallelism = 4

[registry."docker.io"]
  mirrors = ["mirror.example.com:5000", "10.0.0.2/hub"]

[registry."mirror.example.com:5000"]
  http = true

[registry."10.0.0.2"]
  insecure = true
  ca = ["/etc/kiln/ca.pem", "/etc/kiln/other.pem"]
)");
  Result<RegistryConfig> config = LoadRegistryConfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->hosts.size(), 3u);
  const RegistryHostConfig& hub = config->Host("docker.io");
  EXPECT_EQ(hub.mirrors, (std::vector<std::string>{"mirror.example.com:5000",
                                                   "10.0.0.2/hub"}));
  EXPECT_FALSE(hub.http);
  EXPECT_FALSE(hub.insecure);
  EXPECT_TRUE(config->Host("mirror.example.com:5000").http);
  EXPECT_FALSE(config->Host("mirror.example.com:5000").insecure);
  EXPECT_TRUE(config->Host("10.0.0.2").insecure);
  EXPECT_EQ(
      config->Host("10.0.0.2").ca_files,
      (std::vector<std::string>{"/etc/kiln/ca.pem", "/etc/kiln/other.pem"}));
  // Defaults elsewhere.
  EXPECT_EQ(config->max_concurrent_downloads, 4);
  EXPECT_TRUE(config->docker_config_path.empty());
}

TEST_F(RegistryConfigTest, LocalhostIsNotImplicitlyInsecure) {
  RegistryConfig config;
  for (const char* host :
       {"localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000"}) {
    EXPECT_FALSE(config.Host(host).http) << host;
    EXPECT_FALSE(config.Host(host).insecure) << host;
  }
  Result<RegistryConfig> loaded =
      LoadRegistryConfig(Write("[registry.\"127.0.0.1:5000\"]\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->Host("127.0.0.1:5000").http);
  EXPECT_FALSE(loaded->Host("127.0.0.1:5001").http);
}

TEST_F(RegistryConfigTest, EmptyFileGivesDefaults) {
  Result<RegistryConfig> config = LoadRegistryConfig(Write(""));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->hosts.empty());
}

struct BadCase {
  std::string text;
  std::string where;  // expected "path:LINE:"
  std::string says;
};

TEST_F(RegistryConfigTest, ErrorsNameFileLineAndProblem) {
  const std::vector<BadCase> cases = {
      {"[registry.\"a\"]\nhttp = \"yes\"\n",
       ":2:", "http must be true or false"},
      {"[registry.\"a\"]\nmirrors = \"m\"\n",
       ":2:", "mirrors must be an array of strings"},
      {"[registry.\"a\"]\nmirrors = [\"m\", 3]\n",
       ":2:", "mirrors must be an array of strings"},
      {"[registry.\"a\"]\n\nmirrors = [\"https://m\"]\n",
       ":3:", "without a scheme"},
      {"[registry.\"a\"]\nmirrors = [\"/path\"]\n", ":2:", "has no host"},
      {"[registry.\"a\"]\ninsecur = true\n", ":2:", "unknown key \"insecur\""},
      {"[registry.\"a\"]\nkeypair = []\n", ":2:", "keypair is not supported"},
      {"[registry.\"a\"]\nca = \"/x\"\n",
       ":2:", "ca must be an array of strings"},
      {"registry = 3\n", ":1:", "registry must be a table"},
      {"[registry.\"https://a\"]\n", ":1:", "the key must be host[:port]"},
      {"[registry.\"a\"]\nhttp = true\nhttp = false\n",
       ":3:", ""},  // TOML syntax error
      {"\n\n[registry.\"a\"\n", ":3:", ""},
  };
  for (const BadCase& c : cases) {
    const std::string path = Write(c.text);
    Result<RegistryConfig> config = LoadRegistryConfig(path);
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << c.text;
    const std::string& message = config.status().message();
    EXPECT_EQ(message.rfind(path + c.where, 0), 0u)
        << c.text << " → " << message;
    EXPECT_NE(message.find(c.says), std::string::npos)
        << c.text << " → " << message;
  }
}

TEST_F(RegistryConfigTest, MissingFileIsNotFound) {
  Result<RegistryConfig> config = LoadRegistryConfig(dir_ + "/absent.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(config.status().message().find(dir_ + "/absent.toml"),
            std::string::npos);
}

TEST_F(RegistryConfigTest, DefaultDockerConfigPathFollowsEnvironment) {
  const char* old_docker = std::getenv("DOCKER_CONFIG");
  const std::string saved_docker = old_docker ? old_docker : "";
  const std::string saved_home = std::getenv("HOME") ? std::getenv("HOME") : "";
  setenv("DOCKER_CONFIG", "/etc/dockercfg", 1);
  EXPECT_EQ(DefaultDockerConfigPath(), "/etc/dockercfg/config.json");
  unsetenv("DOCKER_CONFIG");
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(DefaultDockerConfigPath(), "/home/someone/.docker/config.json");
  if (old_docker != nullptr) setenv("DOCKER_CONFIG", saved_docker.c_str(), 1);
  setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
}  // namespace kiln::solver
