// ReadStdinDockerfile (build_flags.h): `kiln build -` and `-f -`.
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "build_flags.h"

namespace kiln::cli {

Result<std::string> ReadStdinDockerfile(BuildFlags& flags, std::FILE* in,
                                        const std::string& tmp_dir) {
  if (!flags.dockerfile_stdin) return std::string();
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) text.append(buf, n);
  if (std::ferror(in))
    return InternalError("reading the Dockerfile from stdin");
  std::string dir = tmp_dir + "/kiln-stdin-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return InternalError("creating a directory under " + tmp_dir +
                         " for the Dockerfile from stdin failed");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir + "/dockerfile", ec);
  if (!ec && flags.context_stdin) {
    std::filesystem::create_directories(dir + "/context", ec);
  }
  std::string name =
      flags.opts.contains("filename") ? flags.opts["filename"] : "Dockerfile";
  if (name.find('/') != std::string::npos) name = "Dockerfile";
  std::ofstream out(dir + "/dockerfile/" + name, std::ios::binary);
  out << text;
  out.close();
  if (ec || !out) {
    std::filesystem::remove_all(dir, ec);
    return InternalError("writing the Dockerfile from stdin under " + dir);
  }
  flags.opts["filename"] = name;
  flags.locals["dockerfile"] = dir + "/dockerfile";
  if (flags.context_stdin) flags.locals["context"] = dir + "/context";
  return dir;
}

}  // namespace kiln::cli
