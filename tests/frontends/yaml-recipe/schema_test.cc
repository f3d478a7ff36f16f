// The JSON Schema of the recipe language (frontends/yaml-recipe/schema/
// recipe.schema.json): valid JSON, accepting every example recipe (which
// also load and convert), rejecting recipes the loader rejects for their
// shape. Validation uses a small checker of the keywords the schema uses
// (type, enum, properties, additionalProperties, required, items, oneOf,
// minProperties, $ref to #/$defs/...).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/recipe/convert.h"
#include "kiln/recipe/recipe.h"
#include "kiln/recipe/yaml_node.h"

namespace kiln::recipe {
namespace {

using Json = nlohmann::json;

const std::string kModuleDir =
    std::string(KILN_SOURCE_DIR) + "/frontends/yaml-recipe";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// YAML as JSON with YAML 1.2 core-schema scalar types.
Json ToJson(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return nullptr;
    case YamlNode::Kind::kScalar: {
      const std::string& s = node.scalar;
      if (node.quoted) return s;
      if (s == "true") return true;
      if (s == "false") return false;
      if (std::regex_match(s, std::regex("-?[0-9]{1,15}"))) {
        return std::stoll(s);
      }
      if (std::regex_match(s, std::regex("-?[0-9]+\\.[0-9]+"))) {
        return std::stod(s);
      }
      return s;
    }
    case YamlNode::Kind::kSequence: {
      Json a = Json::array();
      for (const YamlNode& item : node.items) a.push_back(ToJson(item));
      return a;
    }
    case YamlNode::Kind::kMap: {
      Json o = Json::object();
      for (const auto& [k, v] : node.entries) o[k.scalar] = ToJson(v);
      return o;
    }
  }
  return nullptr;
}

class Checker {
 public:
  explicit Checker(Json schema) : root_(std::move(schema)) {}

  bool Valid(const Json& value) { return Check(root_, value); }

 private:
  static bool HasType(const Json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "integer") return value.is_number_integer();
    if (type == "number") return value.is_number();
    if (type == "boolean") return value.is_boolean();
    if (type == "null") return value.is_null();
    ADD_FAILURE() << "unknown type " << type;
    return false;
  }

  bool Check(const Json& schema, const Json& value) {
    for (const auto& [key, unused] : schema.items()) {
      static const std::vector<std::string> kKnown = {
          "$schema",  "$id",   "title",      "description",
          "type",     "enum",  "properties", "additionalProperties",
          "required", "items", "oneOf",      "minProperties",
          "$ref",     "$defs"};
      EXPECT_NE(std::find(kKnown.begin(), kKnown.end(), key), kKnown.end())
          << "keyword " << key << " is not checked by this test";
    }
    if (schema.contains("$ref")) {
      std::string ref = schema["$ref"];
      EXPECT_TRUE(ref.starts_with("#/$defs/")) << ref;
      const Json& def = root_["$defs"][ref.substr(8)];
      EXPECT_FALSE(def.is_null()) << ref;
      if (!Check(def, value)) return false;
    }
    if (schema.contains("type")) {
      const Json& t = schema["type"];
      bool ok = false;
      if (t.is_string()) {
        ok = HasType(value, t);
      } else {
        for (const Json& each : t) ok |= HasType(value, each);
      }
      if (!ok) return false;
    }
    if (schema.contains("enum")) {
      bool found = false;
      for (const Json& e : schema["enum"]) found |= e == value;
      if (!found) return false;
    }
    if (schema.contains("oneOf")) {
      int matches = 0;
      for (const Json& s : schema["oneOf"]) matches += Check(s, value) ? 1 : 0;
      if (matches != 1) return false;
    }
    if (value.is_object()) {
      if (schema.contains("minProperties") &&
          value.size() < schema["minProperties"].get<size_t>()) {
        return false;
      }
      for (const Json& r : schema.value("required", Json::array())) {
        if (!value.contains(r.get<std::string>())) return false;
      }
      for (const auto& [k, v] : value.items()) {
        if (schema.contains("properties") && schema["properties"].contains(k)) {
          if (!Check(schema["properties"][k], v)) return false;
        } else if (schema.contains("additionalProperties")) {
          const Json& extra = schema["additionalProperties"];
          if (extra.is_boolean() ? !extra.get<bool>() : !Check(extra, v)) {
            return false;
          }
        }
      }
    }
    if (value.is_array() && schema.contains("items")) {
      for (const Json& item : value) {
        if (!Check(schema["items"], item)) return false;
      }
    }
    return true;
  }

  Json root_;
};

Json LoadSchema() {
  Json schema = Json::parse(Slurp(kModuleDir + "/schema/recipe.schema.json"),
                            nullptr, false);
  EXPECT_FALSE(schema.is_discarded()) << "the schema is not valid JSON";
  return schema;
}

bool SchemaAccepts(const std::string& yaml) {
  Result<YamlNode> node = ParseYaml(yaml, "recipe.yaml");
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  if (!node.ok()) return false;
  return Checker(LoadSchema()).Valid(ToJson(*node));
}

TEST(RecipeSchema, AcceptsEveryExampleThatAlsoLoadsAndConverts) {
  int examples = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(kModuleDir + "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    ++examples;
    std::string text = Slurp(entry.path());
    EXPECT_TRUE(SchemaAccepts(text)) << entry.path();
    Result<Recipe> recipe = LoadRecipe(text, {});
    ASSERT_TRUE(recipe.ok())
        << entry.path() << ": " << recipe.status().ToString();
    ConvertOptions co;
    co.resolve_image = [](std::string_view ref,
                          const llb::Platform&) -> Result<ImageMeta> {
      return ImageMeta{std::string(ref), "", ""};
    };
    Result<ConvertResult> converted = Convert(*recipe, co);
    EXPECT_TRUE(converted.ok())
        << entry.path() << ": " << converted.status().ToString();
  }
  EXPECT_GE(examples, 3);
}

TEST(RecipeSchema, RejectsWhatTheLoaderRejectsForItsShape) {
  EXPECT_TRUE(SchemaAccepts("stages:\n  a:\n    from: scratch\n"));
  EXPECT_FALSE(SchemaAccepts("stages:\n  a:\n    form: scratch\n"));
  EXPECT_FALSE(SchemaAccepts("stages: {}\n"));
  EXPECT_FALSE(
      SchemaAccepts("stages:\n  a:\n    from: scratch\n    steps:\n      - "
                    "{run: x, rm: y}\n"));
  EXPECT_FALSE(SchemaAccepts(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n"
      "        network: lan\n"));
  EXPECT_FALSE(SchemaAccepts(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - copy: x\n"));
  EXPECT_FALSE(SchemaAccepts(
      "stages:\n  a:\n    from: scratch\n    steps:\n      - run: x\n"
      "        mounts: [{type: tmpfs, target: /t, readonly: true}]\n"));
  EXPECT_FALSE(
      SchemaAccepts("stages:\n  a:\n    from: scratch\nimage:\n  port: [1]\n"));
}

}  // namespace
}  // namespace kiln::recipe
