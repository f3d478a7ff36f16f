# shellcheck shell=bash
# Installs, through apt, the Debian 12 packages kiln needs to build and test.
# Sourced by scripts/test and scripts/demo. Idempotent: prints nothing and
# touches nothing when every package is already installed.

KILN_APT_PACKAGES=(
  # toolchain
  cmake ninja-build g++ ccache pkg-config
  # libraries kiln links
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc libssl-dev
  nlohmann-json3-dev libcurl4-openssl-dev libarchive-dev libzstd-dev zlib1g-dev
  libtomlplusplus-dev libsqlite3-dev
  # the YAML recipe frontend's parser (its static archive is linked)
  libyaml-cpp-dev
  # the Dockerfile grammar: ANTLR tool (runs on a JRE) and its C++ runtime
  antlr4 libantlr4-runtime-dev default-jre-headless
  # what images are made of, and the real peers integration tests talk to
  busybox-static docker-registry skopeo umoci apache2-utils curl runc git
  # kilnd tests make their TLS certificates with the openssl CLI
  openssl
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the tty progress tests capture a terminal
  tmux
  # scripts/fuzz: clang 16 with libFuzzer and the sanitizer runtimes (clang 14,
  # Debian's default, cannot capture structured bindings in lambdas), and
  # llvm-symbolizer-16 for readable reports
  clang-16 libclang-rt-16-dev llvm-16
)

kiln_missing_packages() {
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
      printf '%s\n' "$pkg"
    fi
  done
}

kiln_install_deps() {
  local missing
  mapfile -t missing < <(kiln_missing_packages "${KILN_APT_PACKAGES[@]}")
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if ((EUID != 0)); then
    echo "kiln: missing packages: ${missing[*]}; run as root or install them with apt" >&2
    return 1
  fi
  echo "kiln: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be stale or absent on a fresh machine.
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
