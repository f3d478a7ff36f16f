// COPY and ADD: flags, sources (paths or heredocs) and destination.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "heredoc.h"
#include "instruction_request.h"

namespace kiln::dockerfile {
namespace {

// ChompHeredocContent: leading tabs removed from every line.
std::string Chomp(std::string_view content) {
  std::string out;
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out += c;
  }
  return out;
}

Result<SourcesAndDest> ParseSourcesAndDest(const Request& request) {
  SourcesAndDest result;
  result.dest = request.args.back();
  KILN_ASSIGN_OR_RETURN(std::optional<Heredoc> dest_heredoc,
                        ParseHeredocWord(result.dest));
  if (dest_heredoc) {
    return InvalidArgumentError(request.keyword +
                                " cannot accept a heredoc as a destination");
  }
  std::map<std::string, const Heredoc*> by_name;
  for (const Heredoc& heredoc : request.node->heredocs)
    by_name[heredoc.name] = &heredoc;
  for (size_t i = 0; i + 1 < request.args.size(); ++i) {
    const std::string& source = request.args[i];
    KILN_ASSIGN_OR_RETURN(std::optional<Heredoc> heredoc,
                          ParseHeredocWord(source));
    if (!heredoc || request.node->json) {
      result.source_paths.push_back(source);
      continue;
    }
    auto it = by_name.find(heredoc->name);
    std::string content = it == by_name.end() ? "" : it->second->content;
    if (heredoc->chomp) content = Chomp(content);
    result.source_contents.push_back(
        SourceContent{heredoc->name, std::move(content), heredoc->expand});
  }
  return result;
}

Status CheckHasDestination(const Request& request) {
  if (request.args.size() >= 2) return Status::Ok();
  return InvalidArgumentError(
      request.keyword +
      " requires at least two arguments, but only one was provided: "
      "destination could not be determined");
}

}  // namespace

Result<Command> ParseCopy(Request& request) {
  KILN_RETURN_IF_ERROR(CheckHasDestination(request));
  request.flags.AddString("chown", "");
  request.flags.AddString("from", "");
  request.flags.AddString("chmod", "");
  request.flags.AddBool("link", false);
  request.flags.AddStrings("exclude");
  request.flags.AddBool("parents", false);
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  CopyCommand copy;
  static_cast<CommandBase&>(copy) = MakeBase(request);
  KILN_ASSIGN_OR_RETURN(copy.files, ParseSourcesAndDest(request));
  copy.from = request.flags.String("from");
  copy.chown = request.flags.String("chown");
  copy.chmod = request.flags.String("chmod");
  copy.link = request.flags.Bool("link");
  copy.parents = request.flags.Bool("parents");
  copy.excludes = request.flags.Strings("exclude");
  return Command(std::move(copy));
}

Result<Command> ParseAdd(Request& request) {
  KILN_RETURN_IF_ERROR(CheckHasDestination(request));
  request.flags.AddStrings("exclude");
  request.flags.AddString("chown", "");
  request.flags.AddString("chmod", "");
  request.flags.AddBool("link", false);
  request.flags.AddBool("keep-git-dir", false);
  request.flags.AddString("checksum", "");
  request.flags.AddBool("unpack", false);
  KILN_RETURN_IF_ERROR(request.flags.Parse());
  AddCommand add;
  static_cast<CommandBase&>(add) = MakeBase(request);
  KILN_ASSIGN_OR_RETURN(add.files, ParseSourcesAndDest(request));
  add.chown = request.flags.String("chown");
  add.chmod = request.flags.String("chmod");
  add.checksum = request.flags.String("checksum");
  add.link = request.flags.Bool("link");
  add.keep_git_dir = request.flags.Bool("keep-git-dir");
  if (request.flags.IsUsed("unpack")) add.unpack = request.flags.Bool("unpack");
  add.excludes = request.flags.Strings("exclude");
  return Command(std::move(add));
}

}  // namespace kiln::dockerfile
