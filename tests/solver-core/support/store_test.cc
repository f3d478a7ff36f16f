#include "store_test.h"

#include <cerrno>
#include <cstring>

#include "test_util.h"

namespace kiln::solver::testing {

void StoreTest::SetUp() {
  root_ = MakeTempDir(temp_prefix_);
  ASSERT_FALSE(root_.empty()) << "mkdtemp: " << std::strerror(errno);
  auto content = ContentStore::Open(root_ + "/content");
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  content_ = std::move(*content);
  auto images = ImageStore::Open(root_ + "/images", content_.get());
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  images_ = std::move(*images);
}

void StoreTest::TearDown() {
  images_.reset();
  content_.reset();
  RemoveTree(root_);
}

}  // namespace kiln::solver::testing
