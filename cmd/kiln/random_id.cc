#include "random_id.h"

#include <random>

namespace kiln::cli {

std::string RandomId() {
  std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (int i = 0; i < 25; ++i) id.push_back(kAlphabet[rng() % 36]);
  return id;
}

}  // namespace kiln::cli
