#include "content_checksum_cache.h"

#include <charconv>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "sha256_hasher.h"

namespace kiln::solver::internal {
namespace {

constexpr std::string_view kMagic = "kiln-contenthash-v2\n";

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool Unescape(std::string_view s, std::string& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) return false;
    if (s[i] == '\\') {
      out += '\\';
    } else if (s[i] == 'n') {
      out += '\n';
    } else {
      return false;
    }
  }
  return true;
}

std::string HashHex(std::string_view data) {
  return std::string(Digest::FromBytes(data).hex());
}

// Reads the next space-terminated field of `line` into `value`.
template <typename T>
bool Field(std::string_view& line, T& value) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  auto [p, ec] = std::from_chars(line.data(), line.data() + sp, value);
  if (ec != std::errc() || p != line.data() + sp) return false;
  line.remove_prefix(sp + 1);
  return true;
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string SerializeChecksumCache(
    const std::map<std::string, CachedFile>& files) {
  std::string out(kMagic);
  for (const auto& [path, f] : files) {
    out += f.hex + ' ' + std::to_string(f.size) + ' ' +
           std::to_string(f.mtime_ns) + ' ' + std::to_string(f.ctime_ns) + ' ' +
           std::to_string(f.ino) + ' ' + std::to_string(f.dev) + ' ' +
           std::to_string(f.mode) + ' ' +
           std::to_string(static_cast<int>(f.xattrs)) + ' ' + Escape(path) +
           '\n';
  }
  std::string trailer =
      "end " + std::to_string(files.size()) + ' ' + HashHex(out) + '\n';
  return out + trailer;
}

std::map<std::string, CachedFile> ParseChecksumCache(std::string_view data) {
  std::map<std::string, CachedFile> files;
  if (!data.starts_with(kMagic) || data.empty() || data.back() != '\n') {
    return {};
  }
  size_t end_pos = data.rfind("\nend ", data.size() - 1);
  if (end_pos == std::string_view::npos) return {};
  std::string_view body = data.substr(0, end_pos + 1);
  std::string_view trailer = data.substr(end_pos + 5);
  trailer.remove_suffix(1);  // '\n'
  size_t count = 0;
  if (!Field(trailer, count) || trailer != HashHex(body)) return {};
  body.remove_prefix(kMagic.size());
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    if (line.size() < 65 || line[64] != ' ' || !IsHex64(line.substr(0, 64))) {
      return {};
    }
    CachedFile f;
    f.hex = std::string(line.substr(0, 64));
    line.remove_prefix(65);
    std::string path;
    uint32_t xattrs = 0;
    if (!Field(line, f.size) || !Field(line, f.mtime_ns) ||
        !Field(line, f.ctime_ns) || !Field(line, f.ino) ||
        !Field(line, f.dev) || !Field(line, f.mode) || !Field(line, xattrs) ||
        xattrs > 2 || !Unescape(line, path) || path.empty()) {
      return {};
    }
    f.xattrs = static_cast<CachedFile::Xattrs>(xattrs);
    files[path] = std::move(f);
  }
  if (files.size() != count) return {};
  return files;
}

}  // namespace kiln::solver::internal
