// Unit tests of the --secret / --ssh parsers and the map providers.
#include "kiln/solver/secret_providers.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "gtest/gtest.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::TempDir;
using testing::WriteFile;

SecretSource Secret(std::string_view spec) {
  auto s = ParseSecretSpec(spec);
  EXPECT_TRUE(s.ok()) << spec << ": " << s.status().ToString();
  return s.ok() ? *s : SecretSource{};
}

TEST(ParseSecretSpecTest, FileEnvTypeAndBareId) {
  EXPECT_EQ(Secret("id=mytoken,src=/local/secret"),
            (SecretSource{"mytoken", "/local/secret", ""}));
  EXPECT_EQ(Secret("id=a,source=/x"), (SecretSource{"a", "/x", ""}));
  EXPECT_EQ(Secret("ID=a,Src=/x,type=file"), (SecretSource{"a", "/x", ""}));
  EXPECT_EQ(Secret("id=x,env=VAR"), (SecretSource{"x", "", "VAR"}));
  EXPECT_EQ(Secret("id=x,type=env,src=VAR"), (SecretSource{"x", "", "VAR"}));
  EXPECT_EQ(Secret("type=env,id=TOKEN"), (SecretSource{"TOKEN", "", "TOKEN"}));
  EXPECT_EQ(Secret("id=x"), (SecretSource{"x", "", ""}));
  EXPECT_EQ(Secret("id=x,src=\"/a,b\""), (SecretSource{"x", "/a,b", ""}));
}

TEST(ParseSecretSpecTest, Errors) {
  for (const char* bad :
       {"mytoken", "id=x,type=ssh", "id=x,foo=bar", "src=/x", "", "id=\"x"}) {
    auto s = ParseSecretSpec(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseSecretSpec("id=x,foo=bar").status().message().find("foo"),
            std::string::npos);
}

TEST(ParseSshSpecTest, IdAndPaths) {
  auto d = ParseSshSpec("default");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (SshSource{"default", {}}));
  auto p = ParseSshSpec("default=/run/agent.sock");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (SshSource{"default", {"/run/agent.sock"}}));
  auto keys = ParseSshSpec("gh=/k/id_rsa,/k/id_ed25519");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (SshSource{"gh", {"/k/id_rsa", "/k/id_ed25519"}}));
  for (const char* bad : {"", "=/x", "id=", "id=/a,"}) {
    EXPECT_EQ(ParseSshSpec(bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(MapSecretProviderTest, ReadsFilesAndEnvAtGetTime) {
  TempDir dir;
  const std::string file = dir.path() + "/token";
  WriteFile(file, "v1");
  MapSecretProvider p;
  ASSERT_TRUE(p.Add(Secret("id=tok,src=" + file)).ok());
  ASSERT_TRUE(p.Add(Secret("id=e,env=KILN_TEST_SECRET_VAR")).ok());
  ::setenv("KILN_TEST_SECRET_VAR", "from env", 1);
  auto a = p.GetSecret("tok");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "v1");
  WriteFile(file, "v2\n");
  EXPECT_EQ(*p.GetSecret("tok"), "v2\n");
  EXPECT_EQ(*p.GetSecret("e"), "from env");

  ::unsetenv("KILN_TEST_SECRET_VAR");
  auto unset = p.GetSecret("e");
  EXPECT_EQ(unset.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unset.status().message().find("KILN_TEST_SECRET_VAR"),
            std::string::npos);

  auto missing = p.GetSecret("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("\"nope\""), std::string::npos);

  ASSERT_TRUE(p.Add(Secret("id=gone,src=" + dir.path() + "/absent")).ok());
  auto gone = p.GetSecret("gone");
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("gone"), std::string::npos);

  WriteFile(file, std::string(MapSecretProvider::kMaxSecretSize + 1, 'x'));
  EXPECT_EQ(p.GetSecret("tok").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.Add(SecretSource{"", "/x", ""}).code(),
            StatusCode::kInvalidArgument);
}

TEST(MapSecretProviderTest, BareIdPrefersEnvThenFile) {
  TempDir dir;
  const std::string cwd = std::filesystem::current_path().string();
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  WriteFile(dir.path() + "/KILN_BARE_ID", "from file");
  MapSecretProvider p;
  ASSERT_TRUE(p.Add(Secret("id=KILN_BARE_ID")).ok());
  ::unsetenv("KILN_BARE_ID");
  EXPECT_EQ(*p.GetSecret("KILN_BARE_ID"), "from file");
  ::setenv("KILN_BARE_ID", "from env", 1);
  EXPECT_EQ(*p.GetSecret("KILN_BARE_ID"), "from env");
  ::unsetenv("KILN_BARE_ID");
  ASSERT_EQ(chdir(cwd.c_str()), 0);
}

// A listening unix socket at `path` (closed by the caller).
int Listen(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(listen(fd, 1), 0);
  return fd;
}

TEST(MapSshProviderTest, SocketsEnvAndKeyFiles) {
  TempDir dir;
  const std::string sock = dir.path() + "/agent.sock";
  int fd = Listen(sock);
  MapSshProvider p;
  auto spec = ParseSshSpec("work=" + sock);
  ASSERT_TRUE(spec.ok());
  ASSERT_TRUE(p.Add(*spec).ok());
  EXPECT_EQ(*p.AgentSocket("work"), sock);

  ::setenv("SSH_AUTH_SOCK", sock.c_str(), 1);
  ASSERT_TRUE(p.Add(*ParseSshSpec("default")).ok());
  EXPECT_EQ(*p.AgentSocket("default"), sock);
  ::unsetenv("SSH_AUTH_SOCK");
  EXPECT_EQ(p.Add(*ParseSshSpec("other")).code(),
            StatusCode::kFailedPrecondition);

  WriteFile(dir.path() + "/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
  Status key = p.Add(*ParseSshSpec("k=" + dir.path() + "/id_rsa"));
  EXPECT_EQ(key.code(), StatusCode::kUnimplemented) << key.ToString();
  EXPECT_EQ(p.Add(*ParseSshSpec("k=" + sock + "," + sock)).code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(p.Add(*ParseSshSpec("k=" + dir.path() + "/missing")).code(),
            StatusCode::kNotFound);

  auto none = p.AgentSocket("k");
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("\"k\""), std::string::npos);
  close(fd);
}

}  // namespace
}  // namespace kiln::solver
