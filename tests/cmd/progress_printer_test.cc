#include "progress_printer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "progress_printer_internal.h"

namespace kiln::cli {
namespace {

using solver::ProgressClock;
using std::chrono::milliseconds;

const ProgressClock::time_point kT0 =
    ProgressClock::from_time_t(1700000000);  // 2023-11-14T22:13:20Z

// A temporary file the printer writes to; Read() returns all of it.
class Output {
 public:
  Output() : file_(std::tmpfile()) {}
  ~Output() { std::fclose(file_); }
  int fd() const { return fileno(file_); }
  std::string Read() const {
    std::string out;
    char buf[4096];
    off_t off = 0;
    ssize_t n;
    while ((n = pread(fd(), buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

 private:
  FILE* file_;
};

// "a" + std::to_string(n) without GCC 12's -Wrestrict false positive.
std::string Cat(std::string a, int n) { return a.append(std::to_string(n)); }

Digest D(const std::string& s) { return Digest::FromBytes(s); }

solver::VertexProgress Started(const std::string& id, const std::string& name,
                               ProgressClock::time_point at) {
  return {.digest = D(id), .name = name, .started = at};
}

solver::VertexProgress Completed(const std::string& id, const std::string& name,
                                 ProgressClock::time_point started,
                                 ProgressClock::time_point completed,
                                 std::string error = "") {
  return {.digest = D(id),
          .name = name,
          .started = started,
          .completed = completed,
          .error = std::move(error)};
}

solver::VertexLogEntry Log(const std::string& id, std::string data,
                           ProgressClock::time_point at) {
  return {
      .vertex = D(id), .stream = 1, .data = std::move(data), .timestamp = at};
}

TEST(HumanBytesTest, FormatsLikeBuildKitUnits) {
  EXPECT_EQ(internal::HumanBytes(0), "0B");
  EXPECT_EQ(internal::HumanBytes(999), "999B");
  EXPECT_EQ(internal::HumanBytes(1000), "1.00kB");
  EXPECT_EQ(internal::HumanBytes(34870), "34.87kB");
  EXPECT_EQ(internal::HumanBytes(1050000), "1.05MB");
  EXPECT_EQ(internal::HumanBytes(2100000000), "2.10GB");
}

TEST(PlainPrinterTest, PrintsBuildKitPlainOutput) {
  Output out;
  auto p = MakePlainPrinter({.fd = out.fd()});
  const auto t1 = kT0 + milliseconds(40);
  p->OnVertex(Started("a", "[internal] load build definition", kT0));
  p->OnStatus({.vertex = D("a"),
               .id = "transferring context:",
               .current = 2,
               .timestamp = kT0,
               .started = kT0,
               .completed = kT0});
  p->OnVertex(Completed("a", "[internal] load build definition", kT0, t1));
  solver::VertexProgress cached =
      Completed("b", "[1/2] FROM docker.io/library/alpine", t1, t1);
  cached.cached = true;
  p->OnVertex(cached);
  p->OnVertex(Started("c", "[2/2] RUN echo hi", t1));
  p->OnLog(Log("c", "hi\nthe", t1 + milliseconds(123)));
  p->OnVertex(Started("d", "other", t1));
  p->OnLog(Log("c", "re\n", t1 + milliseconds(500)));
  p->OnVertex(Completed("c", "[2/2] RUN echo hi", t1, t1 + milliseconds(1260)));
  p->OnWarning({.vertex = D("d"), .short_message = "something odd"});
  p->OnLog(Log("d", "boom\n", t1 + milliseconds(2001)));
  p->OnVertex(Completed("d", "other", t1, t1 + milliseconds(2100),
                        "process \"false\" did not complete: exit code 1"));
  p->Finish();
  EXPECT_EQ(out.Read(),
            "#1 [internal] load build definition\n"
            "#1 transferring context: 2B done\n"
            "#1 DONE 0.0s\n"
            "\n"
            "#2 [1/2] FROM docker.io/library/alpine\n"
            "#2 CACHED\n"
            "\n"
            "#3 [2/2] RUN echo hi\n"
            "#3 0.123 hi\n"
            "#3 0.123 the\n"
            "#3 ...\n"
            "\n"
            "#4 other\n"
            "#4 ...\n"
            "\n"
            "#3 [2/2] RUN echo hi\n"
            "#3 0.123 there\n"
            "#3 DONE 1.3s\n"
            "\n"
            "#4 other\n"
            "#4 WARN: something odd\n"
            "#4 2.001 boom\n"
            "#4 ERROR: process \"false\" did not complete: exit code 1\n");
  EXPECT_EQ(p->ErrorLogs(),
            "------\n"
            " > other:\n"
            "#4 2.001 boom\n"
            "------\n");
}

TEST(PlainPrinterTest, ThrottlesByteProgressLikeBuildKit) {
  Output out;
  auto p = MakePlainPrinter({.fd = out.fd()});
  p->OnVertex(Started("a", "pull", kT0));
  auto status = [&](int64_t current, int ms, bool done) {
    solver::VertexStatusEntry s{.vertex = D("a"),
                                .id = "sha256:0123abcd",
                                .current = current,
                                .total = 2100000,
                                .timestamp = kT0 + milliseconds(ms),
                                .started = kT0};
    if (done) s.completed = s.timestamp;
    p->OnStatus(s);
  };
  status(1050000, 300, false);   // first: printed
  status(1100000, 400, false);   // +2.4%, 0.1 s later: skipped
  status(1300000, 500, false);   // +12%: printed
  status(1310000, 5600, false);  // 5.1 s later: printed
  status(2100000, 5700, true);   // completed: printed
  p->OnStatus({.vertex = D("a"), .id = "not started", .current = 1});
  p->OnVertex(Completed("a", "pull", kT0, kT0 + milliseconds(5800)));
  EXPECT_EQ(out.Read(),
            "#1 pull\n"
            "#1 sha256:0123abcd 1.05MB / 2.10MB 0.3s\n"
            "#1 sha256:0123abcd 1.30MB / 2.10MB 0.5s\n"
            "#1 sha256:0123abcd 1.31MB / 2.10MB 5.6s\n"
            "#1 sha256:0123abcd 2.10MB / 2.10MB 5.7s done\n"
            "#1 DONE 5.8s\n");
}

TEST(PlainPrinterTest, CancelPartialLinesAndUnstartedVertices) {
  Output out;
  auto p = MakePlainPrinter({.fd = out.fd()});
  p->OnVertex({.digest = D("queued"), .name = "queued"});  // not started
  p->OnVertex(Started("a", "sleep", kT0));
  p->OnLog(Log("a", "no newline", kT0 + milliseconds(5)));
  p->OnVertex(Completed("a", "sleep", kT0, kT0 + milliseconds(90),
                        "exec: context canceled"));
  p->OnVertex(Started("b", "b", kT0));
  p->OnLog(Log("b", "partial", kT0 + milliseconds(1)));
  p->Finish();
  p->Finish();
  EXPECT_EQ(out.Read(),
            "#1 sleep\n"
            "#1 0.005 no newline\n"
            "#1 CANCELED\n"
            "\n"
            "#2 b\n"
            "#2 0.001 partial\n");
  EXPECT_EQ(p->ErrorLogs(), "");  // cancellation is not an error block
}

TEST(PlainPrinterTest, ErrorLogsKeepTheLastTenLines) {
  Output out;
  auto p = MakePlainPrinter({.fd = out.fd()});
  p->OnVertex(Started("a", "RUN make", kT0));
  for (int i = 0; i < 15; ++i) {
    p->OnLog(Log("a", Cat("line ", i) + "\n", kT0));
  }
  p->OnVertex(Completed("a", "RUN make", kT0, kT0, "exit code 2"));
  p->Finish();
  std::string expected = "------\n > RUN make:\n";
  for (int i = 5; i < 15; ++i) {
    expected += Cat("#1 0.000 line ", i) + "\n";
  }
  expected += "------\n";
  EXPECT_EQ(p->ErrorLogs(), expected);
}

TEST(PlainPrinterTest, ConcurrentEventsKeepLinesWhole) {
  Output out;
  auto p = MakePlainPrinter({.fd = out.fd()});
  constexpr int kThreads = 8, kLines = 200;
  for (int t = 0; t < kThreads; ++t) {
    p->OnVertex(Started(Cat("v", t), "v", kT0));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) {
        p->OnLog(Log(Cat("v", t), Cat("t", t) + Cat("-", i) + "\n", kT0));
      }
    });
  }
  for (auto& th : threads) th.join();
  p->Finish();
  std::istringstream lines(out.Read());
  std::set<std::string> seen;
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.find(" 0.000 ") == std::string::npos) continue;
    std::string text = line.substr(line.find(" 0.000 ") + 7);
    EXPECT_TRUE(seen.insert(text).second) << line;
    // "#N" matches the thread's vertex: v<t> is the (t+1)th started.
    size_t dash = text.find('-');
    EXPECT_EQ(line.substr(0, line.find(' ')),
              Cat("#", std::stoi(text.substr(1, dash - 1)) + 1));
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kLines));
}

