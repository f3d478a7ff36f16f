// Builds a small multi-stage LLB graph with kiln's builder and writes the
// serialized Definition to stdout, e.g.:
//
//   hello_graph | kiln debug dump-llb
//
// The graph: compile in one stage (with a cache mount and a secret), copy the
// result into a fresh base image, add a config file.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

using namespace kiln::llb;  // NOLINT: example brevity

int main() {
  if (isatty(STDOUT_FILENO)) {
    std::fprintf(stderr, "hello_graph writes binary protobuf; pipe it: hello_graph | kiln debug dump-llb\n");
    return 2;
  }
  State context = Local("context", {.include_patterns = {"src/", "Makefile"},
                                    .shared_key_hint = "context",
                                    .op = {.custom_name = "[internal] load build context"}});

  State builder = Image("busybox:latest", {.op = {.custom_name = "[build 1/3] FROM busybox:latest"}})
                      .AddEnv("PATH", "/usr/local/bin:/usr/bin:/bin")
                      .Dir("/src");
  builder = builder.File(Copy(context, "src/", "/src/", {.copy_dir_contents_only = true, .create_dest_path = true}),
                         {.custom_name = "[build 2/3] COPY src/ /src/"});
  RunOptions compile{.args = {"/bin/sh", "-c", "cat *.txt > /out/hello && chmod +x /out/hello"},
                     .op = {.custom_name = "[build 3/3] RUN cat *.txt > /out/hello"}};
  compile.mounts.push_back(Mount::Cache("/root/.cache", "build-cache", CacheSharing::kLocked));
  compile.mounts.push_back(Mount::Bind("/out", Scratch()));
  compile.secrets.push_back({.id = "token", .dest = "/run/secrets/token", .optional = true});
  ExecState built = builder.Run(compile);
  auto out = built.GetMount("/out");
  if (!out.ok()) {
    std::fprintf(stderr, "hello_graph: %s\n", out.status().ToString().c_str());
    return 1;
  }

  State final_stage = Image("busybox:latest", {.op = {.custom_name = "[stage-1 1/3] FROM busybox:latest"}});
  final_stage = final_stage.File(
      Copy(*out, "/hello", "/usr/local/bin/hello",
           {.owner = ChownOpt::Parse("0:0").value(), .create_dest_path = true}),
      {.custom_name = "[stage-1 2/3] COPY --from=build /out/hello /usr/local/bin/hello"});
  final_stage = final_stage.File(
      Mkdir("/etc/hello", 0755, {.make_parents = true})
          .Mkfile("/etc/hello/config", 0644, "greeting=hello\n"),
      {.custom_name = "[stage-1 3/3] add config"});

  auto def = final_stage.Marshal({.platform = Platform{"linux", "amd64", "", "", {}}});
  if (!def.ok()) {
    std::fprintf(stderr, "hello_graph: %s\n", def.status().ToString().c_str());
    return 1;
  }
  std::string bytes = SerializeDefinition(*def);
  return std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size() ? 0 : 1;
}
