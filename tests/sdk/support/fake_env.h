// FakeEnv: a null-terminated "NAME=value" array like `environ`, for
// OptionsFromEnv and ServeOnFd.
#ifndef KILN_TESTS_SDK_SUPPORT_FAKE_ENV_H_
#define KILN_TESTS_SDK_SUPPORT_FAKE_ENV_H_

#include <string>
#include <vector>

namespace kiln::sdk::testing {

class FakeEnv {
 public:
  // Each opt becomes BUILDKIT_FRONTEND_OPT_<n>=<opt>; `extra` goes verbatim.
  explicit FakeEnv(const std::vector<std::string>& opts,
                   const std::vector<std::string>& extra = {}) {
    for (size_t i = 0; i < opts.size(); ++i) {
      vars_.push_back("BUILDKIT_FRONTEND_OPT_" + std::to_string(i) + "=" +
                      opts[i]);
    }
    vars_.insert(vars_.end(), extra.begin(), extra.end());
    for (std::string& v : vars_) ptrs_.push_back(v.data());
    ptrs_.push_back(nullptr);
  }
  char** envp() { return ptrs_.data(); }

 private:
  std::vector<std::string> vars_;
  std::vector<char*> ptrs_;
};

}  // namespace kiln::sdk::testing

#endif  // KILN_TESTS_SDK_SUPPORT_FAKE_ENV_H_
