// Random identifiers for build refs, session ids and the worker id: 25
// characters of [a-z0-9], BuildKit's identity.NewID alphabet and length.
#ifndef KILN_CMD_KILN_RANDOM_ID_H_
#define KILN_CMD_KILN_RANDOM_ID_H_

#include <string>

namespace kiln::cli {

// Thread-safe; seeded from std::random_device on each call.
std::string RandomId();

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_RANDOM_ID_H_
