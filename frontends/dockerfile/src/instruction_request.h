// What one instruction's parse function gets (upstream's parseRequest), and
// the per-family parse functions. Private to the Dockerfile frontend.
#ifndef KILN_DOCKERFILE_INSTRUCTION_REQUEST_H_
#define KILN_DOCKERFILE_INSTRUCTION_REQUEST_H_

#include <string>
#include <vector>

#include "bflags.h"
#include "kiln/dockerfile/instructions.h"

namespace kiln::dockerfile {

struct Request {
  const Node* node = nullptr;
  std::string keyword;            // upper case
  std::vector<std::string> args;  // upstream's nodeArgs
  BFlags flags;
};

CommandBase MakeBase(const Request& request);

// RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK (instructions_exec.cc).
Result<Command> ParseRun(Request& request);
Result<Command> ParseCmd(Request& request);
Result<Command> ParseEntrypoint(Request& request);
Result<Command> ParseShell(Request& request);
Result<Command> ParseHealthcheck(Request& request);

// COPY and ADD (instructions_files.cc).
Result<Command> ParseCopy(Request& request);
Result<Command> ParseAdd(Request& request);

}  // namespace kiln::dockerfile

#endif  // KILN_DOCKERFILE_INSTRUCTION_REQUEST_H_
