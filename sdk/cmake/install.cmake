# Installs the SDK as a CMake package, so that a frontend outside this tree can
#
#   find_package(kiln_sdk CONFIG REQUIRED)
#   target_link_libraries(my_frontend PRIVATE kiln::sdk)          # or:
#   kiln_sdk_add_static_frontend(NAME my_frontend SOURCES main.cc)
#
# Everything goes into the `kiln_sdk` install component:
#   lib/libkiln_{sdk,llb,llb_pb_gen,bridge_pb_gen}.a
#   include/kiln/{sdk,llb}/*.h        the public headers
#   include/<proto dir>/*.pb.h        generated protobuf/gRPC headers, with the
#                                     paths the sources include them by
#                                     ("solver/pb/ops.pb.h")
#   lib/cmake/kiln_sdk/               config, version, targets, static helper
#
# The in-tree targets keep their names; the package exports them in namespace
# kiln:: under shorter names (kiln::sdk, kiln::llb, ...). kiln_warnings is
# exported only because the static archives name it as a link-only
# dependency; it carries no link items and its compile options do not reach
# consumers.
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(KILN_SDK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kiln_sdk)

set(_kiln_sdk_exported
  kiln_sdk kiln_llb kiln_llb_pb kiln_llb_pb_gen kiln_bridge_pb
  kiln_bridge_pb_gen kiln_warnings)
foreach(t IN LISTS _kiln_sdk_exported)
  string(REGEX REPLACE "^kiln_" "" export_name ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${export_name})
endforeach()

install(TARGETS ${_kiln_sdk_exported} EXPORT kiln_sdkTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT kiln_sdk
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/
                  ${PROJECT_SOURCE_DIR}/llb/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT kiln_sdk
  FILES_MATCHING PATTERN "*.h")
# The generated headers live in the build tree next to their .proto's
# relative paths (llb/proto/CMakeLists.txt).
install(DIRECTORY ${PROJECT_BINARY_DIR}/llb/proto/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT kiln_sdk
  FILES_MATCHING PATTERN "*.pb.h"
  PATTERN "CMakeFiles" EXCLUDE)

install(EXPORT kiln_sdkTargets NAMESPACE kiln::
  DESTINATION ${KILN_SDK_CMAKE_DIR} COMPONENT kiln_sdk)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/kiln_sdkConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/kiln_sdkConfig.cmake
  INSTALL_DESTINATION ${KILN_SDK_CMAKE_DIR})
# 0.x: a new minor version may break the API.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/kiln_sdkConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/kiln_sdkConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/kiln_sdkConfigVersion.cmake
    ${CMAKE_CURRENT_LIST_DIR}/KilnSdkStaticFrontend.cmake
  DESTINATION ${KILN_SDK_CMAKE_DIR} COMPONENT kiln_sdk)