TEST(TtyPrinterTest, FinalFrameListsVerticesAndFinishes) {
  Output out;
  auto now = kT0 + milliseconds(2500);
  auto p = MakeTtyPrinter({.fd = out.fd(),
                           .now = [&] { return now; },
                           .width = 60,
                           .redraw_ms = 0});
  p->OnVertex(Started("a", "[internal] load build definition", kT0));
  p->OnVertex(Completed("a", "[internal] load build definition", kT0,
                        kT0 + milliseconds(300)));
  solver::VertexProgress cached = Completed("b", "[1/2] FROM alpine", kT0, kT0);
  cached.cached = true;
  p->OnVertex(cached);
  p->Finish();
  std::string s = out.Read();
  EXPECT_NE(s.find("[+] Building 2.5s (2/2) FINISHED\n"), std::string::npos)
      << s;
  EXPECT_NE(s.find(" => [internal] load build definition"), std::string::npos);
  EXPECT_NE(s.find(" 0.3s\x1b[0m\n"), std::string::npos) << s;
  EXPECT_NE(s.find(" => CACHED [1/2] FROM alpine"), std::string::npos);
  EXPECT_NE(s.find("\x1b[34m"), std::string::npos);  // done: blue
  // Lines are padded to the width less one, timer right-aligned.
  size_t at = s.find(" => [internal]");
  EXPECT_EQ(s.find('\x1b', at) - at, 59u);
}

