// Reading the upstream conformance cases under KILN_SHARED_DIR/conformance
// for the Dockerfile frontend's conformance tests (test-only helpers).
//
// A case is a subdirectory holding a `Dockerfile`. Missing directories give
// no cases (the tests that count cases then fail). Thread safety: reentrant.
#ifndef KILN_TESTS_FRONTENDS_DOCKERFILE_CONFORMANCE_CASES_H_
#define KILN_TESTS_FRONTENDS_DOCKERFILE_CONFORMANCE_CASES_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::dockerfile::conformance_cases {

// KILN_SHARED_DIR/conformance.
inline std::filesystem::path ConformanceDir() {
  return std::filesystem::path(KILN_SHARED_DIR) / "conformance";
}

// The whole file at `path` ("" if it cannot be read).
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The names of the subdirectories of `dir` that hold a Dockerfile, sorted.
inline std::vector<std::string> CaseNames(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (fs::exists(e.path() / "Dockerfile"))
      names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A gtest parameter name for a case: non-alphanumerics become '_'.
inline std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

}  // namespace kiln::dockerfile::conformance_cases

#endif  // KILN_TESTS_FRONTENDS_DOCKERFILE_CONFORMANCE_CASES_H_
