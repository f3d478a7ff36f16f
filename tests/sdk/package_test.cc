// The installable SDK package: install it into a temporary prefix, build the
// example frontend (sdk/examples/kilnfile) out of tree against it, check that
// the frontend is a static, stripped ELF, and run that binary against the
// fake bridge, as an engine would run it in a FROM-scratch image.
#include <elf.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kiln/sdk/testing/fake_bridge.h"

namespace kiln::sdk {
namespace {

namespace fs = std::filesystem;
using testing::BridgeServer;
using testing::FakeBridge;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `cmd` through the shell with output in `log`; "" or the log's tail.
std::string Sh(const std::string& cmd, const fs::path& log) {
  int rc = std::system((cmd + " >>'" + log.string() + "' 2>&1").c_str());
  if (rc == 0) return "";
  std::string out = ReadAll(log);
  if (out.size() > 4000) out = out.substr(out.size() - 4000);
  return "command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out;
}

struct ElfFacts {
  std::string error;  // non-empty: not a 64-bit ELF
  uint16_t type = 0;
  bool interpreter = false;  // PT_INTERP: needs a loader
  bool dynamic = false;      // PT_DYNAMIC: has shared-library dependencies
  bool symtab = false;       // not stripped
};

ElfFacts InspectElf(const fs::path& path) {
  ElfFacts facts;
  std::string bytes = ReadAll(path);
  Elf64_Ehdr eh;
  if (bytes.size() < sizeof(eh) || bytes.compare(0, SELFMAG, ELFMAG) != 0 ||
      bytes[EI_CLASS] != ELFCLASS64) {
    facts.error = path.string() + " is not a 64-bit ELF file";
    return facts;
  }
  memcpy(&eh, bytes.data(), sizeof(eh));
  facts.type = eh.e_type;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    size_t off = eh.e_phoff + size_t{eh.e_phentsize} * i;
    if (off + sizeof(ph) > bytes.size()) break;
    memcpy(&ph, bytes.data() + off, sizeof(ph));
    facts.interpreter |= ph.p_type == PT_INTERP;
    facts.dynamic |= ph.p_type == PT_DYNAMIC;
  }
  for (int i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    size_t off = eh.e_shoff + size_t{eh.e_shentsize} * i;
    if (off + sizeof(sh) > bytes.size()) break;
    memcpy(&sh, bytes.data() + off, sizeof(sh));
    facts.symtab |= sh.sh_type == SHT_SYMTAB;
  }
  return facts;
}

// Runs `binary` as the engine runs a frontend: the bridge connection as
// stdin and stdout, options in the environment. Returns its exit code, or
// -1 when it had to be killed after 60 s.
int RunFrontend(const fs::path& binary, int connection,
                std::vector<std::string> env) {
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = binary.string();
  char* argv[] = {arg0.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, connection, 0);
  posix_spawn_file_actions_adddup2(&actions, connection, 1);
  pid_t pid = -1;
  int err =
      posix_spawn(&pid, arg0.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(connection);
  if (err != 0) return -2;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SdkPackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-sdk-package-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(SdkPackageTest, InstallsAndBuildsTheExampleFrontendOutOfTree) {
  const fs::path prefix = dir_ / "prefix";
  const fs::path build = dir_ / "build";
  const fs::path log = dir_ / "log.txt";
  std::string cmake = KILN_CMAKE;

  // 1. Install only the SDK component into an empty prefix.
  ASSERT_EQ(Sh("'" + cmake + "' --install '" KILN_BINARY_DIR "' --prefix '" +
                   prefix.string() + "' --component kiln_sdk",
               log),
            "");
  const fs::path lib =
      fs::exists(prefix / "lib64") ? prefix / "lib64" : prefix / "lib";
  for (const char* f :
       {"libkiln_sdk.a", "libkiln_llb.a", "libkiln_llb_pb_gen.a",
        "libkiln_bridge_pb_gen.a", "cmake/kiln_sdk/kiln_sdkConfig.cmake",
        "cmake/kiln_sdk/kiln_sdkTargets.cmake",
        "cmake/kiln_sdk/KilnSdkStaticFrontend.cmake"}) {
    EXPECT_TRUE(fs::is_regular_file(lib / f)) << f;
  }
  for (const char* f : {"kiln/sdk/frontend.h", "kiln/sdk/client.h",
                        "kiln/sdk/testing/fake_bridge.h", "kiln/llb/state.h",
                        "kiln/llb/status.h", "solver/pb/ops.pb.h",
                        "frontend/gateway/pb/gateway.pb.h",
                        "frontend/gateway/pb/gateway.grpc.pb.h"}) {
    EXPECT_TRUE(fs::is_regular_file(prefix / "include" / f)) << f;
  }
  EXPECT_NE(ReadAll(lib / "cmake/kiln_sdk/kiln_sdkConfigVersion.cmake")
                .find("set(PACKAGE_VERSION \"" KILN_VERSION "\")"),
            std::string::npos);
  // Only the SDK: no other kiln program or module came along.
  EXPECT_FALSE(fs::exists(lib / "libkiln_solver.a"));
  EXPECT_FALSE(fs::exists(prefix / "bin"));

  // 2. Configure and build the example against it, as an outside project.
  // CCACHE_BASEDIR makes the temp paths relative, so ccache hits across runs.
  std::string launcher = KILN_CCACHE;
  std::string configure =
      "'" + cmake + "' -S '" KILN_SOURCE_DIR "/sdk/examples/kilnfile' -B '" +
      build.string() + "' -G '" KILN_GENERATOR "' -DCMAKE_BUILD_TYPE=Release" +
      " -DCMAKE_PREFIX_PATH='" + prefix.string() + "'";
  if (!launcher.empty() && launcher.find("NOTFOUND") == std::string::npos) {
    configure = "CCACHE_BASEDIR='" + dir_.string() + "' " + configure +
                " -DCMAKE_CXX_COMPILER_LAUNCHER='" + launcher + "'";
  }
  ASSERT_EQ(Sh(configure, log), "");
  ASSERT_EQ(Sh("CCACHE_BASEDIR='" + dir_.string() + "' '" + cmake +
                   "' --build '" + build.string() + "' -j2",
               log),
            "");

  // 3. The static frontend needs no loader and no shared library.
  ElfFacts elf = InspectElf(build / "kilnfile-frontend");
  ASSERT_EQ(elf.error, "");
  EXPECT_EQ(elf.type, ET_EXEC);
  EXPECT_FALSE(elf.interpreter);
  EXPECT_FALSE(elf.dynamic);
  EXPECT_FALSE(elf.symtab) << "not stripped";
  // The same program linked the ordinary way (target_link_libraries with
  // kiln::sdk) is dynamic: the package's imported targets link.
  ElfFacts dyn = InspectElf(build / "kilnfile-frontend-dynamic");
  ASSERT_EQ(dyn.error, "");
  EXPECT_TRUE(dyn.interpreter);

  // 4. It serves a build: reads the Kilnfile named by opt filename from the
  // dockerfile local, inherits the base image's config, returns the result
  // with its image config.
  FakeBridge bridge;
  bridge.file_data =
      "from busybox:1.36\n"
      "env GREETING=hello\n"
      "workdir app\n"
      "copy src/ ./\n"
      "run echo $GREETING > greeting.txt\n"
      "entrypoint cat\n"
      "cmd greeting.txt\n";
  bridge.image_config.set_digest("sha256:" + std::string(64, 'a'));
  bridge.image_config.set_ref("docker.io/library/busybox:1.36");
  bridge.image_config.set_config(
      R"({"architecture":"arm64","os":"linux","config":{"Env":["PATH=/bin"],)"
      R"("WorkingDir":"/srv","Cmd":["sh"]},"rootfs":{"type":"layers",)"
      R"("diff_ids":["sha256:)" +
      std::string(64, 'b') + R"("]}})");
  bridge.solve.mutable_result()->mutable_ref()->set_id("built");
  BridgeServer server(&bridge);
  int code = RunFrontend(build / "kilnfile-frontend", server.client_fd(),
                         {"BUILDKIT_FRONTEND_OPT_0=filename=ci/Kilnfile",
                          "BUILDKIT_FRONTEND_OPT_1=platform=linux/arm64",
                          "BUILDKIT_FRONTEND_OPT_2=label:org.example.kind=demo",
                          "BUILDKIT_SESSION_ID=session-1"});
  server.Stop();
  ASSERT_EQ(code, 0) << ReadAll(log);
  EXPECT_EQ(bridge.Calls(), (std::vector<std::string>{
                                "Ping", "Solve", "ReadFile",
                                "ResolveImageConfig", "Solve", "Return"}));
  EXPECT_EQ(bridge.last_read_file.filepath(), "ci/Kilnfile");
  EXPECT_EQ(bridge.last_resolve.ref(), "docker.io/library/busybox:1.36");
  EXPECT_EQ(bridge.last_resolve.platform().architecture(), "arm64");

  // The final definition: the pinned image, the context local with the
  // session, the run with the inherited and set env, source locations.
  const pb::Definition& def = bridge.last_solve.definition();
  bool image = false, local = false, run = false;
  for (const std::string& bytes : def.def()) {
    pb::Op op;
    ASSERT_TRUE(op.ParseFromString(bytes));
    if (op.has_source()) {
      image |= op.source().identifier() ==
               "docker-image://docker.io/library/busybox:1.36@sha256:" +
                   std::string(64, 'a');
      local |= op.source().identifier() == "local://context" &&
               op.source().attrs().count("local.session") &&
               op.source().attrs().at("local.session") == "session-1";
    }
    if (op.has_exec()) {
      const pb::Meta& m = op.exec().meta();
      run = m.args_size() == 3 &&
            m.args(2) == "echo $GREETING > greeting.txt" &&
            m.cwd() == "/srv/app" &&
            std::vector<std::string>(m.env().begin(), m.env().end()) ==
                std::vector<std::string>{"PATH=/bin", "GREETING=hello"};
    }
  }
  EXPECT_TRUE(image);
  EXPECT_TRUE(local);
  EXPECT_TRUE(run);
  ASSERT_EQ(def.source().infos_size(), 1);
  EXPECT_EQ(def.source().infos(0).filename(), "ci/Kilnfile");

  ASSERT_EQ(bridge.returns.size(), 1u);
  const auto& result = bridge.returns[0].result();
  EXPECT_EQ(result.ref().id(), "built");
  auto config = nlohmann::json::parse(
      result.metadata().at("containerimage.config"), nullptr, false);
  ASSERT_TRUE(config.is_object());
  EXPECT_EQ(config["architecture"], "arm64");
  EXPECT_EQ(config["rootfs"]["diff_ids"].size(), 1u);  // the base's layer
  EXPECT_EQ(config["config"]["Env"],
            nlohmann::json::parse(R"(["PATH=/bin","GREETING=hello"])"));
  EXPECT_EQ(config["config"]["WorkingDir"], "/srv/app");
  EXPECT_EQ(config["config"]["Entrypoint"],
            nlohmann::json::parse(R"(["cat"])"));
  EXPECT_EQ(config["config"]["Cmd"],
            nlohmann::json::parse(R"(["greeting.txt"])"));
  EXPECT_EQ(config["config"]["Labels"]["org.example.kind"], "demo");

  // 5. A bad line comes back as a located error, and the process fails.
  FakeBridge bad;
  bad.file_data = "from scratch\nrun true\nfrobnicate\n";
  bad.solve.mutable_result()->mutable_ref()->set_id("ctx");
  BridgeServer bad_server(&bad);
  code = RunFrontend(build / "kilnfile-frontend", bad_server.client_fd(), {});
  bad_server.Stop();
  EXPECT_EQ(code, 1);
  ASSERT_EQ(bad.returns.size(), 1u);
  const auto& err = bad.returns[0].error();
  EXPECT_EQ(err.code(), 3);  // InvalidArgument
  EXPECT_EQ(err.message(), "unknown instruction \"frobnicate\"");
  ASSERT_EQ(err.details_size(), 1);
  EXPECT_NE(err.details(0).value().find("\"filename\":\"Kilnfile\""),
            std::string::npos)
      << err.details(0).value();
  EXPECT_NE(err.details(0).value().find("\"line\":3"), std::string::npos)
      << err.details(0).value();
}

}  // namespace
}  // namespace kiln::sdk
