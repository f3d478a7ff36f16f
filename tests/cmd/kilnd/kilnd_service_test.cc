// kilnd's other RPCs and its doors: Info, ListWorkers, requests it refuses,
// the peer credential check on its socket, tcp with mutual TLS.
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "kiln/llb/definition.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kilnd_fixture.h"

namespace kiln::kilnd_test {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(KilndTest, InfoAndListWorkers) {
  StartDaemon({},
              "[[worker.oci.gcpolicy]]\nkeepDuration = \"48h\"\n"
              "filters = [\"type==source.local\"]\nmaxUsedSpace = \"512MB\"\n");
  auto stub = Stub();
  {
    grpc::ClientContext ctx;
    wire::InfoResponse info;
    grpc::Status s = stub->Info(&ctx, wire::InfoRequest(), &info);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(info.buildkitversion().package(), "kiln");
    EXPECT_FALSE(info.buildkitversion().version().empty());
  }
  grpc::ClientContext ctx;
  wire::ListWorkersResponse workers;
  grpc::Status s =
      stub->ListWorkers(&ctx, wire::ListWorkersRequest(), &workers);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(workers.record_size(), 1);
  const auto& w = workers.record(0);
  EXPECT_FALSE(w.id().empty());
  EXPECT_EQ(w.labels().at("org.mobyproject.buildkit.worker.executor"), "oci");
  EXPECT_TRUE(w.labels().count("org.mobyproject.buildkit.worker.snapshotter"));
  EXPECT_TRUE(w.labels().count("org.mobyproject.buildkit.worker.hostname"));
  ASSERT_GE(w.platforms_size(), 1);
  EXPECT_EQ(w.platforms(0).os(), "linux");
  // The configured GC policy, as the solver runs it.
  ASSERT_EQ(w.gcpolicy_size(), 1);
  EXPECT_EQ(w.gcpolicy(0).keepduration(), int64_t{48} * 3600 * 1000000000);
  EXPECT_EQ(w.gcpolicy(0).maxusedspace(), int64_t{512} << 20);
  ASSERT_EQ(w.gcpolicy(0).filters_size(), 1);
  EXPECT_EQ(w.gcpolicy(0).filters(0), "type==source.local");
}

TEST_F(KilndTest, RefusesWhatItDoesNotGrantOrSupport) {
  StartDaemon({}, "insecure-entitlements = [\"network.host\"]\n");
  auto stub = Stub();
  auto def = llb::Scratch().File(llb::Mkfile("/f", 0644, "x")).Marshal();
  ASSERT_TRUE(def.ok());
  auto solve = [&](wire::SolveRequest request) {
    request.set_ref("r");
    *request.mutable_definition() = *def;
    grpc::ClientContext ctx;
    wire::SolveResponse response;
    return stub->Solve(&ctx, request, &response);
  };
  wire::SolveRequest insecure;
  insecure.add_entitlements("security.insecure");
  grpc::Status s = solve(insecure);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("security.insecure"), std::string::npos);

  wire::SolveRequest host;
  host.add_entitlements("network.host");
  s = solve(host);
  EXPECT_TRUE(s.ok()) << s.error_message();

