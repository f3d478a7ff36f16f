// Whether this host can run a process of another platform: the check the
// solver makes before an exec whose op platform is not the host's, so the
// exec fails before it starts with a message naming what is missing, rather
// than with "exec format error" from inside the container.
//
// A platform runs natively when it is the host's (after normalization) or a
// sub-architecture the host's CPU executes: 386 on amd64, and arm (v5–v8) on
// arm64 as containerd's platform matcher assumes (32-bit arm needs AArch32
// support of the CPU; BuildKit lists it the same way). Any other platform
// needs an enabled binfmt_misc handler whose magic and mask match an ELF
// executable header of that architecture (what qemu-user-static registers),
// with the F (fix binary) flag: without it the kernel looks the interpreter
// up inside the container, where it is absent.
//
// Thread safety: free functions; they read the binfmt directory each call.
#ifndef KILN_SOLVER_EXEC_PLATFORM_H_
#define KILN_SOLVER_EXEC_PLATFORM_H_

#include <string>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"

namespace kiln::solver {

// The default binfmt_misc directory.
inline constexpr const char* kBinfmtMiscDir = "/proc/sys/fs/binfmt_misc";

// Whether `target` runs natively on `host` (see the file comment).
bool RunsNatively(const llb::Platform& target, const llb::Platform& host);

// Ok when a process of `target` can run on `host`: natively, or through an
// enabled binfmt_misc handler under `binfmt_dir` (files as the kernel shows
// them: "enabled", "interpreter …", "flags: …", "offset N", "magic HEX",
// "mask HEX"; plus "status"). FailedPrecondition otherwise:
//   "cannot run linux/arm64 binaries on this linux/amd64 host: no
//   binfmt_misc handler for aarch64 (install qemu-user-static and register
//   it, e.g. with update-binfmts; /proc/sys/fs/binfmt_misc is not mounted)"
// naming the missing piece (directory not mounted, binfmt_misc disabled, the
// handler disabled or without the F flag), and for an architecture whose ELF
// header kiln does not know, that no emulator can be checked for it.
Status CheckExecPlatform(const llb::Platform& target, const llb::Platform& host,
                         const std::string& binfmt_dir = kBinfmtMiscDir);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_EXEC_PLATFORM_H_
