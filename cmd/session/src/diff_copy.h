// fsutil's DiffCopy protocol (control-api.md §4), both roles. Private to
// kiln_session.
//
// Sender: lists `entries` as STAT packets (ids = ordinals), an empty STAT
// ends the listing, then answers each REQ{id} of a regular file with DATA
// chunks and an empty DATA, until the receiver's FIN, which it echoes.
//
// Receiver: makes `dest` match the listing (see session_providers.h's
// SessionLocalProvider for the rules), requesting only regular files whose
// type, size, mtime, mode or owner differ; then sends FIN and waits for the
// sender's. Every listed path is checked (relative, clean, in walk order,
// inside a listed directory) before anything is written, and all writes go
// through directory fds opened without following symlinks, so nothing
// outside `dest` is touched.
//
// Thread safety: each call runs one transfer and owns its threads.
#ifndef KILN_SESSION_SRC_DIFF_COPY_H_
#define KILN_SESSION_SRC_DIFF_COPY_H_

#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/session/transfer_stats.h"
#include "kiln/solver/local_source.h"
#include "packet_stream.h"

namespace kiln::session::internal {

// Errors: the receiver's ERR (Unknown, "receiver: <message>"), an invalid
// REQ (InvalidArgument), a file that cannot be read (sent as ERR too), the
// stream ending before FIN (Unavailable). On error the stream is cancelled.
Status SendDiffCopy(PacketStream& stream, const std::string& root,
                    const std::vector<solver::LocalEntry>& entries,
                    TransferStats& stats);

struct ReceiveOptions {
  // Keep entries of `dest` the listing does not name (FileSend targets).
  bool merge = false;
  // Apply the listed uid/gid (only effective as root).
  bool keep_owner = true;
};

struct ReceiveResult {
  TransferStats stats;
  uint64_t dirs = 0;  // directories in the listing
  // True when the stream ended (or broke) before the listing started: the
  // caller should report the call's own status instead.
  bool closed_early = false;
};

// Errors: InvalidArgument for a hostile or malformed listing; the sender's
// ERR as Unknown ("sender: <message>"); I/O errors naming the path;
// Unavailable when the stream ends before FIN. The result is returned even
// on error (its stats count what happened); check the Status first.
Status ReceiveDiffCopy(PacketStream& stream, const std::string& dest,
                       const ReceiveOptions& options, ReceiveResult& result);

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_DIFF_COPY_H_
