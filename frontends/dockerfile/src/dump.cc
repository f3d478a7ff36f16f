// Dump(): upstream's Node.Dump S-expression format.
#include <string>

#include "go_text.h"
#include "kiln/dockerfile/parser.h"

namespace kiln::dockerfile {

std::string DumpNode(const Node& node) {
  std::string out = gotext::AsciiLower(node.value);
  if (!node.flags.empty()) {
    out += " [";
    for (size_t i = 0; i < node.flags.size(); ++i) {
      if (i != 0) out += ' ';
      out += gotext::Quote(node.flags[i]);
    }
    out += ']';
  }
  for (const Node& child : node.children) {
    out.push_back('(');
    out.append(DumpNode(child));
    out.append(")\n");
  }
  for (const Node& arg : node.next) {
    out += ' ';
    out += arg.children.empty() ? gotext::Quote(arg.value) : DumpNode(arg);
  }
  return std::string(gotext::TrimSpace(out));
}

std::string Dump(const ParseResult& result) {
  std::string out;
  for (const Node& child : result.children) {
    out.push_back('(');
    out.append(DumpNode(child));
    out.append(")\n");
  }
  return std::string(gotext::TrimSpace(out));
}

}  // namespace kiln::dockerfile
