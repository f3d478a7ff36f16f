// File ops: actions, chaining, index scheme and paths as the Go client
// (client/llb/fileop.go) writes them (reference/llb.md §6.2).
#include "kiln/llb/file.h"

#include <gtest/gtest.h>

#include "graph_util.h"
#include "kiln/llb/source.h"

namespace kiln::llb {
namespace {

using testing::Graph;
using testing::MarshalError;
using testing::MarshalOk;

const pb::FileOp& FileOf(const Graph& g) { return g.Result().file(); }

TEST(File, MkdirOnImage) {
  Graph g = MarshalOk(Image("busybox").Dir("/app").File(Mkdir(
      "data", 0x1ed | 07000,
      {.make_parents = true, .owner = ChownOpt::Parse("app:staff").value()})));
  const pb::Op& op = g.Result();
  EXPECT_FALSE(op.has_platform());  // file ops are not platform specific
  EXPECT_TRUE(op.has_constraints());
  ASSERT_EQ(op.inputs_size(), 1);
  ASSERT_EQ(op.file().actions_size(), 1);
  const pb::FileAction& a = op.file().actions(0);
  EXPECT_EQ(a.input(), 0);
  EXPECT_EQ(a.secondaryinput(), -1);
  EXPECT_EQ(a.output(), 0);
  const pb::FileActionMkDir& m = a.mkdir();
  EXPECT_EQ(m.path(), "/app/data");  // relative to the state's dir
  EXPECT_EQ(m.mode(), 0755);         // masked to 0777
  EXPECT_TRUE(m.makeparents());
  EXPECT_EQ(m.timestamp(), -1);
  EXPECT_EQ(m.owner().user().byname().name(), "app");
  EXPECT_EQ(m.owner().user().byname().input(), 0);
  EXPECT_EQ(m.owner().group().byname().name(), "staff");
  EXPECT_TRUE(g.HasCap(1, "file.base"));
}

TEST(File, MkfileRmSymlink) {
  Graph g = MarshalOk(Scratch().File(
      Mkfile("/etc/motd", 0644, std::string("hi\0there", 8),
             {.owner = ChownOpt{UserRef::Id(0), std::nullopt},
              .timestamp_ns = 1700000000000000000})
          .Rm("/tmp/*", {.allow_not_found = true, .allow_wildcard = true})
          .Symlink("../motd", "/etc/issue", {.timestamp_ns = 5})));
  const pb::FileOp& f = FileOf(g);
  EXPECT_EQ(g.Result().inputs_size(), 0);
  ASSERT_EQ(f.actions_size(), 3);
  EXPECT_EQ(f.actions(0).input(), -1);  // scratch base
  EXPECT_EQ(f.actions(0).output(), -1);
  EXPECT_EQ(f.actions(1).input(), 0);  // n + 0: the result of action 0
  EXPECT_EQ(f.actions(1).output(), -1);
  EXPECT_EQ(f.actions(2).input(), 1);
  EXPECT_EQ(f.actions(2).output(), 0);  // only the last action is an output
  for (const auto& a : f.actions()) EXPECT_EQ(a.secondaryinput(), -1);
  const auto& mk = f.actions(0).mkfile();
  EXPECT_EQ(mk.data(), std::string("hi\0there", 8));
  EXPECT_EQ(mk.mode(), 0644);
  EXPECT_EQ(mk.timestamp(), 1700000000000000000);
  EXPECT_TRUE(mk.owner().user().has_byid());
  EXPECT_EQ(mk.owner().user().byid(), 0u);
  EXPECT_FALSE(mk.owner().has_group());
  EXPECT_TRUE(f.actions(1).rm().allownotfound());
  EXPECT_TRUE(f.actions(1).rm().allowwildcard());
  EXPECT_EQ(f.actions(2).symlink().oldpath(), "../motd");
  EXPECT_EQ(f.actions(2).symlink().newpath(), "/etc/issue");
  EXPECT_EQ(f.actions(2).symlink().timestamp(), 5);
  EXPECT_TRUE(g.HasCap(0, "file.rm.wildcard"));
  EXPECT_TRUE(g.HasCap(0, "file.symlink.create"));
}

TEST(File, CopyAllOptions) {
  State ctx = Local("context").Dir("/src");
  State base = Image("busybox").Dir("/app");
  CopyOptions o{.owner = ChownOpt::Parse("1000:1000").value(),
                .mode = 0640,
                .follow_symlinks = true,
                .copy_dir_contents_only = true,
                .attempt_unpack = true,
                .create_dest_path = true,
                .allow_wildcard = true,
                .allow_empty_wildcard = true,
                .timestamp_ns = 42,
                .include_patterns = {"*.go"},
                .exclude_patterns = {"*_test.go"},
                .required_paths = {"main.go"},
                .always_replace_existing_dest_paths = true};
  Graph g = MarshalOk(base.File(Copy(ctx, "./pkg/../cmd/", "bin/", o)));
  const pb::Op& op = g.Result();
  ASSERT_EQ(op.inputs_size(), 2);  // base, then the copy source
  const pb::FileAction& a = op.file().actions(0);
  EXPECT_EQ(a.input(), 0);
  EXPECT_EQ(a.secondaryinput(), 1);
  const pb::FileActionCopy& c = a.copy();
  EXPECT_EQ(c.src(), "/src/cmd");    // joined with the source's dir, cleaned
  EXPECT_EQ(c.dest(), "/app/bin/");  // joined with the base's dir, slash kept
  EXPECT_EQ(c.mode(), 0640);
  EXPECT_EQ(c.owner().user().byid(), 1000u);
  EXPECT_EQ(c.owner().group().byid(), 1000u);
  EXPECT_TRUE(c.followsymlink());
  EXPECT_TRUE(c.dircopycontents());
  EXPECT_TRUE(c.attemptunpackdockercompatibility());
  EXPECT_TRUE(c.createdestpath());
  EXPECT_TRUE(c.allowwildcard());
  EXPECT_TRUE(c.allowemptywildcard());
  EXPECT_EQ(c.timestamp(), 42);
  EXPECT_EQ(c.include_patterns(0), "*.go");
  EXPECT_EQ(c.exclude_patterns(0), "*_test.go");
  EXPECT_EQ(c.required_paths(0), "main.go");
  EXPECT_TRUE(c.alwaysreplaceexistingdestpaths());
  testing::ExpectCaps(
      g, 2,
      {"file.base", "file.copy.includeexcludepatterns",
       "file.copy.requiredpaths", "file.copy.alwaysreplaceexistingdestpaths"});
}

TEST(File, CopyDefaultsAndModeString) {
  Graph g = MarshalOk(
      Scratch().File(Copy(Local("c"), "/a", "/b/.", {.mode_str = "u+x"})));
  const pb::FileAction& a = FileOf(g).actions(0);
  EXPECT_EQ(a.input(), -1);
  EXPECT_EQ(a.secondaryinput(), 0);
  EXPECT_EQ(a.copy().mode(), -1);
  EXPECT_EQ(a.copy().modestr(), "u+x");
  EXPECT_EQ(a.copy().dest(), "/b/.");
  EXPECT_EQ(a.copy().timestamp(), -1);
  EXPECT_FALSE(a.copy().has_owner());

  Graph plain = MarshalOk(Scratch().File(Copy(Local("c"), "a", "/")));
  EXPECT_EQ(FileOf(plain).actions(0).copy().mode(), -1);
  EXPECT_EQ(FileOf(plain).actions(0).copy().src(), "/a");
  EXPECT_EQ(FileOf(plain).actions(0).copy().dest(), "/");
}

TEST(File, ChainedCopiesShareInputsAndBase) {
  State ctx = Local("context");
  State base = Image("busybox");
  Graph g = MarshalOk(base.File(
      Mkdir("/x", 0755)
          .Copy(ctx, "a", "/x/", {.owner = ChownOpt::Parse("app").value()})
          .Copy(ctx, "b", "/x/")
          .Copy(base, "/etc/passwd", "/x/")));
  const pb::Op& op = g.Result();
  ASSERT_EQ(op.inputs_size(), 2);  // base and context, each once
  const auto& acts = op.file().actions();
  ASSERT_EQ(acts.size(), 4);
  EXPECT_EQ(acts[0].input(), 0);
  EXPECT_EQ(acts[1].input(), 2);  // n + 0
  EXPECT_EQ(acts[1].secondaryinput(), 1);
  EXPECT_EQ(acts[2].input(), 3);
  EXPECT_EQ(acts[2].secondaryinput(), 1);
  EXPECT_EQ(acts[3].secondaryinput(), 0);  // copying from the base itself
  // Names are looked up in the op's base input, not the previous action.
  EXPECT_EQ(acts[1].copy().owner().user().byname().input(), 0);
}

TEST(File, ChownParse) {
  auto ids = ChownOpt::Parse("1000:2000");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->user->id, 1000u);
  EXPECT_EQ(ids->group->id, 2000u);
  auto root = ChownOpt::Parse("root");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->user->id, 0u);
  EXPECT_FALSE(root->group.has_value());
  auto names = ChownOpt::Parse("app:1");
  EXPECT_EQ(names->user->name, "app");
  EXPECT_EQ(names->group->id, 1u);
  EXPECT_FALSE(ChownOpt::Parse(":x").ok());
  EXPECT_FALSE(ChownOpt::Parse("").ok());
}

TEST(File, InvalidActionsFailAtMarshal) {
  EXPECT_EQ(MarshalError(Scratch().File(Mkdir("", 0755))).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MarshalError(Scratch().File(Copy(Local("c"), "", "/x"))).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      MarshalError(Scratch().File(Copy(Local("c"), "a", "/x",
                                       {.mode = 0644, .mode_str = "u+x"})))
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(MarshalError(Scratch().File(FileAction())).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::llb
