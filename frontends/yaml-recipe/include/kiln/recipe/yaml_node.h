// The recipe frontend's own YAML tree: what the YAML library parsed, as plain
// values with the line:column of every node, so that nothing outside the
// adapter (src/yaml_adapter.cc) sees the library's types.
//
// Scalars stay text: the loader decides what a scalar means (string, number,
// bool) from where it appears. `quoted` tells a quoted scalar ("0755", 'yes')
// from a plain one, and a plain `~`/`null`/empty value is Kind::kNull.
// Anchors and aliases are expanded (an alias becomes a copy of its anchor);
// tags are ignored.
//
// Ownership: values. Thread-safety: ParseYaml is reentrant.
#ifndef KILN_RECIPE_YAML_NODE_H_
#define KILN_RECIPE_YAML_NODE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::recipe {

// A position in the recipe source, 1-based (0 = unknown).
struct Mark {
  int line = 0;
  int column = 0;
};

struct YamlEntry;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };

  Kind kind = Kind::kNull;
  Mark mark;
  std::string scalar;           // kScalar
  bool quoted = false;          // kScalar written in quotes
  std::vector<YamlNode> items;  // kSequence
  // kMap, in source order; keys are usually scalars. Duplicate keys are kept
  // (the loader reports them).
  std::vector<YamlEntry> entries;

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsSequence() const { return kind == Kind::kSequence; }
  bool IsMap() const { return kind == Kind::kMap; }
};

// One key: value pair of a mapping.
struct YamlEntry {
  YamlNode key;
  YamlNode value;
};

// Limits that keep hostile input bounded: nesting depth and the number of
// nodes after alias expansion ("billion laughs").
inline constexpr int kMaxYamlDepth = 64;
inline constexpr size_t kMaxYamlNodes = 100000;

// Parses the first YAML document of `text` (an empty text is a kNull node).
// InvalidArgument "invalid yaml: <reason>" located at the parser's
// line:column in `filename`, also for input deeper than kMaxYamlDepth or
// larger than kMaxYamlNodes nodes.
Result<YamlNode> ParseYaml(std::string_view text, const std::string& filename);

// "a mapping", "a sequence", "a scalar" or "null": for type errors.
std::string_view KindName(const YamlNode& node);

}  // namespace kiln::recipe

#endif  // KILN_RECIPE_YAML_NODE_H_
