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
# yaml-cpp (the YAML recipe frontend's parser). Debian's yaml-cpp-config.cmake
# links the shared library; the frontend program is fully static, so wrap the
# static archive instead. Linked PRIVATE by kiln_recipe only: yaml-cpp types
# never leave frontends/yaml-recipe/src/yaml_adapter.cc.
find_path(KILN_YAML_CPP_INCLUDE_DIR yaml-cpp/yaml.h REQUIRED)
find_library(KILN_YAML_CPP_STATIC_LIBRARY NAMES libyaml-cpp.a REQUIRED)
add_library(kiln_yaml_cpp INTERFACE)
target_include_directories(kiln_yaml_cpp SYSTEM INTERFACE ${KILN_YAML_CPP_INCLUDE_DIR})
target_link_libraries(kiln_yaml_cpp INTERFACE ${KILN_YAML_CPP_STATIC_LIBRARY})

if(KILN_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(KILN_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