TEST(TtyPrinterTest, RedrawsRunningVerticesWithTheirLastLogs) {
  Output out;
  std::atomic<int64_t> ms{1000};
  auto p = MakeTtyPrinter({.fd = out.fd(),
                           .now = [&] { return kT0 + milliseconds(ms.load()); },
                           .redraw_ms = 10});
  p->OnVertex(Started("a", "RUN make", kT0));
  p->OnVertex({.digest = D("b"), .name = "later"});  // counted, not shown
  for (int i = 0; i < 8; ++i) {
    p->OnLog(Log("a", Cat("log ", i) + "\n", kT0));
  }
  for (int i = 0; i < 200 && out.Read().find("log 7") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::string live = out.Read();
  EXPECT_NE(live.find("[+] Building 1.0s (0/2)"), std::string::npos) << live;
  EXPECT_NE(live.find(" => => # log 7\n"), std::string::npos) << live;
  EXPECT_NE(live.find(" => => # log 2\n"), std::string::npos);
  EXPECT_EQ(live.find(" => => # log 1\n"), std::string::npos);  // 6 shown
  ms = 3000;
  p->OnVertex(
      Completed("a", "RUN make", kT0, kT0 + milliseconds(2000), "exit code 2"));
  p->Finish();
  std::string all = out.Read();
  std::string final_frame = all.substr(all.rfind("[+] Building"));
  // buildx says FINISHED on the last frame, failed build or not.
  EXPECT_NE(final_frame.find("[+] Building 3.0s (1/2) FINISHED\n"),
            std::string::npos)
      << final_frame;
  EXPECT_NE(final_frame.find(" => ERROR RUN make"), std::string::npos);
  EXPECT_NE(final_frame.find(" 2.0s"), std::string::npos);
  EXPECT_EQ(final_frame.find("# log"), std::string::npos);  // collapsed
  EXPECT_NE(all.find("A\r\x1b[J"), std::string::npos);      // cursor moved up
  EXPECT_NE(p->ErrorLogs().find("#1 0.000 log 7\n------\n"), std::string::npos);
}

TEST(JsonPrinterTest, WritesSolveStatusLines) {
  Output out;
  auto p = MakeJsonPrinter({.fd = out.fd()});
  solver::VertexProgress v =
      Completed("a", "RUN x", kT0, kT0 + milliseconds(123));
  v.cached = true;
  v.inputs = {D("b")};
  p->OnVertex(v);
  p->OnLog(Log("a", "hi\n", kT0 + milliseconds(5)));
  p->OnStatus({.vertex = D("a"),
               .id = "x",
               .current = 3,
               .total = 9,
               .timestamp = kT0});
  p->OnWarning(
      {.vertex = D("a"), .level = 1, .short_message = "w", .detail = {"d1"}});
  p->Finish();
  std::istringstream lines(out.Read());
  std::vector<nlohmann::json> docs;
  std::string line;
  while (std::getline(lines, line)) docs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(docs.size(), 4u);
  const auto& vtx = docs[0]["vertexes"][0];
  EXPECT_EQ(vtx["digest"], D("a").str());
  EXPECT_EQ(vtx["inputs"][0], D("b").str());
  EXPECT_EQ(vtx["started"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(vtx["completed"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(vtx["cached"], true);
  EXPECT_EQ(docs[1]["logs"][0]["data"], "aGkK");
  EXPECT_EQ(docs[1]["logs"][0]["stream"], 1);
  EXPECT_EQ(docs[2]["statuses"][0]["total"], 9);
  EXPECT_EQ(docs[2]["statuses"][0]["current"], 3);
  EXPECT_EQ(docs[3]["warnings"][0]["short"], "dw==");
  EXPECT_EQ(docs[3]["warnings"][0]["detail"][0], "ZDE=");
}

TEST(MakeProgressPrinterTest, AutoIsPlainOffATerminalAndModesAreChecked) {
  Output out;
  auto p = MakeProgressPrinter("auto", out.fd());
  ASSERT_TRUE(p.ok());
  (*p)->OnVertex(Started("a", "step", kT0));
  (*p)->Finish();
  EXPECT_EQ(out.Read(), "#1 step\n");
  for (const char* mode : {"plain", "tty", "rawjson", "quiet"}) {
    EXPECT_TRUE(MakeProgressPrinter(mode, out.fd()).ok()) << mode;
  }
  auto bad = MakeProgressPrinter("fancy", out.fd());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("fancy"), std::string::npos);
}

// A frontend vertex fails because the step of its nested solve failed: the
// error block is the step's alone, in both printers.
TEST(ErrorLogsTest, OnlyTheStepThatFailedNotTheFrontendAboveIt) {
  for (bool tty : {false, true}) {
    Output out;
    ProgressPrinterOptions options{
        .fd = out.fd(), .now = [] { return kT0; }, .redraw_ms = 0};
    auto p = tty ? MakeTtyPrinter(options) : MakePlainPrinter(options);
    p->OnVertex(Started("fe", "[frontend] kiln/dockerfile:1", kT0));
    p->OnVertex(Started("run", "[2/2] RUN make", kT0));
    p->OnLog(Log("run", "make: *** failed\n", kT0));
    p->OnLog(Log("fe", "make: *** failed\n", kT0));
    p->OnVertex(Completed("run", "[2/2] RUN make", kT0, kT0,
                          "process \"make\" exit code: 2"));
    p->OnVertex(Completed("fe", "[frontend] kiln/dockerfile:1", kT0, kT0,
                          "bridge Solve: \"[2/2] RUN make\" (op sha256:1): "
                          "exit code: 2"));
    p->Finish();
    std::string logs = p->ErrorLogs();
    EXPECT_NE(logs.find(" > [2/2] RUN make:\n"), std::string::npos)
        << tty << logs;
    EXPECT_EQ(logs.find("[frontend]"), std::string::npos) << tty << logs;
  }
}

TEST(ErrorLogsTest, FailedBecauseOfAnother) {
  std::vector<std::string> failed = {"a", "[2/2] RUN x"};
  EXPECT_TRUE(internal::FailedBecauseOfAnother("solve: \"[2/2] RUN x\" failed",
                                               "fe", failed));
  EXPECT_FALSE(internal::FailedBecauseOfAnother("exit code: 1", "fe", failed));
  // Its own name does not count.
  EXPECT_FALSE(internal::FailedBecauseOfAnother("\"a\" failed", "a", {"a"}));
}

}  // namespace
}  // namespace kiln::cli
