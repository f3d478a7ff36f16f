// kiln debug dump-llb: what `buildctl debug dump-llb` does, for kiln.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "commands.h"
#include "kiln/llb/definition.h"
#include "kiln/llb/dump.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: kiln debug dump-llb [--dot] [FILE]

Reads a serialized LLB Definition (pb.Definition bytes, as `buildctl build
--output` consumers and `kiln` frontends produce) from FILE, or from stdin when
FILE is absent or "-", checks its structure, and prints one JSON object per op
in definition order, like `buildctl debug dump-llb`:

  {"Op":{...},"Digest":"sha256:...","OpMetadata":{...}}

Options:
  --dot     Print a Graphviz digraph instead of JSON lines
  -h, --help

Exits 1 with a message naming the offending op when the input is not a valid
Definition (truncated bytes, an input digest that names no op, no ops at all).
)";

bool ReadAll(std::FILE* f, std::string* out) {
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  return std::ferror(f) == 0;
}

// protobuf's parser logs to stderr on some malformed input; the error we
// print ourselves says it better.
void QuietProtobufLog(google::protobuf::LogLevel, const char*, int, const std::string&) {}

}  // namespace

int RunDumpLlb(const std::vector<std::string>& args) {
  bool dot = false;
  std::string path;
  for (const std::string& a : args) {
    if (a == "--dot") {
      dot = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage.data(), stdout);
      return kExitOk;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "kiln debug dump-llb: unknown flag %s\n\n%s", a.c_str(), kUsage.data());
      return kExitUsage;
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "kiln debug dump-llb: more than one input file\n\n%s", kUsage.data());
      return kExitUsage;
    }
  }

  std::string bytes;
  const bool from_stdin = path.empty() || path == "-";
  std::FILE* in = from_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (in == nullptr) {
    std::fprintf(stderr, "kiln debug dump-llb: cannot open %s: %s\n", path.c_str(),
                 std::strerror(errno));
    return kExitFailure;
  }
  const bool read_ok = ReadAll(in, &bytes);
  if (!from_stdin) std::fclose(in);
  if (!read_ok) {
    std::fprintf(stderr, "kiln debug dump-llb: cannot read %s\n",
                 from_stdin ? "stdin" : path.c_str());
    return kExitFailure;
  }

  google::protobuf::SetLogHandler(&QuietProtobufLog);
  auto def = llb::ParseDefinition(bytes);
  if (!def.ok()) {
    std::fprintf(stderr, "kiln debug dump-llb: %s\n", def.status().message().c_str());
    return kExitFailure;
  }
  auto loaded = llb::LoadDefinition(*def);
  if (!loaded.ok()) {
    std::fprintf(stderr, "kiln debug dump-llb: invalid definition: %s\n",
                 loaded.status().message().c_str());
    return kExitFailure;
  }
  std::string out = dot ? llb::DumpDot(*loaded) : llb::DumpJsonLines(*loaded);
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "kiln debug dump-llb: cannot write output: %s\n", std::strerror(errno));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace kiln::cli
