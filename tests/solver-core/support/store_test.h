// Base fixture of the image tests: a content store at root_/content and an
// image store at root_/images over it, in a fresh temporary directory that
// is removed after the test.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_STORE_TEST_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_STORE_TEST_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kiln/solver/content_store.h"
#include "kiln/solver/image_store.h"

namespace kiln::solver::testing {

class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(std::string temp_prefix)
      : temp_prefix_(std::move(temp_prefix)) {}

  // Makes root_ and opens both stores; a fatal failure when any of it
  // fails. Derived fixtures call it first and return on HasFatalFailure().
  void SetUp() override;
  // Closes the stores, then removes root_.
  void TearDown() override;

  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<ImageStore> images_;

 private:
  std::string temp_prefix_;
};

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_STORE_TEST_H_
