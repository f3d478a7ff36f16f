// Daemon side of FileSend (BuildKit's filesync.CopyToCaller and
// CopyFileWriter): an exporter's output goes to the client, which chose the
// destination (client_session.h's ExportTarget) for each exporter id.
//
// Wire shapes, as BuildKit: a directory is an fsutil DiffCopy with the daemon
// as sender (each gRPC message on FileSend/DiffCopy is a serialized
// fsutil.types.Packet); a file is its bytes in BytesMessage chunks, ended by
// closing the stream. The metadata buildkit-attachable-exporter-id selects
// the target and exporter-md-<key> carries `metadata`.
//
// Thread safety: free functions; a ClientFileWriter is used by one thread.
#ifndef KILN_SESSION_FILE_SEND_H_
#define KILN_SESSION_FILE_SEND_H_

#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "kiln/llb/status.h"
#include "kiln/session/session_manager.h"
#include "kiln/session/transfer_stats.h"

namespace kiln::session {

inline constexpr char kMetaExporterId[] = "buildkit-attachable-exporter-id";
inline constexpr char kMetaExporterPrefix[] = "exporter-md-";

// Sends the tree at `dir` to the client's target `exporter_id`. Errors:
// FailedPrecondition when the client does not serve FileSend; the client's
// error (NotFound for an unknown exporter id, its ERR packet) otherwise;
// Cancelled when `stop` fires.
Result<TransferStats> SendDirToClient(Session& session,
                                      const std::string& exporter_id,
                                      const std::string& dir,
                                      std::stop_token stop = {});

// A stream of bytes to the client's target `exporter_id`. Close() reports
// whether the client stored all of it; destroying without Close() (or
// Abort()) cancels the call, and the client discards what it got.
class ClientFileWriter {
 public:
  virtual ~ClientFileWriter() = default;
  virtual Status Write(std::string_view data) = 0;
  virtual Status Close() = 0;
  virtual void Abort() = 0;
};

// Errors as SendDirToClient.
Result<std::unique_ptr<ClientFileWriter>> OpenClientFile(
    Session& session, const std::string& exporter_id,
    const std::map<std::string, std::string>& metadata = {});

// The bytes of the file `path`, through OpenClientFile.
Status SendFileToClient(Session& session, const std::string& exporter_id,
                        const std::string& path,
                        const std::map<std::string, std::string>& metadata = {},
                        std::stop_token stop = {});

}  // namespace kiln::session

#endif  // KILN_SESSION_FILE_SEND_H_
