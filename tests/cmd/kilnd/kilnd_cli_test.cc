// `kiln --addr unix://… build`: the CLI's remote mode against a real kilnd,
// with a session carrying the local context and the outputs.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kiln/llb/definition.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kilnd_fixture.h"

namespace kiln::kilnd_test {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class KilndCliTest : public KilndTest {
 protected:
  // `kiln ARGS` with `input` on stdin (a Definition), files under dir_.
  CliRun Kiln(const std::string& args, const std::string& input,
              const std::string& env = "") {
    { std::ofstream(dir_ + "/in", std::ios::binary) << input; }
    std::string cmd = env + " " + std::string(KILN_BINARY) + " " + args + " <" +
                      dir_ + "/in >" + dir_ + "/out 2>" + dir_ + "/err";
    int status = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(dir_ + "/out");
    r.err = Slurp(dir_ + "/err");
    return r;
  }
  std::string Serialized(const llb::State& state) {
    return llb::SerializeDefinition(Definition(state));
  }
  std::string Addr() const { return "--addr unix://" + socket_; }
};

TEST_F(KilndCliTest, ExportsToAClientDirectoryWithPlainProgress) {
  StartDaemon();
  llb::State state = llb::Scratch()
                         .File(llb::Mkfile("/hello", 0644, "hi\n"))
                         .File(llb::Mkdir("/dir", 0755))
                         .File(llb::Mkfile("/dir/nested", 0600, "deep"));
  CliRun r = Kiln(
      Addr() + " build --llb - --progress plain -o type=local,dest=" + dir_ +
          "/result",
      Serialized(state));
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_EQ(Slurp(dir_ + "/result/hello"), "hi\n");
  EXPECT_EQ(Slurp(dir_ + "/result/dir/nested"), "deep");
  EXPECT_EQ(
      fs::status(dir_ + "/result/dir/nested").permissions() & fs::perms::all,
      fs::perms::owner_read | fs::perms::owner_write);
  // The same plain progress as an embedded build.
  EXPECT_NE(r.err.find("#1 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" DONE "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exported type=local"), std::string::npos) << r.err;
}

TEST_F(KilndCliTest, BuildsALocalContextIntoADirectory) {
  StartDaemon();
  fs::create_directories(dir_ + "/ctx/sub");
  { std::ofstream(dir_ + "/ctx/sub/in.txt") << "from the client\n"; }
  llb::State state =
      llb::Scratch()
          .File(llb::Mkfile("/hello", 0644, "hi\n"))
          .File(llb::Copy(llb::Local("context"), "/sub/in.txt", "/copied.txt"));
  CliRun r =
      Kiln(Addr() + " build --llb - --progress plain --local context=" + dir_ +
               "/ctx -o type=local,dest=" + dir_ + "/result",
           Serialized(state));
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_EQ(Slurp(dir_ + "/result/hello"), "hi\n");
  EXPECT_EQ(Slurp(dir_ + "/result/copied.txt"), "from the client\n");
  // The same plain progress as an embedded build.
  EXPECT_NE(r.err.find("#1 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" DONE "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exported type=local"), std::string::npos) << r.err;
}

// Issue 8's acceptance: a second client rebuilding an unchanged
// 10,000-file context transfers no file contents (the local source's
// transfer report in the progress stream).
TEST_F(KilndCliTest, AnUnchangedContextTransfersNothingTheSecondTime) {
  StartDaemon();
  for (int d = 0; d < 100; ++d) {
    std::string sub = dir_ + "/big/d" + std::to_string(d);
    fs::create_directories(sub);
    for (int f = 0; f < 100; ++f) {
      std::ofstream(sub + "/f" + std::to_string(f)) << d << "/" << f << "\n";
    }
  }
  llb::State state = llb::Scratch().File(
      llb::Copy(llb::Local("context"), "/d7/f7", "/picked.txt"));
  const std::string args =
      Addr() + " build --llb - --progress plain --local context=" + dir_ +
      "/big";
  CliRun first = Kiln(args, Serialized(state));
  ASSERT_EQ(first.exit_code, 0) << first.err << "\n" << DaemonLog();
  EXPECT_NE(first.err.find("transferred 10000 files"), std::string::npos)
      << first.err;
  CliRun second = Kiln(args, Serialized(state));
  ASSERT_EQ(second.exit_code, 0) << second.err << "\n" << DaemonLog();
  EXPECT_NE(second.err.find("transferred 0 files (0 bytes), 10000 unchanged"),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find(" CACHED"), std::string::npos) << second.err;
}

TEST_F(KilndCliTest, SecretsComeFromTheClient) {
  StartDaemon();
  { std::ofstream(dir_ + "/token") << "client-secret-4711"; }
  llb::State state =
      llb::Image("busybox:latest")
          .Run({.args = {"/bin/sh", "-c",
                         "cp /run/secrets/tok /got; echo \"$TOK\" >> /got"},
                .secrets = {{.id = "tok",
                             .dest = "/run/secrets/tok",
                             .env = "TOK"}}})
          .Root();
  CliRun r = Kiln(
      Addr() + " build --llb - --progress plain --secret id=tok,src=" + dir_ +
          "/token -o type=local,dest=" + dir_ + "/secret-out",
      Serialized(state));
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_EQ(Slurp(dir_ + "/secret-out/got"),
            "client-secret-4711client-secret-4711\n");
  // A secret the client does not have fails the build clearly (another
  // step: the first one is cached now).
  llb::State other =
      llb::Image("busybox:latest")
          .Run({.args = {"/bin/sh", "-c", "cat /run/secrets/tok"},
                .secrets = {{.id = "tok", .dest = "/run/secrets/tok"}}})
          .Root();
  CliRun missing =
      Kiln(Addr() + " build --llb - --progress plain", Serialized(other));
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("tok"), std::string::npos) << missing.err;
}

