# Third-party packages, all from Debian 12's apt repository
# (scripts/lib/deps.sh installs them). See ../shared/notes/toolchain.md.

find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)            # FindProtobuf: Debian ships no protobuf-config.cmake
find_package(gRPC CONFIG REQUIRED)         # also provides gRPC::grpc_cpp_plugin
find_package(OpenSSL REQUIRED)             # sha256 for digests
find_package(nlohmann_json 3 CONFIG REQUIRED)   # OCI documents (solver-core), tests
find_package(CURL REQUIRED)                # registry client (FindCURL: CURL::libcurl)
find_package(LibArchive REQUIRED)          # layer tars (FindLibArchive: LibArchive::LibArchive)

if(KILN_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(KILN_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
