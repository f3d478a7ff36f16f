// Snapshotters: layered filesystem trees, as containerd's
// snapshots.Snapshotter.
//
// A snapshot is named by a caller-chosen string (chain IDs for image layers,
// any key for work in progress) and is one of:
//
//  - active: writable, made by Prepare() on an optional committed parent;
//  - committed: read-only, made from an active snapshot by Commit(); only
//    committed snapshots can be parents;
//  - view: a read-only snapshot of a committed parent, made by View().
//
// A snapshotter hands out mount specs (Mount, like containerd's mount.Mount)
// rather than mounting anything itself: the executor mounts them (mount(2)
// with `type`, `source` and the comma-joined `options`; a "bind" type means
// MS_BIND, plus MS_REC for "rbind" and a read-only remount for "ro").
//
// Layout under the root directory:
//   metadata.json        every snapshot record (name, id, parent, kind) and
//                        the snapshotter kind; replaced atomically (write a
//                        temp file, fsync, rename, fsync the directory)
//   snapshots/<id>/fs    the snapshot's tree (overlay: its upper dir)
//   snapshots/<id>/work  overlay only: the overlay work dir
//   l/<base36 id>        overlay only: a short link to snapshots/<id>/fs,
//                        which lowerdir= names so that long chains (128
//                        layers under /var/lib/kiln) fit one page of mount
//                        options
//   lock                 flock()ed while a snapshotter has the root open
// A crash leaves at worst a snapshots/<id> directory without a record, which
// the next open removes. Commit syncs the filesystem before recording, so a
// committed snapshot's bytes are on disk.
//
// Thread safety: all methods may be called concurrently from many threads.
// One root is owned by one Snapshotter at a time (even across processes):
// opening a root that is open elsewhere fails.
#ifndef KILN_SOLVER_SNAPSHOTTER_H_
#define KILN_SOLVER_SNAPSHOTTER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver {

// A mount to perform, as containerd's mount.Mount.
struct Mount {
  std::string type;    // "overlay" or "bind"
  std::string source;  // "overlay", or the directory to bind
  std::vector<std::string>
      options;  // e.g. "lowerdir=a:b", "upperdir=u", "rbind", "ro"

  friend bool operator==(const Mount&, const Mount&) = default;
};

enum class SnapshotKind { kActive, kCommitted, kView };

struct SnapshotInfo {
  std::string name;
  std::string parent;  // empty when the snapshot has none
  SnapshotKind kind = SnapshotKind::kActive;
};

enum class SnapshotterKind {
  // OpenSnapshotter only: the kind recorded in an existing root, else overlay
  // when we are root and an overlay mount works under the root, else copy.
  kAuto,
  // overlayfs: a snapshot stores only its own changes; a chain is mounted as
  // an overlay. Needs root and an upper-capable filesystem under the root.
  kOverlay,
  // Plain directories: Prepare copies the parent's whole tree (a real copy
  // preserving metadata; reflinks where the filesystem has them), so it
  // works anywhere, unprivileged too, at the cost of space and time.
  kCopy,
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // kOverlay or kCopy.
  virtual SnapshotterKind kind() const = 0;

  // Creates the active snapshot `key` on the committed snapshot `parent`
  // (empty: no parent) and returns its writable directory, owned by the
  // snapshotter (valid until Remove): for overlay the empty upper dir, for
  // copy a full copy of the parent's tree.
  // Errors: InvalidArgument for an empty or oversized name; AlreadyExists
  // when `key` exists; NotFound when `parent` does not; FailedPrecondition
  // when `parent` is not committed; Internal for I/O failures.
  virtual Result<std::string> Prepare(const std::string& key,
                                      const std::string& parent) = 0;

  // Creates the view snapshot `key` of the committed `parent` and returns its
  // read-only mounts (no copy is made: committed trees never change).
  // Errors as Prepare.
  virtual Result<std::vector<Mount>> View(const std::string& key,
                                          const std::string& parent) = 0;

  // The mounts that present snapshot `name`: read-write for an active
  // snapshot (overlay: lowerdir=parent chain nearest first, upperdir,
  // workdir; with no parent, or for copy: a "rbind","rw" bind of its tree),
  // read-only for a committed or view snapshot (a "rbind","ro" bind of a
  // single tree, or an overlay of lowerdirs only). NotFound when absent.
  virtual Result<std::vector<Mount>> Mounts(const std::string& name) = 0;

  // Turns the active snapshot `key` into the committed snapshot `name` (key
  // ceases to exist). Syncs its files first. Errors: NotFound for a missing
  // key; FailedPrecondition when key is not active; AlreadyExists when
  // `name` exists (the active snapshot is left as it was).
  virtual Status Commit(const std::string& name, const std::string& key) = 0;

  // NotFound when absent.
  virtual Result<SnapshotInfo> Stat(const std::string& name) = 0;

  // Removes a snapshot and its files. NotFound when absent;
  // FailedPrecondition while other snapshots have it as parent.
  virtual Status Remove(const std::string& name) = 0;

  // Every snapshot, sorted by name.
  virtual Result<std::vector<SnapshotInfo>> List() = 0;

  // The directory holding snapshot `name`'s own tree, owned by the
  // snapshotter (valid until Remove; read-only for a committed snapshot):
  // overlay: its upper dir (its changes only, with overlay whiteouts);
  // copy: its full tree. Layer diffs read it (layer_diff.h). Errors:
  // NotFound when absent; FailedPrecondition for a view (it owns no tree).
  virtual Result<std::string> OwnDir(const std::string& name) = 0;
};

// Opens (creating if needed) the snapshotter rooted at `root`. With kAuto,
// an existing root keeps its recorded kind; a new one probes overlay support
// by mounting a small overlay in a temp dir under root (then unmounting and
// removing it). Errors: FailedPrecondition when `kind` differs from the kind
// recorded in root, when kOverlay is asked for (or recorded) but unusable
// (the reason is in the message), or when the root is open elsewhere;
// DataLoss for unreadable metadata; Internal for I/O failures.
Result<std::unique_ptr<Snapshotter>> OpenSnapshotter(const std::string& root,
                                                     SnapshotterKind kind);

// "auto", "overlay" or "copy".
std::string_view SnapshotterKindName(SnapshotterKind kind);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_SNAPSHOTTER_H_
