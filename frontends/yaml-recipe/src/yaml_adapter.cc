// The adapter between yaml-cpp and YamlNode: the only file that includes
// yaml-cpp. yaml-cpp reports errors by throwing; every exception is caught
// here and becomes a located Status.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "kiln/recipe/yaml_node.h"

namespace kiln::recipe {
namespace {

class Converter {
 public:
  explicit Converter(const std::string& filename) : filename_(filename) {}

  Status Convert(const YAML::Node& in, const Mark& parent, int depth,
                 YamlNode* out) {
    out->mark = MarkOf(in, parent);
    if (depth > kMaxYamlDepth) {
      return Error(
          "nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels",
          out->mark);
    }
    if (++nodes_ > kMaxYamlNodes) {
      return Error("more than " + std::to_string(kMaxYamlNodes) +
                       " nodes (after expanding aliases)",
                   out->mark);
    }
    switch (in.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out->kind = YamlNode::Kind::kNull;
        return Status::Ok();
      case YAML::NodeType::Scalar:
        out->kind = YamlNode::Kind::kScalar;
        out->scalar = in.Scalar();
        out->quoted = in.Tag() == "!";
        return Status::Ok();
      case YAML::NodeType::Sequence:
        out->kind = YamlNode::Kind::kSequence;
        for (const YAML::Node& item : in) {
          YamlNode child;
          KILN_RETURN_IF_ERROR(Convert(item, out->mark, depth + 1, &child));
          out->items.push_back(std::move(child));
        }
        return Status::Ok();
      case YAML::NodeType::Map:
        out->kind = YamlNode::Kind::kMap;
        for (auto it = in.begin(); it != in.end(); ++it) {
          YamlNode key, value;
          KILN_RETURN_IF_ERROR(Convert(it->first, out->mark, depth + 1, &key));
          KILN_RETURN_IF_ERROR(
              Convert(it->second, key.mark, depth + 1, &value));
          out->entries.push_back(YamlEntry{std::move(key), std::move(value)});
        }
        return Status::Ok();
    }
    return Status::Ok();
  }

  Status Error(const std::string& what, const Mark& mark) const {
    return InvalidArgumentError("invalid yaml: " + what)
        .WithRange(SourceRange{
            .file = filename_, .line = mark.line, .column = mark.column});
  }

 private:
  // yaml-cpp marks are 0-based, and -1 for nodes it made up (an empty value).
  static Mark MarkOf(const YAML::Node& node, const Mark& parent) {
    YAML::Mark m = node.Mark();
    if (m.line < 0 || m.column < 0) return parent;
    return Mark{m.line + 1, m.column + 1};
  }

  const std::string& filename_;
  size_t nodes_ = 0;
};

// The position of the first byte of `text` that is not valid UTF-8 (an
// overlong form, a surrogate or a code point above U+10FFFF included), or
// nullopt. Recipe values end up in protobuf strings and JSON, which must be
// UTF-8.
std::optional<std::pair<Mark, unsigned char>> FindInvalidUtf8(
    std::string_view text) {
  Mark mark{1, 1};
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len != 0 && i + len <= text.size();
    uint32_t cp = len == 1   ? c
                  : len == 2 ? c & 0x1F
                  : len == 3 ? c & 0x0F
                             : c & 0x07;
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (!ok) return std::make_pair(mark, c);
    if (c == '\n') {
      ++mark.line;
      mark.column = 1;
    } else {
      ++mark.column;
    }
    i += len;
  }
  return std::nullopt;
}

}  // namespace

Result<YamlNode> ParseYaml(std::string_view text, const std::string& filename) {
  Converter converter(filename);
  if (auto bad = FindInvalidUtf8(text)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", bad->second);
    return converter.Error(std::string("invalid UTF-8 byte ") + hex,
                           bad->first);
  }
  try {
    YAML::Node doc = YAML::Load(std::string(text));
    YamlNode out;
    KILN_RETURN_IF_ERROR(converter.Convert(doc, Mark{1, 1}, 0, &out));
    return out;
  } catch (const YAML::Exception& e) {
    Mark mark{1, 1};
    if (e.mark.line >= 0 && e.mark.column >= 0) {
      mark = Mark{e.mark.line + 1, e.mark.column + 1};
    }
    return converter.Error(e.msg, mark);
  } catch (const std::exception& e) {
    return converter.Error(e.what(), Mark{1, 1});
  }
}

std::string_view KindName(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return "null";
    case YamlNode::Kind::kScalar:
      return "a scalar";
    case YamlNode::Kind::kSequence:
      return "a sequence";
    case YamlNode::Kind::kMap:
      return "a mapping";
  }
  return "a node";
}

}  // namespace kiln::recipe
