// Value syntaxes of Go's standard library (and docker/go-units) that the
// instruction layer accepts as upstream does: strconv.ParseBool,
// strconv.ParseUint/ParseInt, time.ParseDuration, units.RAMInBytes and one
// encoding/csv record. Private to the Dockerfile frontend.
#ifndef KILN_DOCKERFILE_GO_VALUES_H_
#define KILN_DOCKERFILE_GO_VALUES_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::dockerfile::govalue {

// "1", "t", "T", "TRUE", "true", "True" and their false forms; else nullopt.
std::optional<bool> ParseBool(std::string_view s);

// Digits of `base` (8 or 10) only, no sign or prefix, at most `max`.
std::optional<uint64_t> ParseUint(std::string_view s, int base, uint64_t max);

// An optional sign then decimal digits, within [min, max].
std::optional<int64_t> ParseInt(std::string_view s, int64_t min, int64_t max);

// time.ParseDuration: "300ms", "1h30m", "-1.5s", "0". Units ns, us, µs,
// μs, ms, s, m, h. Errors: InvalidArgument `time: invalid duration "x"`,
// `time: missing unit in duration "x"`, `time: unknown unit "u" in
// duration "x"`.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view s);

// units.RAMInBytes: "64m", "1.5g", "100", "2KiB" (binary multiples k..p).
std::optional<int64_t> RamInBytes(std::string_view s);

// The first record of `line` read by encoding/csv with default options:
// fields split on ',', `"quoted"` fields with `""` escapes. Errors:
// InvalidArgument for a bare `"` in an unquoted field, an unterminated or
// malformed quoted field, or empty input.
Result<std::vector<std::string>> ReadCsvRecord(std::string_view line);

}  // namespace kiln::dockerfile::govalue

#endif  // KILN_DOCKERFILE_GO_VALUES_H_
