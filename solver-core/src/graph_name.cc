// Display names of vertices, generated the way BuildKit's llbOpName does
// (solver/llbsolver/vertex.go) when the op has no llb.customname.
#include <cstdio>
#include <string>
#include <vector>

#include "graph_internal.h"

namespace kiln::solver::internal {
namespace {

// Go's strconv.Quote for the common cases: quotes, backslashes and control
// characters escaped.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x",
                        static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string FileOpName(const pb::FileOp& file) {
  std::string name;
  for (const pb::FileAction& a : file.actions()) {
    std::string part;
    switch (a.action_case()) {
      case pb::FileAction::kMkdir:
        part = "mkdir " + a.mkdir().path();
        break;
      case pb::FileAction::kMkfile:
        part = "mkfile " + a.mkfile().path();
        break;
      case pb::FileAction::kRm:
        part = "rm " + a.rm().path();
        break;
      case pb::FileAction::kCopy:
        part = "copy " + a.copy().src() + " " + a.copy().dest();
        break;
      case pb::FileAction::kSymlink:
        part =
            "symlink " + a.symlink().oldpath() + " -> " + a.symlink().newpath();
        break;
      case pb::FileAction::ACTION_NOT_SET:
        continue;
    }
    name += (name.empty() ? "" : ", ") + part;
  }
  return name;
}

std::string InputName(int64_t index,
                      const std::vector<const std::string*>& input_names) {
  if (index < 0 || static_cast<size_t>(index) >= input_names.size())
    return "scratch";
  return Quote(*input_names[static_cast<size_t>(index)]);
}

}  // namespace

std::string VertexName(const pb::Op& op, const pb::OpMetadata* metadata,
                       const std::vector<const std::string*>& input_names) {
  if (metadata != nullptr) {
    auto it = metadata->description().find("llb.customname");
    if (it != metadata->description().end()) return it->second;
  }
  switch (op.op_case()) {
    case pb::Op::kSource:
      return op.source().identifier();
    case pb::Op::kExec: {
      std::string name;
      for (const std::string& arg : op.exec().meta().args())
        name += (name.empty() ? "" : " ") + arg;
      return name;
    }
    case pb::Op::kFile:
      return FileOpName(op.file());
    case pb::Op::kBuild:
      return "build";
    case pb::Op::kMerge: {
      std::string name;
      for (const std::string* input : input_names)
        name += (name.empty() ? "" : " + ") + Quote(*input);
      return "merge " + name;
    }
    case pb::Op::kDiff:
      return "diff " + InputName(op.diff().lower().input(), input_names) +
             " -> " + InputName(op.diff().upper().input(), input_names);
    case pb::Op::kPassthrough:
      return "passthrough " + op.passthrough().id();
    case pb::Op::OP_NOT_SET:
      break;
  }
  return "unknown";
}

}  // namespace kiln::solver::internal