  wire::SolveRequest cache;
  auto* local = cache.mutable_cache()->add_exports();
  local->set_type("local");
  (*local->mutable_attrs())["dest"] = "/tmp/x";
  s = solve(cache);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("cache type local"), std::string::npos);

  wire::SolveRequest dest;
  auto* e = dest.add_exporters();
  e->set_type("local");
  (*e->mutable_attrs())["dest"] = "/etc";
  s = solve(dest);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(KilndTest, DiskUsageAndPruneOverTheApi) {
  StartDaemon();
  auto def = llb::Scratch().File(llb::Mkfile("/du", 0644, "usage")).Marshal();
  ASSERT_TRUE(def.ok());
  wire::SolveRequest request;
  *request.mutable_definition() = *def;
  BuildRun run = Build(request, "du-build");
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  auto stub = Stub();
  auto usage = [&] {
    grpc::ClientContext ctx;
    wire::DiskUsageResponse r;
    grpc::Status s = stub->DiskUsage(&ctx, wire::DiskUsageRequest(), &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r;
  };
  wire::DiskUsageResponse before = usage();
  bool regular = false;
  for (const auto& r : before.record()) {
    regular |= r.recordtype() == "regular" && r.size() > 0 && r.has_createdat();
  }
  EXPECT_TRUE(regular) << before.DebugString();
  grpc::ClientContext ctx;
  wire::PruneRequest prune;
  prune.set_all(true);
  auto reader = stub->Prune(&ctx, prune);
  wire::UsageRecord removed;
  int n = 0;
  while (reader->Read(&removed)) ++n;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_GT(n, 0);
  EXPECT_LT(usage().record_size(), before.record_size());
}

// Connects to `path` as uid/gid in a child process (no gRPC there: raw
// socket only), sends the HTTP/2 preface and reports what came back:
// 0 = the daemon closed the connection, 1 = it answered, 2 = no connect.
int ProbeAs(const std::string& path, uid_t uid, gid_t gid) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
      _exit(3);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      _exit(2);
    }
    static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // An empty SETTINGS frame.
    static const char kSettings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    // The daemon may have closed the connection already: no SIGPIPE.
    (void)!send(fd, kPreface, sizeof kPreface - 1, MSG_NOSIGNAL);
    (void)!send(fd, kSettings, sizeof kSettings, MSG_NOSIGNAL);
    struct timeval tv {
      .tv_sec = 10, .tv_usec = 0
    };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    _exit(n > 0 ? 1 : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(KilndTest, SocketChecksPeerCredentials) {
  StartDaemon({"--group", "4242"});
  struct stat st {};
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, 4242u);
  // Open the file mode wide so that only the daemon's own check decides
  // (and the temp dir too: it is 0700).
  ASSERT_EQ(chmod(socket_.c_str(), 0666), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir_ + "/run").c_str(), 0755), 0);
  EXPECT_EQ(ProbeAs(socket_, 65534, 65534), 0) << "a stranger got an answer";
  EXPECT_TRUE(WaitForLog("refused a connection", std::chrono::seconds(10)))
      << DaemonLog();
  EXPECT_NE(DaemonLog().find("uid 65534"), std::string::npos) << DaemonLog();
  EXPECT_EQ(ProbeAs(socket_, 65534, 4242), 1) << "the socket's group refused";
  // Root still gets through.
  grpc::ClientContext ctx;
  wire::InfoResponse info;
  EXPECT_TRUE(Stub()->Info(&ctx, wire::InfoRequest(), &info).ok());
}

TEST_F(KilndTest, RefusesAWorldWritableSocketDirectory) {
  std::string open_dir = dir_ + "/open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0777), 0);
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  std::string cmd = std::string(KILND_BINARY) + " --root " + root_ +
                    " --config /dev/null --addr unix://" + open_dir +
                    "/k.sock 2>" + dir_ + "/err";
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(ReadAll(dir_ + "/err").find("writable by others"),
            std::string::npos)
      << ReadAll(dir_ + "/err");
}

TEST_F(KilndTest, TcpNeedsTlsUnlessLoopback) {
  std::string cmd = std::string(KILND_BINARY) + " --root " + root_ +
                    " --config /dev/null --addr tcp://0.0.0.0:0 2>" + dir_ +
                    "/err";
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(ReadAll(dir_ + "/err").find("needs mutual TLS"), std::string::npos)
      << ReadAll(dir_ + "/err");
}

