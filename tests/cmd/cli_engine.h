// A state root for CLI tests that build Dockerfiles with the real engine:
// busybox:latest (MakeBusyboxRootfs, with PATH and Cmd ["sh"]) and the
// Dockerfile frontend image kiln/dockerfile:1 (the static
// KILN_DOCKERFILE_FRONTEND binary, imported with the entrypoint and caps
// of images/dockerfile), both through `kiln image import`.
#ifndef KILN_TESTS_CMD_CLI_ENGINE_H_
#define KILN_TESTS_CMD_CLI_ENGINE_H_

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_run.h"
#include "support/engine_setup.h"

namespace kiln::cli_test {

// "" when a CLI test can build with the engine here, else why not.
inline std::string EngineMissing() {
  return solver::testing::RuncRequirementsMissing();
}

// Fills the state root `root`, using `work` (which must exist) for its
// files. Returns "" or what failed.
inline std::string PrepareRoot(const std::filesystem::path& work,
                               const std::string& root,
                               bool with_frontend = true) {
  namespace fs = std::filesystem;
  fs::create_directories(work / "busybox");
  Status rootfs =
      solver::testing::MakeBusyboxRootfs((work / "busybox").string());
  if (!rootfs.ok()) return rootfs.ToString();
  std::ofstream(work / "busybox.json")
      << R"({"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}})";
  CliRun bb = RunKilnIn(work,
                        "--root " + root + " image import --config " +
                            (work / "busybox.json").string() + " " +
                            (work / "busybox").string() + " busybox:latest",
                        "");
  if (bb.exit_code != 0) return "importing busybox: " + bb.err;
  if (!with_frontend) return "";
  fs::create_directories(work / "fe/bin");
  std::error_code ec;
  fs::copy_file(KILN_DOCKERFILE_FRONTEND,
                work / "fe/bin/kiln-dockerfile-frontend",
                fs::copy_options::overwrite_existing, ec);
  if (ec) return "copying the frontend: " + ec.message();
  std::ofstream(work / "fe.json")
      << R"({"config":{"Entrypoint":["/bin/kiln-dockerfile-frontend"],"Labels":{)"
         R"("moby.buildkit.frontend.network.none":"true",)"
         R"("moby.buildkit.frontend.caps":"moby.buildkit.frontend.inputs,)"
         R"(moby.buildkit.frontend.contexts,moby.buildkit.frontend.subrequests"}}})";
  CliRun fe = RunKilnIn(work,
                        "--root " + root + " image import --config " +
                            (work / "fe.json").string() + " " +
                            (work / "fe").string() + " kiln/dockerfile:1",
                        "");
  if (fe.exit_code != 0) return "importing the frontend: " + fe.err;
  return "";
}

}  // namespace kiln::cli_test

#endif  // KILN_TESTS_CMD_CLI_ENGINE_H_
