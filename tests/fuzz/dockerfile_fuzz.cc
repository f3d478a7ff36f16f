// libFuzzer target for the Dockerfile frontend: any byte string is fed to
// the parser, and what parses goes through every later stage that exists:
// the AST dump, the instruction layer, and shell-word expansion of each
// instruction's raw arguments. Errors are expected and ignored; a crash, a
// sanitizer report, a leak or a hang (libFuzzer's -timeout) is a bug.
//
// Built only in the clang fuzz build (-DKILN_FUZZ=ON); scripts/fuzz builds
// and runs it on the parser conformance Dockerfiles as seed corpus.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/instructions.h"
#include "kiln/dockerfile/parser.h"
#include "kiln/dockerfile/shell_lex.h"

namespace {

namespace df = kiln::dockerfile;

// A small fixed environment: set, set-but-empty, with blanks and with
// glob/quote characters, so that every expansion modifier has work to do.
const df::EnvLookup& FuzzEnv() {
  static const df::EnvLookup env = df::EnvFromList({
      "HOME=/root",
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "EMPTY=",
      "SPACED=a b  c",
      "GLOB=*.tar.gz",
      "QUOTED=\"it's\"",
      "ESC=\\`$",
  });
  return env;
}

// The dump functions must accept every tree the parser produces.
void FuzzDump(const df::ParseResult& parsed) {
  std::string dump = df::Dump(parsed);
  for (const df::Node& node : parsed.children) {
    dump += df::DumpNode(node);
  }
}

// Expands one raw argument the ways the converter will: as words (default
// options) and as one word leaving unset variables alone.
void FuzzWord(std::string_view word, char escape) {
  (void)df::ProcessWords(word, FuzzEnv(), {.escape = escape});
  (void)df::ProcessWord(word, FuzzEnv(),
                        {.escape = escape, .skip_unset_env = true});
}

// Every argument and flag of `node`, and of ONBUILD's sub-instruction.
void FuzzExpansion(const df::Node& node, char escape, int depth) {
  for (const std::string& flag : node.flags) {
    FuzzWord(flag, escape);
  }
  for (const df::Node& arg : node.next) {
    FuzzWord(arg.value, escape);
    if (depth < 4) {
      for (const df::Node& child : arg.children) {
        FuzzExpansion(child, escape, depth + 1);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  kiln::Result<df::ParseResult> parsed = df::Parse(input, "Dockerfile");
  if (!parsed.ok()) {
    return 0;
  }
  FuzzDump(*parsed);
  const char escape = parsed->directives.escape_token;
  for (const df::Node& node : parsed->children) {
    FuzzExpansion(node, escape, 0);
  }
  kiln::Result<df::ParsedDockerfile> instructions =
      df::ParseInstructions(*parsed);
  if (!instructions.ok()) {
    return 0;
  }
  // TODO(convert): once frontends/dockerfile/include/kiln/dockerfile/convert.h
  // declares kiln::dockerfile::Convert, call it here on `*parsed` /
  // `*instructions` (ignoring its errors) so that the whole parse+convert
  // path is fuzzed; that call is all this target needs.
  return 0;
}
