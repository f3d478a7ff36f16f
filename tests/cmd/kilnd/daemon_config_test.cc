// kilnd's config keys and its progress log's ordering.
#include "kilnd/daemon_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "kilnd/progress_log.h"

namespace kiln::kilnd {
namespace {

TEST(DaemonConfigTest, ReadsItsKeysAndLeavesOthersAlone) {
  DaemonConfig c;
  Status s = ApplyDaemonConfig(R"(
root = "/srv/kiln"
insecure-entitlements = ["network.host"]
[grpc]
address = ["unix:///run/k.sock", "tcp://127.0.0.1:9"]
uid = 0
gid = 1234
shutdown-grace = "1m30s"
[grpc.tls]
cert = "c.pem"
key = "k.pem"
ca = "ca.pem"
[worker.oci]
max-parallelism = 3
gc = true
[frontend]
dockerfile = "kiln/dockerfile:1"
)",
                               "kiln.toml", c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.root, "/srv/kiln");
  EXPECT_EQ(c.insecure_entitlements, std::set<std::string>{"network.host"});
  EXPECT_EQ(c.addresses.size(), 2u);
  EXPECT_EQ(c.socket_uid, 0u);
  EXPECT_EQ(c.socket_gid, 1234u);
  EXPECT_EQ(c.shutdown_grace, std::chrono::seconds(90));
  EXPECT_EQ(c.tls.cert, "c.pem");
  EXPECT_EQ(c.tls.key, "k.pem");
  EXPECT_EQ(c.tls.ca, "ca.pem");
  EXPECT_EQ(c.max_parallelism, 3);

  DaemonConfig n;
  ASSERT_TRUE(ApplyDaemonConfig("[grpc]\nshutdown-grace = 5\n", "f", n).ok());
  EXPECT_EQ(n.shutdown_grace, std::chrono::seconds(5));
}

TEST(DaemonConfigTest, BadValuesAreLocatedErrors) {
  for (const char* text : {
           "[grpc]\nadress = []\n",                 // a typo
           "[grpc]\naddress = [\"http://x\"]\n",    // bad address
           "[grpc]\nshutdown-grace = \"soon\"\n",   // bad duration
           "insecure-entitlements = [\"root\"]\n",  // unknown entitlement
           "[grpc.tls]\npassword = \"x\"\n",        // unknown TLS key
           "[worker.oci]\nmax-parallelism = 0\n",   // out of range
           "root = 3\n",                            // wrong type
           "[grpc\n",                               // not TOML
       }) {
    DaemonConfig c;
    Status s = ApplyDaemonConfig(text, "kiln.toml", c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(s.message().rfind("kiln.toml:", 0), 0u) << s.message();
  }
}

TEST(DaemonConfigTest, Durations) {
  EXPECT_EQ(*ParseDuration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*ParseDuration("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDuration("2h"), std::chrono::hours(2));
  EXPECT_EQ(*ParseDuration("7"), std::chrono::seconds(7));
  for (const char* bad : {"", "s", "5x", "-1s", "1s5"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

ProgressLog::Response Vertex(const std::string& name) {
  ProgressLog::Response r;
  r.add_vertexes()->set_name(name);
  return r;
}
ProgressLog::Response Log(const std::string& msg) {
  ProgressLog::Response r;
  r.add_logs()->set_msg(msg);
  return r;
}

TEST(ProgressLogTest, ReplaysEverythingInOrderAndEnds) {
  ProgressLog log;
  log.Append(Vertex("a started"));
  log.Append(Log("a line 1"));
  log.Append(Log("a line 2"));
  log.Append(Vertex("a done"));  // must not overtake the lines
  log.Close();
  log.Append(Vertex("ignored after close"));
  size_t next = 0;
  bool done = false;
  auto batch = log.Read(next, std::chrono::milliseconds(0), done);
  EXPECT_TRUE(done);
  ASSERT_EQ(batch.size(), 2u);
  ASSERT_EQ(batch[0].vertexes_size(), 1);
  EXPECT_EQ(batch[0].vertexes(0).name(), "a started");
  ASSERT_EQ(batch[0].logs_size(), 2);
  EXPECT_EQ(batch[0].logs(1).msg(), "a line 2");
  ASSERT_EQ(batch[1].vertexes_size(), 1);
  EXPECT_EQ(batch[1].vertexes(0).name(), "a done");
  // A late reader gets the same from the start.
  size_t late = 0;
  bool late_done = false;
  EXPECT_EQ(log.Read(late, std::chrono::milliseconds(0), late_done).size(), 2u);
  EXPECT_TRUE(late_done);
}

TEST(ProgressLogTest, ReadWaitsForMore) {
  ProgressLog log;
  size_t next = 0;
  bool done = false;
  EXPECT_TRUE(log.Read(next, std::chrono::milliseconds(10), done).empty());
  EXPECT_FALSE(done);
  log.Append(Log("x"));
  EXPECT_EQ(log.Read(next, std::chrono::milliseconds(10), done).size(), 1u);
  EXPECT_FALSE(done);
  log.Close();
  EXPECT_TRUE(log.Read(next, std::chrono::milliseconds(10), done).empty());
  EXPECT_TRUE(done);
}

TEST(ProgressLogTest, EachVertexLogIsClippedAt2MiB) {
  ProgressLog log;
  const std::string mib(1 << 20, 'x');
  for (int i = 0; i < 5; ++i) {
    ProgressLog::Response r;
    for (const char* v : {"sha256:chatty", "sha256:quiet"}) {
      if (std::string(v) == "sha256:quiet" && i > 0) continue;
      auto* l = r.add_logs();
      l->set_vertex(v);
      l->set_msg(std::string(v) == "sha256:quiet" ? "small" : mib);
    }
    log.Append(r);
  }
  log.Close();
  size_t next = 0;
  bool done = false;
  std::map<std::string, std::string> out;
  for (const auto& r : log.Read(next, std::chrono::milliseconds(0), done)) {
    for (const auto& l : r.logs()) out[l.vertex()] += l.msg();
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(out["sha256:quiet"], "small");
  const std::string& chatty = out["sha256:chatty"];
  EXPECT_EQ(chatty.size(),
            (2u << 20) + std::string("\n[output clipped, log limit 2MiB "
                                     "reached]\n")
                             .size());
  EXPECT_TRUE(chatty.ends_with("[output clipped, log limit 2MiB reached]\n"));
}

}  // namespace
}  // namespace kiln::kilnd
