// Helpers shared by the instruction-layer tests: parse one instruction's
// text and get its typed command or its error.
#ifndef KILN_TESTS_DOCKERFILE_INSTRUCTIONS_TEST_UTIL_H_
#define KILN_TESTS_DOCKERFILE_INSTRUCTIONS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "kiln/dockerfile/instructions.h"
#include "kiln/dockerfile/parser.h"

namespace kiln::dockerfile::testing_util {

// The first instruction of `text`, parsed; an error Status when the parser
// or the instruction layer rejects it.
inline Result<Instruction> ParseOne(std::string_view text) {
  Result<ParseResult> parsed = Parse(text, "Dockerfile");
  if (!parsed.ok()) return parsed.status();
  return ParseInstruction(parsed->children.front());
}

// The command T of `text`; a test failure (and a default T) otherwise.
template <typename T>
T MustCommand(std::string_view text) {
  Result<Instruction> instruction = ParseOne(text);
  EXPECT_TRUE(instruction.ok()) << instruction.status().ToString();
  if (!instruction.ok()) return T{};
  const Command* command = std::get_if<Command>(&*instruction);
  EXPECT_NE(command, nullptr) << text;
  if (command == nullptr) return T{};
  const T* typed = std::get_if<T>(command);
  EXPECT_NE(typed, nullptr) << text;
  return typed == nullptr ? T{} : *typed;
}

// The error of `text` (a test failure if it parses).
inline Status ErrorOf(std::string_view text) {
  Result<Instruction> instruction = ParseOne(text);
  EXPECT_FALSE(instruction.ok()) << "accepted: " << text;
  if (instruction.ok()) return InternalError("unexpectedly accepted");
  return instruction.status();
}

// The error message of `text`.
inline std::string MessageOf(std::string_view text) {
  return ErrorOf(text).message();
}

}  // namespace kiln::dockerfile::testing_util

#endif  // KILN_TESTS_DOCKERFILE_INSTRUCTIONS_TEST_UTIL_H_
