// Shared fixture and action builders for the FileOp unit tests
// (file_op_test.cc, file_op_copy_test.cc).
#ifndef KILN_TESTS_SOLVER_CORE_FILE_OP_TEST_UTIL_H_
#define KILN_TESTS_SOLVER_CORE_FILE_OP_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <string>

#include "kiln/solver/file_op.h"
#include "support/test_util.h"

namespace kiln::solver::file_op_test {

using testing::DumpTree;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;
using testing::WriteFile;
using Tree = std::map<std::string, std::string>;

constexpr int64_t kTs = 1600000000LL * 1000000000LL;  // 2020-09-13

inline pb::FileAction Mkdir(const std::string& path, int mode,
                            bool parents = false, int64_t ts = -1) {
  pb::FileAction a;
  a.mutable_mkdir()->set_path(path);
  a.mutable_mkdir()->set_mode(mode);
  a.mutable_mkdir()->set_makeparents(parents);
  a.mutable_mkdir()->set_timestamp(ts);
  return a;
}

inline pb::FileAction Mkfile(const std::string& path, const std::string& data,
                             int mode = 0644, int64_t ts = -1) {
  pb::FileAction a;
  a.mutable_mkfile()->set_path(path);
  a.mutable_mkfile()->set_data(data);
  a.mutable_mkfile()->set_mode(mode);
  a.mutable_mkfile()->set_timestamp(ts);
  return a;
}

inline pb::FileAction Rm(const std::string& path, bool allow_not_found = false,
                         bool wildcard = false) {
  pb::FileAction a;
  a.mutable_rm()->set_path(path);
  a.mutable_rm()->set_allownotfound(allow_not_found);
  a.mutable_rm()->set_allowwildcard(wildcard);
  return a;
}

inline pb::FileAction Copy(const std::string& src, const std::string& dest) {
  pb::FileAction a;
  a.mutable_copy()->set_src(src);
  a.mutable_copy()->set_dest(dest);
  a.mutable_copy()->set_mode(-1);
  a.mutable_copy()->set_timestamp(-1);
  return a;
}

class FileOpTest : public ::testing::Test {
 protected:
  Status Apply(const pb::FileAction& action) {
    FileActionDirs dirs;
    dirs.dest = dst_.path();
    dirs.source = src_.path();
    dirs.input_dir = [this](int64_t i) -> Result<std::string> {
      return i == 0 ? dst_.path() : src_.path();
    };
    return ApplyFileAction(action, dirs);
  }
  void Src(const std::string& rel, const std::string& data, int mode = 0644) {
    WriteFile(src_.path() + "/" + rel, data);
    ASSERT_EQ(chmod((src_.path() + "/" + rel).c_str(), mode), 0);
  }
  Tree Dst(bool times = false) { return DumpTree(dst_.path(), times); }

  TempDir src_{"kiln-fileop-src-"};
  TempDir dst_{"kiln-fileop-dst-"};
  TempDir work_in_{"kiln-fileop-tarin-"};
};

}  // namespace kiln::solver::file_op_test

#endif  // KILN_TESTS_SOLVER_CORE_FILE_OP_TEST_UTIL_H_
