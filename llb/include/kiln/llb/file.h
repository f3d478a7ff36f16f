// File ops: filesystem actions applied to a state, encoded as BuildKit's Go
// client (client/llb/fileop.go) encodes them.
//
//   State out = base.File(Mkdir("/app", 0755, {.make_parents = true})
//                             .Copy(ctx, "src/", "/app/", {.allow_wildcard = true}));
//
// Relative paths are resolved against the directory of the state the
// actions are applied to (copy sources: against the source state's dir).
#ifndef KILN_LLB_FILE_H_
#define KILN_LLB_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/state.h"

namespace kiln::llb {

// A user or group, by numeric id or by name (looked up in the base
// filesystem's /etc/passwd or /etc/group).
struct UserRef {
  std::optional<uint32_t> id;
  std::string name;

  static UserRef Id(uint32_t id) { return UserRef{id, {}}; }
  static UserRef Name(std::string name) { return UserRef{std::nullopt, std::move(name)}; }
};

struct ChownOpt {
  std::optional<UserRef> user;
  std::optional<UserRef> group;

  // "user[:group]", each part numeric or a name, as --chown takes it;
  // "root" is id 0. A name is looked up in the action's base filesystem
  // (NamedUserOpt.input = the input the file op is applied to).
  static Result<ChownOpt> Parse(std::string_view spec);
};

struct MkdirOptions {
  bool make_parents = false;
  std::optional<ChownOpt> owner;
  std::optional<int64_t> timestamp_ns;  // unix nanoseconds
};

struct MkfileOptions {
  std::optional<ChownOpt> owner;
  std::optional<int64_t> timestamp_ns;
};

struct RmOptions {
  bool allow_not_found = false;
  bool allow_wildcard = false;
};

struct CopyOptions {
  std::optional<ChownOpt> owner;
  std::optional<int32_t> mode;  // unset = keep the source's mode
  std::string mode_str;         // symbolic chmod ("u+x"), instead of mode
  bool follow_symlinks = false;
  bool copy_dir_contents_only = false;
  bool attempt_unpack = false;  // ADD's archive extraction
  bool create_dest_path = false;
  bool allow_wildcard = false;
  bool allow_empty_wildcard = false;
  std::optional<int64_t> timestamp_ns;
  std::vector<std::string> include_patterns;
  std::vector<std::string> exclude_patterns;
  std::vector<std::string> required_paths;
  bool always_replace_existing_dest_paths = false;
};

struct SymlinkOptions {
  std::optional<ChownOpt> owner;
  std::optional<int64_t> timestamp_ns;
};

namespace internal {
struct FileActionNode;
}

// A chain of file actions; each method returns a new chain with one more
// action that applies to the result of the previous ones.
class FileAction {
 public:
  FileAction Mkdir(std::string path, uint32_t mode, MkdirOptions options = {}) const;
  FileAction Mkfile(std::string path, uint32_t mode, std::string data,
                    MkfileOptions options = {}) const;
  FileAction Rm(std::string path, RmOptions options = {}) const;
  FileAction Copy(const State& source, std::string src, std::string dest,
                  CopyOptions options = {}) const;
  FileAction Symlink(std::string oldpath, std::string newpath, SymlinkOptions options = {}) const;

  // The actions in order, first to last.
  std::vector<std::shared_ptr<const internal::FileActionNode>> Actions() const;

 private:
  friend FileAction Mkdir(std::string, uint32_t, MkdirOptions);
  friend FileAction Mkfile(std::string, uint32_t, std::string, MkfileOptions);
  friend FileAction Rm(std::string, RmOptions);
  friend FileAction Copy(const State&, std::string, std::string, CopyOptions);
  friend FileAction Symlink(std::string, std::string, SymlinkOptions);
  FileAction Append(internal::FileActionNode node) const;

  std::shared_ptr<const internal::FileActionNode> last_;
};

// Single actions, the start of a chain.
FileAction Mkdir(std::string path, uint32_t mode, MkdirOptions options = {});
FileAction Mkfile(std::string path, uint32_t mode, std::string data, MkfileOptions options = {});
FileAction Rm(std::string path, RmOptions options = {});
FileAction Copy(const State& source, std::string src, std::string dest, CopyOptions options = {});
FileAction Symlink(std::string oldpath, std::string newpath, SymlinkOptions options = {});

}  // namespace kiln::llb

#endif  // KILN_LLB_FILE_H_
