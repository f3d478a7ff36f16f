// The rawjson printer: each event as one BuildKit client.SolveStatus JSON
// object ({"vertexes"|"statuses"|"logs"|"warnings": [...]}) on its own line,
// with Go's field names, RFC 3339 times and base64 for byte fields.
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "progress_printer.h"
#include "progress_printer_internal.h"

namespace kiln::cli {
namespace {

using nlohmann::json;
using solver::ProgressClock;

std::string Base64(std::string_view data) {
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) |
                 (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out += kChars[(n >> 18) & 63];
    out += kChars[(n >> 12) & 63];
    out += kChars[(n >> 6) & 63];
    out += kChars[n & 63];
  }
  if (i < data.size()) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    out += kChars[(n >> 18) & 63];
    out += kChars[(n >> 12) & 63];
    out += i + 1 < data.size() ? kChars[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped.
std::string Time(ProgressClock::time_point t) {
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
          .count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  long frac = static_cast<long>(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    std::string f = internal::Format(".%09ld", frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

class JsonPrinter final : public ProgressPrinter {
 public:
  explicit JsonPrinter(int fd) : fd_(fd) {}

  void OnVertex(const solver::VertexProgress& v) override {
    json j = {{"digest", v.digest.str()}};
    if (!v.inputs.empty()) {
      json inputs = json::array();
      for (const Digest& d : v.inputs) inputs.push_back(d.str());
      j["inputs"] = std::move(inputs);
    }
    if (!v.name.empty()) j["name"] = v.name;
    if (v.started) j["started"] = Time(*v.started);
    if (v.completed) j["completed"] = Time(*v.completed);
    if (v.cached) j["cached"] = true;
    if (!v.error.empty()) j["error"] = v.error;
    if (!v.progress_group.empty()) {
      j["progressGroup"] = {{"id", v.progress_group}};
    }
    Emit("vertexes", std::move(j));
  }

  void OnStatus(const solver::VertexStatusEntry& s) override {
    json j = {{"id", s.id}, {"vertex", s.vertex.str()}};
    if (!s.name.empty()) j["name"] = s.name;
    if (s.total != 0) j["total"] = s.total;
    j["current"] = s.current;
    j["timestamp"] = Time(s.timestamp);
    if (s.started) j["started"] = Time(*s.started);
    if (s.completed) j["completed"] = Time(*s.completed);
    Emit("statuses", std::move(j));
  }

  void OnLog(const solver::VertexLogEntry& l) override {
    json j = {{"vertex", l.vertex.str()}};
    if (l.stream != 0) j["stream"] = l.stream;
    if (!l.data.empty()) j["data"] = Base64(l.data);
    j["timestamp"] = Time(l.timestamp);
    Emit("logs", std::move(j));
  }

  void OnWarning(const solver::VertexWarningEntry& w) override {
    json j = {{"vertex", w.vertex.str()}};
    if (w.level != 0) j["level"] = w.level;
    if (!w.short_message.empty()) j["short"] = Base64(w.short_message);
    if (!w.detail.empty()) {
      json detail = json::array();
      for (const std::string& d : w.detail) detail.push_back(Base64(d));
      j["detail"] = std::move(detail);
    }
    if (!w.url.empty()) j["url"] = w.url;
    Emit("warnings", std::move(j));
  }

  void Finish() override {}
  std::string ErrorLogs() const override { return ""; }

 private:
  void Emit(const char* kind, json entry) {
    json status = {{kind, json::array({std::move(entry)})}};
    // Names and log data need not be UTF-8: replace invalid bytes.
    std::string line =
        status.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mu_);
    internal::WriteAll(fd_, line);
  }

  const int fd_;
  std::mutex mu_;  // keeps lines whole
};

}  // namespace

std::unique_ptr<ProgressPrinter> MakeJsonPrinter(
    const ProgressPrinterOptions& options) {
  return std::make_unique<JsonPrinter>(options.fd);
}

}  // namespace kiln::cli
