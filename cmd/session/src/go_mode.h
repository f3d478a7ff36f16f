// Go os.FileMode bits (as fsutil's Stat.mode carries them) to and from
// st_mode. Private to kiln_session.
#ifndef KILN_SESSION_SRC_GO_MODE_H_
#define KILN_SESSION_SRC_GO_MODE_H_

#include <sys/stat.h>

#include <cstdint>

namespace kiln::session::internal {

inline constexpr uint32_t kGoModeDir = 1u << 31;
inline constexpr uint32_t kGoModeSymlink = 1u << 27;
inline constexpr uint32_t kGoModeDevice = 1u << 26;
inline constexpr uint32_t kGoModeNamedPipe = 1u << 25;
inline constexpr uint32_t kGoModeSocket = 1u << 24;
inline constexpr uint32_t kGoModeSetuid = 1u << 23;
inline constexpr uint32_t kGoModeSetgid = 1u << 22;
inline constexpr uint32_t kGoModeCharDevice = 1u << 21;
inline constexpr uint32_t kGoModeSticky = 1u << 20;
inline constexpr uint32_t kGoModeIrregular = 1u << 19;
// os.ModeType: the bits that make an entry something else than a file.
inline constexpr uint32_t kGoModeType =
    kGoModeDir | kGoModeSymlink | kGoModeNamedPipe | kGoModeSocket |
    kGoModeDevice | kGoModeCharDevice | kGoModeIrregular;

inline uint32_t GoModeFromStMode(uint32_t st_mode) {
  uint32_t m = st_mode & 0777;
  switch (st_mode & S_IFMT) {
    case S_IFDIR:
      m |= kGoModeDir;
      break;
    case S_IFLNK:
      m |= kGoModeSymlink;
      break;
    case S_IFIFO:
      m |= kGoModeNamedPipe;
      break;
    case S_IFSOCK:
      m |= kGoModeSocket;
      break;
    case S_IFBLK:
      m |= kGoModeDevice;
      break;
    case S_IFCHR:
      m |= kGoModeDevice | kGoModeCharDevice;
      break;
    default:
      break;
  }
  if (st_mode & S_ISUID) m |= kGoModeSetuid;
  if (st_mode & S_ISGID) m |= kGoModeSetgid;
  if (st_mode & S_ISVTX) m |= kGoModeSticky;
  return m;
}

// The st_mode of a Go mode; 0 for a type st_mode cannot express
// (os.ModeIrregular and unknown combinations).
inline uint32_t StModeFromGoMode(uint32_t go_mode) {
  uint32_t m = go_mode & 0777;
  if (go_mode & kGoModeSetuid) m |= S_ISUID;
  if (go_mode & kGoModeSetgid) m |= S_ISGID;
  if (go_mode & kGoModeSticky) m |= S_ISVTX;
  switch (go_mode & kGoModeType) {
    case 0:
      return m | S_IFREG;
    case kGoModeDir:
      return m | S_IFDIR;
    case kGoModeSymlink:
      return m | S_IFLNK;
    case kGoModeNamedPipe:
      return m | S_IFIFO;
    case kGoModeSocket:
      return m | S_IFSOCK;
    case kGoModeDevice:
      return m | S_IFBLK;
    case kGoModeDevice | kGoModeCharDevice:
      return m | S_IFCHR;
    default:
      return 0;
  }
}

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_GO_MODE_H_
