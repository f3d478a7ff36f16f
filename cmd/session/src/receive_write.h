// Writing received entries that are not plain files: symlinks, fifos and
// device nodes (temporary name + rename) and hard links, with their
// attributes. Private to kiln_session.
//
// Thread safety: free functions over directory fds the caller owns.
#ifndef KILN_SESSION_SRC_RECEIVE_WRITE_H_
#define KILN_SESSION_SRC_RECEIVE_WRITE_H_

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <string>

#include "fsutil/types/stat.pb.h"
#include "kiln/llb/status.h"

namespace kiln::session::internal {

timespec Nanos(int64_t ns);
int64_t MtimeNs(const struct stat& st);

// Sets owner (with `chown`), mode (not for symlinks) and mtime of `name` in
// `pfd` from `st`, without following a symlink.
Status SetAttrsAt(int pfd, const std::string& name,
                  const fsutil::types::Stat& st, uint32_t mode, bool chown,
                  const std::string& where);

// Makes the symlink, fifo or device node `st` describes (st_mode `mode`)
// under a temporary name in `pfd`, sets its attributes and renames it over
// `name`. Errors name `where`; nothing temporary is left on error.
Status ReplaceSpecialAt(int pfd, const std::string& name,
                        const fsutil::types::Stat& st, uint32_t mode,
                        bool chown, const std::string& where);

// Makes `st.path()` below `root_fd` a hard link to `st.linkname()` (a
// regular file listed earlier). True when it was (re)linked, false when it
// already was that file. InvalidArgument when the target is not a file.
Result<bool> LinkAt(int root_fd, const std::string& dest,
                    const fsutil::types::Stat& st);

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_RECEIVE_WRITE_H_
