# Third-party packages, all from Debian 12's apt repository
# (scripts/lib/deps.sh installs them). See ../shared/notes/toolchain.md.

find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)            # FindProtobuf: Debian ships no protobuf-config.cmake
find_package(gRPC CONFIG REQUIRED)         # also provides gRPC::grpc_cpp_plugin
find_package(OpenSSL REQUIRED)             # sha256 for digests
find_package(nlohmann_json 3 CONFIG REQUIRED)   # OCI documents (solver-core), tests
find_package(CURL REQUIRED)                # registry client (FindCURL: CURL::libcurl)
find_package(LibArchive REQUIRED)          # layer tars (FindLibArchive: LibArchive::LibArchive)
find_package(SQLite3 REQUIRED)             # solver cache index (FindSQLite3: SQLite::SQLite3)
# toml++ (registry config, buildkitd.toml style), used header-only: Debian's
# tomlplusplusConfig.cmake links its shared library, which a static kiln
# cannot use. Only one .cc includes it (it is heavy to compile).
find_path(KILN_TOMLPLUSPLUS_INCLUDE_DIR toml++/toml.h REQUIRED)
add_library(kiln_tomlplusplus INTERFACE)
target_include_directories(kiln_tomlplusplus SYSTEM INTERFACE ${KILN_TOMLPLUSPLUS_INCLUDE_DIR})
target_compile_definitions(kiln_tomlplusplus INTERFACE TOML_HEADER_ONLY=1 TOML_EXCEPTIONS=0)
# ANTLR (the Dockerfile grammar). Debian's runtime targets carry no include
# directory, so wrap them; the include dir is SYSTEM because the runtime's
# headers warn (-Wattributes). The shipped antlr4_generate() runs
# `java -jar antlr4.jar`, which fails on Debian: use the `antlr4` wrapper script.
find_package(antlr4-runtime CONFIG REQUIRED)
if(NOT TARGET antlr4::runtime)
  add_library(antlr4::runtime INTERFACE IMPORTED)
  target_include_directories(antlr4::runtime SYSTEM INTERFACE ${ANTLR4_INCLUDE_DIR})
  target_link_libraries(antlr4::runtime INTERFACE antlr4_shared)
endif()
find_program(ANTLR4_TOOL antlr4 REQUIRED)  # needs a Java runtime

if(KILN_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(KILN_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
