# kiln_sdk_add_static_frontend(NAME <target> SOURCES <src...>
#                              [LIBS <header-only targets, archives, flags>])
#
# Builds a frontend as a fully static, stripped executable, so that its image
# can be FROM scratch: no libc, no loader, nothing but the binary.
#
# Linking kiln::sdk the usual way pulls in the shared libraries behind the
# gRPC/protobuf targets, which a -static link cannot use. So this links the
# kiln archives as plain files, takes their include directories and
# definitions explicitly, and gets gRPC, protobuf, abseil, OpenSSL and zlib
# from their .a files in the order `pkg-config --static grpc++ protobuf`
# gives (Debian's libgrpc++-dev and libprotobuf-dev ship them). Whatever LIBS
# names must not bring a shared library either (nlohmann_json, being
# header-only, is fine). The linker warns that getaddrinfo/dlopen need glibc
# at run time; a frontend talks over stdin/stdout and resolves no names.
#
# The executable compiles as C++20 like the SDK. Defined by the kiln_sdk
# package (kiln_sdkConfig.cmake); needs pkg-config at configure time.
function(kiln_sdk_add_static_frontend)
  cmake_parse_arguments(F "" "NAME" "SOURCES;LIBS" ${ARGN})
  if(NOT F_NAME OR NOT F_SOURCES)
    message(FATAL_ERROR "kiln_sdk_add_static_frontend: NAME and SOURCES are required")
  endif()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(KILN_SDK_GRPC_STATIC REQUIRED grpc++ protobuf)

  add_executable(${F_NAME} ${F_SOURCES})
  target_compile_features(${F_NAME} PRIVATE cxx_std_20)
  # Dependents first: each archive's undefined symbols resolve in later ones.
  foreach(lib IN ITEMS kiln::sdk kiln::llb kiln::bridge_pb_gen kiln::llb_pb_gen)
    target_include_directories(${F_NAME} PRIVATE
      $<TARGET_PROPERTY:${lib},INTERFACE_INCLUDE_DIRECTORIES>)
    target_compile_definitions(${F_NAME} PRIVATE
      $<TARGET_PROPERTY:${lib},INTERFACE_COMPILE_DEFINITIONS>)
    target_link_libraries(${F_NAME} PRIVATE $<TARGET_FILE:${lib}>)
  endforeach()
  target_include_directories(${F_NAME} SYSTEM PRIVATE
    ${KILN_SDK_GRPC_STATIC_INCLUDE_DIRS})
  target_link_libraries(${F_NAME} PRIVATE ${F_LIBS}
    -Wl,--start-group ${KILN_SDK_GRPC_STATIC_STATIC_LDFLAGS} -Wl,--end-group)
  target_link_options(${F_NAME} PRIVATE -static -pthread -Wl,--gc-sections -s)
endfunction()
