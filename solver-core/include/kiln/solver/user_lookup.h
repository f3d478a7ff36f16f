// Resolving an LLB user string ("uid", "uid:gid", "name", "name:group", any
// mix of names and ids) against a container rootfs's /etc/passwd and
// /etc/group, with the semantics of runc's user.GetExecUser (which BuildKit
// uses for ExecOp):
//
//  - The user part is an id when it is all digits, else a name. A name must
//    have an /etc/passwd entry; an id need not (then gid 0 and home "/").
//    A passwd entry for the id, or the name's entry, gives uid, gid and home.
//  - "" means uid 0, looked up like the id "0".
//  - With a group part, it is an id (no /etc/group entry needed) or a name
//    that must be in /etc/group; it replaces the passwd gid and there are no
//    additional gids.
//  - Without a group part and with a passwd entry, additional_gids are the
//    gids of every /etc/group entry that lists the user's name as a member,
//    in file order.
//  - A missing /etc/passwd or /etc/group reads as empty. Lines that do not
//    parse (too few fields, non-numeric ids) are skipped, as runc does.
//
// Files are read through the rootfs directory with every symlink (in /etc,
// in the file name, in their targets) resolved as if the rootfs were `/`:
// nothing outside the rootfs is ever read.
//
// Thread safety: free functions, no shared state.
#ifndef KILN_SOLVER_USER_LOOKUP_H_
#define KILN_SOLVER_USER_LOOKUP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver {

struct ExecUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home = "/";

  friend bool operator==(const ExecUser&, const ExecUser&) = default;
};

// Resolves `user` from the contents of passwd and group files (nullopt: the
// file does not exist). Errors: NotFound "unable to find user NAME: no
// matching entries in /etc/passwd" (or "group NAME ... /etc/group") for an
// unknown name; InvalidArgument for an empty name part ("uid:" or ":gid"),
// more than one ':' or an id above 2^31-1.
Result<ExecUser> ResolveUserFromFiles(std::string_view user,
                                      const std::optional<std::string>& passwd,
                                      const std::optional<std::string>& group);

// Reads `rootfs`/etc/passwd and /etc/group (resolved inside rootfs, see
// above) and calls ResolveUserFromFiles. Errors: its errors; NotFound when
// `rootfs` is missing; Internal for read failures.
Result<ExecUser> ResolveUser(const std::string& rootfs, std::string_view user);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_USER_LOOKUP_H_
