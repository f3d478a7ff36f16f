// The adapter between yaml-cpp and YamlNode: the only file that includes
// yaml-cpp. yaml-cpp reports errors by throwing; every exception is caught
// here and becomes a located Status.
#include <yaml-cpp/yaml.h>

#include <exception>
#include <string>
#include <string_view>

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

}  // namespace

Result<YamlNode> ParseYaml(std::string_view text, const std::string& filename) {
  Converter converter(filename);
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
