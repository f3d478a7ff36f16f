# kiln_add_static_program(NAME <target> SOURCES <src...>
#                         LIBS <kiln static libraries, in link order>
#                         [EXTRA_LIBS <static archives or flags>])
#
# A fully static, stripped executable: frontends run in images built FROM
# scratch, with no libc or loader inside (notes/toolchain.md, "Static
# frontend binaries").
#
# CMake's usual transitive linking would pull in the shared libraries behind
# the imported gRPC/protobuf targets, which a -static link cannot use. So the
# program links the listed kiln archives as plain files (no usage
# requirements), takes their include directories and definitions explicitly,
# and gets gRPC, protobuf, abseil, OpenSSL and zlib from their .a files in
# the order pkg-config --static gives. List every kiln library the code
# reaches, dependents first (e.g. kiln_sdk kiln_llb kiln_bridge_pb_gen
# kiln_llb_pb_gen).
find_package(PkgConfig REQUIRED)
pkg_check_modules(KILN_GRPC_STATIC REQUIRED grpc++ protobuf)

function(kiln_add_static_program)
  cmake_parse_arguments(P "" "NAME" "SOURCES;LIBS;EXTRA_LIBS" ${ARGN})
  add_executable(${P_NAME} ${P_SOURCES})
  foreach(lib IN LISTS P_LIBS)
    target_include_directories(${P_NAME} PRIVATE
      $<TARGET_PROPERTY:${lib},INTERFACE_INCLUDE_DIRECTORIES>)
    target_compile_definitions(${P_NAME} PRIVATE
      $<TARGET_PROPERTY:${lib},INTERFACE_COMPILE_DEFINITIONS>)
    target_link_libraries(${P_NAME} PRIVATE $<TARGET_FILE:${lib}>)
    add_dependencies(${P_NAME} ${lib})
  endforeach()
  target_include_directories(${P_NAME} SYSTEM PRIVATE ${Protobuf_INCLUDE_DIRS}
    ${KILN_GRPC_STATIC_INCLUDE_DIRS})
  target_link_libraries(${P_NAME} PRIVATE kiln_warnings ${P_EXTRA_LIBS}
    -Wl,--start-group ${KILN_GRPC_STATIC_STATIC_LDFLAGS} -Wl,--end-group)
  target_link_options(${P_NAME} PRIVATE -static -pthread -Wl,--gc-sections -s)
endfunction()
