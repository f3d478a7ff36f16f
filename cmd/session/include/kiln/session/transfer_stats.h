// Counters of fsutil DiffCopy transfers (local sources and exports), so
// callers and tests can see what crossed the wire.
#ifndef KILN_SESSION_TRANSFER_STATS_H_
#define KILN_SESSION_TRANSFER_STATS_H_

#include <cstdint>

namespace kiln::session {

struct TransferStats {
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;
  uint64_t entries_listed = 0;   // STAT packets with an entry
  uint64_t files_requested = 0;  // REQ packets (receiver) / served (sender)
  uint64_t data_bytes = 0;       // file bytes in DATA packets
  uint64_t files_written = 0;    // non-directory entries (re)written
  uint64_t files_unchanged = 0;  // non-directory entries kept as they were
  uint64_t entries_deleted = 0;  // entries removed from the destination

  TransferStats& operator+=(const TransferStats& o) {
    packets_sent += o.packets_sent;
    packets_received += o.packets_received;
    entries_listed += o.entries_listed;
    files_requested += o.files_requested;
    data_bytes += o.data_bytes;
    files_written += o.files_written;
    files_unchanged += o.files_unchanged;
    entries_deleted += o.entries_deleted;
    return *this;
  }
};

}  // namespace kiln::session

#endif  // KILN_SESSION_TRANSFER_STATS_H_
