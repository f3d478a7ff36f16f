#include "http_source_cache.h"

#include <cctype>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "fs_util.h"

namespace kiln::solver::internal {

using nlohmann::json;

std::optional<HttpCacheRecord> LoadHttpCacheRecord(const std::string& path) {
  Result<std::string> data = ReadFile(path);
  if (!data.ok()) return std::nullopt;
  try {
    json j = json::parse(*data);
    HttpCacheRecord record;
    record.etag = j.value("etag", "");
    record.last_modified = j.value("last_modified", "");
    record.disposition_filename = j.value("disposition_filename", "");
    Result<Digest> content = Digest::Parse(j.value("content", ""));
    if (!content.ok()) return std::nullopt;
    record.content = *content;
    return record;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

Status SaveHttpCacheRecord(const std::string& path,
                           const HttpCacheRecord& record) {
  json j = {{"etag", record.etag},
            {"last_modified", record.last_modified},
            {"disposition_filename", record.disposition_filename},
            {"content", record.content.str()}};
  // Header values may hold invalid UTF-8: replace rather than throw.
  return WriteFileAtomic(
      path, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string SafeFileName(std::string_view name) {
  while (!name.empty() &&
         std::isspace(static_cast<unsigned char>(name.front()))) {
    name.remove_prefix(1);
  }
  while (!name.empty() &&
         std::isspace(static_cast<unsigned char>(name.back()))) {
    name.remove_suffix(1);
  }
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  size_t slash = name.rfind('/');
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "download";
  }
  if (name.empty() || name == "." || name == "..") return "download";
  return std::string(name);
}

std::string DispositionFilename(std::string_view value) {
  size_t pos = 0;
  while ((pos = value.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < value.size() && value[pos] == ' ') ++pos;
    std::string_view param = value.substr(pos);
    constexpr std::string_view kKey = "filename=";
    if (param.size() < kKey.size()) continue;
    std::string key(param.substr(0, kKey.size()));
    for (char& c : key) c = static_cast<char>(std::tolower(c));
    if (key != kKey) continue;
    param.remove_prefix(kKey.size());
    std::string name;
    if (!param.empty() && param.front() == '"') {
      for (size_t i = 1; i < param.size() && param[i] != '"'; ++i) {
        if (param[i] == '\\' && i + 1 < param.size()) ++i;
        name += param[i];
      }
    } else {
      name = std::string(param.substr(0, param.find(';')));
      while (!name.empty() && name.back() == ' ') name.pop_back();
    }
    if (name.empty() || name.back() == '/') return "";
    return name;
  }
  return "";
}

std::string UrlBaseName(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  size_t path_start = rest.find('/');
  if (path_start == std::string_view::npos) return "";
  std::string_view path = rest.substr(path_start);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  std::string_view base =
      slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::string decoded;  // Go's url.URL.Path is percent-decoded
  for (size_t i = 0; i < base.size(); ++i) {
    if (base[i] == '%' && i + 2 < base.size() + 0 &&
        std::isxdigit(static_cast<unsigned char>(base[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(base[i + 2]))) {
      decoded += static_cast<char>(
          std::stoi(std::string(base.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      decoded += base[i];
    }
  }
  if (decoded.empty() || decoded == "." || decoded == "..") return "";
  return decoded;
}

std::optional<time_t> ParseHttpDate(std::string_view value) {
  std::string text(value);
  struct tm tm = {};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return timegm(&tm);
}

}  // namespace kiln::solver::internal