// A CA, a server certificate for 127.0.0.1 and two client certificates (one
// from another CA), made with the openssl CLI.
bool MakeCerts(const std::string& d) {
  std::string script =
      "set -e; cd " + d +
      "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kiln-ca "
      "-keyout ca.key -out ca.pem 2>/dev/null;"
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
      "-keyout other.key -out other.pem 2>/dev/null;"
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext;"
      "openssl req -newkey rsa:2048 -nodes -subj /CN=kilnd -keyout server.key "
      "-out server.csr 2>/dev/null;"
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null;"
      "openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout "
      "client.key -out client.csr 2>/dev/null;"
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -days 2 -out client.pem 2>/dev/null;"
      "openssl req -newkey rsa:2048 -nodes -subj /CN=rogue -keyout rogue.key "
      "-out rogue.csr 2>/dev/null;"
      "openssl x509 -req -in rogue.csr -CA other.pem -CAkey other.key "
      "-CAcreateserial -days 2 -out rogue.pem 2>/dev/null";
  return std::system(("sh -c \"" + script + "\"").c_str()) == 0;
}

TEST_F(KilndTest, TcpWithMutualTls) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the openssl CLI is not installed";
  }
  const std::string d = dir_ + "/tls";
  ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
  ASSERT_TRUE(MakeCerts(d));
  StartDaemon({"--addr", "tcp://127.0.0.1:0", "--tlscert", d + "/server.pem",
               "--tlskey", d + "/server.key", "--tlscacert", d + "/ca.pem"});
  std::smatch m;
  std::string log = DaemonLog();
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex("listening on tcp://127.0.0.1:(\\d+)")))
      << log;
  const std::string target = "127.0.0.1:" + m[1].str();
  auto info = [&](const std::string& cert, const std::string& key) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadAll(d + "/ca.pem");
    if (!cert.empty()) {
      o.pem_cert_chain = ReadAll(d + "/" + cert);
      o.pem_private_key = ReadAll(d + "/" + key);
    }
    auto stub = wire::Control::NewStub(
        grpc::CreateChannel(target, grpc::SslCredentials(o)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    wire::InfoResponse r;
    return stub->Info(&ctx, wire::InfoRequest(), &r);
  };
  grpc::Status ok = info("client.pem", "client.key");
  EXPECT_TRUE(ok.ok()) << ok.error_message() << "\n" << DaemonLog();
  EXPECT_FALSE(info("", "").ok()) << "no client certificate was accepted";
  EXPECT_FALSE(info("rogue.pem", "rogue.key").ok())
      << "a certificate of another CA was accepted";
  // The CLI with its TLS flags (and the environment's) builds over it.
  auto def = llb::Scratch().File(llb::Mkfile("/f", 0644, "x")).Marshal();
  ASSERT_TRUE(def.ok());
  { std::ofstream(dir_ + "/def.pb") << llb::SerializeDefinition(*def); }
  const std::string build = " build --llb " + dir_ +
                            "/def.pb --progress quiet 2>" + dir_ + "/cli.err";
  std::string cli = std::string(KILN_BINARY) + " --addr tcp://" + target +
                    " --tlscacert " + d + "/ca.pem --tlscert " + d +
                    "/client.pem --tlskey " + d + "/client.key" + build;
  EXPECT_EQ(std::system(cli.c_str()), 0) << ReadAll(dir_ + "/cli.err");
  std::string env = "KILN_HOST=tcp://" + target + " KILN_TLS_CACERT=" + d +
                    "/ca.pem KILN_TLS_CERT=" + d +
                    "/client.pem KILN_TLS_KEY=" + d + "/client.key " +
                    KILN_BINARY + build;
  EXPECT_EQ(std::system(env.c_str()), 0) << ReadAll(dir_ + "/cli.err");
  std::string rogue = std::string(KILN_BINARY) + " --addr tcp://" + target +
                      " --tlscacert " + d + "/ca.pem --tlscert " + d +
                      "/rogue.pem --tlskey " + d + "/rogue.key" + build;
  EXPECT_NE(std::system(rogue.c_str()), 0);
  EXPECT_NE(ReadAll(dir_ + "/cli.err").find("error: "), std::string::npos);
  // Plain text to the TLS port gets nothing either.
  auto plain = wire::Control::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  wire::InfoResponse r;
  EXPECT_FALSE(plain->Info(&ctx, wire::InfoRequest(), &r).ok());
}

}  // namespace
}  // namespace kiln::kilnd_test
