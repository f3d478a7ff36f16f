// Daemon-side providers that answer the solver's questions (local sources,
// secrets, ssh agents) through a client session. A daemon builds one set per
// Solve call, with that call's SolveRequest.Session as the default session.
//
// Thread safety: all methods may be called concurrently (solver.h and
// secrets.h require it).
#ifndef KILN_SESSION_SESSION_PROVIDERS_H_
#define KILN_SESSION_SESSION_PROVIDERS_H_

#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/session/session_manager.h"
#include "kiln/session/transfer_stats.h"
#include "kiln/solver/local_source.h"
#include "kiln/solver/secrets.h"
#include "kiln/solver/solver.h"

namespace kiln::session {

// local:// sources from the client's FileSync (fsutil DiffCopy receiver):
// `dest_dir` is diffed against the client's listing by type, size, mtime,
// mode, owner and link target; only changed regular files are requested,
// entries gone from the listing are deleted, files are written atomically
// (temporary file + rename) with their modes, mtimes and (as root) owners.
// Hostile listings (absolute or ".." paths, entries under a non-directory,
// out of order, duplicates) fail the sync with InvalidArgument; nothing is
// ever written outside `dest_dir`. LocalSyncOptions::state_file is not used.
class SessionLocalProvider : public solver::LocalProvider {
 public:
  // `manager` is borrowed and must outlive this; `default_session` answers
  // Sync calls whose session id is "" (ops without local.session).
  SessionLocalProvider(SessionManager& manager, std::string default_session);

  // Errors: NotFound when the session is not connected or does not serve
  // FileSync, or the client has no such dir; InvalidArgument for a hostile
  // listing; the client's error (ERR packet) as Unknown with its message;
  // Cancelled when `stop` fires; Unavailable when the session breaks. On an
  // error `dest_dir` may be partly updated; the next Sync repairs it.
  Result<solver::LocalSyncStats> Sync(const std::string& session_id,
                                      const std::string& name,
                                      const solver::LocalSyncOptions& options,
                                      const std::string& dest_dir,
                                      std::stop_token stop) override;

  // "<client shared key>:<name>": the same for every session of a client
  // that sends the same shared key, so their builds reuse one synced tree.
  // A session without a shared key (or not connected) gets its own id
  // instead, so nothing is shared with other clients.
  std::string SharedKey(const std::string& session_id,
                        const std::string& name) override;

  // What this provider's syncs transferred so far (also added to the
  // manager's transfer_stats()).
  TransferStats stats() const;

 private:
  std::string SessionFor(const std::string& session_id) const;
  SessionManager& manager_;
  std::string default_session_;
  mutable std::mutex mu_;
  TransferStats stats_;  // guarded by mu_
};

// Secrets from the client's Secrets service. NotFound (naming the id) when
// the client does not serve Secrets or has no such secret (its NotFound or
// Unimplemented); Unavailable when the session is gone.
class SessionSecretProvider : public solver::SecretProvider {
 public:
  SessionSecretProvider(SessionManager& manager, std::string session_id);
  Result<std::string> GetSecret(std::string_view id) override;

 private:
  SessionManager& manager_;
  std::string session_id_;
};

// SSH agents forwarded from the client: AgentSocket(id) asks the client
// (SSH/CheckAgent) and, the first time for an id, creates a Unix socket
// (mode 0600) in a private directory (mode 0700) under `runtime_dir`; every
// connection to it becomes one SSH/ForwardAgent stream (metadata
// buildkit.ssh.id = id) relaying bytes both ways. The sockets and the
// directory are removed by the destructor, which also ends the relays.
class SessionSshProvider : public solver::SshProvider {
 public:
  SessionSshProvider(SessionManager& manager, std::string session_id,
                     std::string runtime_dir);
  ~SessionSshProvider() override;
  SessionSshProvider(const SessionSshProvider&) = delete;
  SessionSshProvider& operator=(const SessionSshProvider&) = delete;

  // NotFound (naming the id) when the client does not serve SSH or has no
  // such agent; Internal when the socket cannot be created.
  Result<std::string> AgentSocket(std::string_view id) override;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::session

#endif  // KILN_SESSION_SESSION_PROVIDERS_H_
