// libarchive's last error on an archive handle as text, for Status messages.
// Private to solver-core.
//
// Thread safety: reads the handle's error state; one thread per handle.
#ifndef KILN_SOLVER_SRC_ARCHIVE_ERROR_H_
#define KILN_SOLVER_SRC_ARCHIVE_ERROR_H_

#include <archive.h>

#include <string>

namespace kiln::solver::internal {

// archive_error_string(a), or a placeholder when libarchive set none (it
// returns null then, which must not reach a std::string).
inline std::string ArchiveErrorText(struct archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_ARCHIVE_ERROR_H_