TEST_F(KilndCliTest, SshMountsForwardTheClientsAgent) {
  StartDaemon();
  // A stand-in agent: the client's --ssh socket. The daemon puts a socket of
  // its own (under $KILN_ROOT/run) in the step, relayed to this one.
  const std::string agent = dir_ + "/agent.sock";
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", agent.c_str());
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  llb::State state =
      llb::Image("busybox:latest")
          .Run({.args = {"/bin/sh", "-c",
                         "test -S \"$SSH_AUTH_SOCK\" && echo agent > /got"},
                .ssh = {{.id = "default"}}})
          .Root();
  CliRun r =
      Kiln(Addr() + " build --llb - --progress plain --ssh default=" + agent +
               " -o type=local,dest=" + dir_ + "/ssh-out",
           Serialized(state));
  close(listener);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_EQ(Slurp(dir_ + "/ssh-out/got"), "agent\n");
}

TEST_F(KilndCliTest, TarToStdoutThroughKilnHost) {
  StartDaemon();
  llb::State state = llb::Scratch().File(llb::Mkfile("/t.txt", 0644, "tar me"));
  CliRun r = Kiln("build --llb - --progress quiet -o type=tar,dest=-",
                  Serialized(state), "KILN_HOST=unix://" + socket_);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_NE(r.out.find("t.txt"), std::string::npos);
  EXPECT_NE(r.out.find("tar me"), std::string::npos);
  EXPECT_NE(r.out.find("ustar"), std::string::npos);
}

TEST_F(KilndCliTest, AFailingStepShowsItsLogTailAndExitsOne) {
  StartDaemon();
  llb::State state =
      llb::Image("busybox:latest")
          .Run({.args = {"/bin/sh", "-c", "echo remote-oops; exit 3"}})
          .Root();
  CliRun r =
      Kiln(Addr() + " build --llb - --progress plain", Serialized(state));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("remote-oops"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("------"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\nerror: "), std::string::npos) << r.err;
}

TEST_F(KilndCliTest, InterruptingTheClientCancelsTheRemoteBuild) {
  StartDaemon();
  llb::State state =
      llb::Image("busybox:latest")
          .Run({.args = {"/bin/sh", "-c", "echo waiting-for-sigint; sleep 60"}})
          .Root();
  { std::ofstream(dir_ + "/slow.pb", std::ios::binary) << Serialized(state); }
  std::string cmd = std::string(KILN_BINARY) + " " + Addr() + " build --llb " +
                    dir_ + "/slow.pb --progress plain 2>" + dir_ +
                    "/slow.err & echo $! >" + dir_ + "/slow.pid; wait";
  std::thread client([&] { (void)!std::system(cmd.c_str()); });
  // Interrupt once the step runs.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Slurp(dir_ + "/slow.err").find("waiting-for-sigint") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(Slurp(dir_ + "/slow.err").find("waiting-for-sigint"),
            std::string::npos)
      << Slurp(dir_ + "/slow.err") << DaemonLog();
  pid_t pid = std::stoi(Slurp(dir_ + "/slow.pid"));
  kill(pid, SIGINT);
  client.join();
  std::string err = Slurp(dir_ + "/slow.err");
  EXPECT_NE(err.find("cancelling the build"), std::string::npos) << err;
  EXPECT_NE(err.find("error: "), std::string::npos) << err;
  // The daemon is idle again: a build after it runs at once.
  llb::State quick = llb::Scratch().File(llb::Mkfile("/q", 0644, "q"));
  CliRun r =
      Kiln(Addr() + " build --llb - --progress quiet", Serialized(quick));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(KilndCliTest, DuAndPruneAskTheDaemon) {
  StartDaemon();
  llb::State state = llb::Scratch().File(llb::Mkfile("/d", 0644, "cache me"));
  ASSERT_EQ(Kiln(Addr() + " build --llb - --progress quiet", Serialized(state))
                .exit_code,
            0);
  CliRun du = Kiln(Addr() + " du", "");
  ASSERT_EQ(du.exit_code, 0) << du.err;
  EXPECT_NE(du.out.find("RECLAIMABLE"), std::string::npos) << du.out;
  EXPECT_NE(du.out.find("Total:"), std::string::npos) << du.out;
  EXPECT_NE(du.out.find("true"), std::string::npos) << du.out;  // a row
  // The daemon's root, not a local one: the CLI's own root stays unused.
  EXPECT_FALSE(fs::exists(dir_ + "/cli-root"));
  CliRun pct = Kiln(Addr() + " prune --keep-storage 10%", "");
  EXPECT_EQ(pct.exit_code, 2) << pct.err;
  CliRun prune = Kiln(Addr() + " --root " + dir_ + "/cli-root prune --all", "");
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_NE(prune.out.find("Total:"), std::string::npos) << prune.out;
  CliRun after = Kiln(Addr() + " du --filter type==regular", "");
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out.find("true"), std::string::npos) << after.out;
  EXPECT_FALSE(fs::exists(dir_ + "/cli-root"));
}

TEST_F(KilndCliTest, NoDaemonIsAClearError) {
  llb::State state = llb::Scratch().File(llb::Mkfile("/x", 0644, "x"));
  CliRun r = Kiln("--addr unix://" + dir_ + "/none.sock build --llb -",
                  Serialized(state));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  r = Kiln("--addr ftp://x build --llb -", Serialized(state));
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace kiln::kilnd_test
