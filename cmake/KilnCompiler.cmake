# Compiler settings shared by every kiln target.

find_program(KILN_CCACHE ccache)
if(KILN_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${KILN_CCACHE}")
endif()

# "Release + asserts": optimized code that still checks its invariants.
if(KILN_ASSERTS)
  foreach(config RELEASE RELWITHDEBINFO MINSIZEREL)
    string(REPLACE "-DNDEBUG" "" CMAKE_CXX_FLAGS_${config} "${CMAKE_CXX_FLAGS_${config}}")
  endforeach()
endif()

# The fuzz build instruments everything it compiles (kiln and generated code)
# for coverage, ASan and UBSan; UB aborts so that libFuzzer reports it.
if(KILN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "KILN_FUZZ needs clang (CXX=clang++): libFuzzer is clang's")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize-recover=all -fno-omit-frame-pointer -gline-tables-only)
  add_link_options(-fsanitize=address,undefined)
endif()

# kiln_warnings: an interface target our own code links to get the house
# warning set; generated code (protoc, ANTLR) does not link it.
add_library(kiln_warnings INTERFACE)
# Options structs are meant for designated initializers naming only what
# differs from the defaults, so missing initializers are not a warning.
target_compile_options(kiln_warnings INTERFACE -Wall -Wextra -Wpedantic
  -Wno-missing-field-initializers)
if(KILN_WERROR)
  target_compile_options(kiln_warnings INTERFACE -Werror)
endif()

# kiln_add_module(NAME <target> DIR <dir> [SOURCES ...] [DEPS ...] [PRIVATE_DEPS ...])
# A module library with its public headers in <dir>/include. Without sources the
# module is an INTERFACE library: the module exists, owns its headers and its
# dependency edges, and holds no code yet. The public include dir is a
# BUILD_INTERFACE path so the target can be exported (sdk/cmake/install.cmake
# adds the installed include dir).
function(kiln_add_module)
  cmake_parse_arguments(M "" "NAME;DIR" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  if(M_SOURCES)
    add_library(${M_NAME} STATIC ${M_SOURCES})
    target_include_directories(${M_NAME} PUBLIC $<BUILD_INTERFACE:${M_DIR}/include>
      PRIVATE ${M_DIR}/src)
    target_link_libraries(${M_NAME} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS} kiln_warnings)
  else()
    add_library(${M_NAME} INTERFACE)
    target_include_directories(${M_NAME} INTERFACE $<BUILD_INTERFACE:${M_DIR}/include>)
    target_link_libraries(${M_NAME} INTERFACE ${M_DEPS})
  endif()
endfunction()
