#include "store_test.h"

#include <cerrno>
#include <cstring>

#include "engine_setup.h"
#include "test_util.h"

namespace kiln::solver::testing {

void StoreTest::SetUp() {
  root_ = MakeTempDir(temp_prefix_);
  ASSERT_FALSE(root_.empty()) << "mkdtemp: " << std::strerror(errno);
  auto stores = OpenStores(root_);
  ASSERT_TRUE(stores.ok()) << stores.status().ToString();
  content_ = std::move(stores->content);
  images_ = std::move(stores->images);
}

void StoreTest::TearDown() {
  images_.reset();
  content_.reset();
  RemoveTree(root_);
}

}  // namespace kiln::solver::testing
