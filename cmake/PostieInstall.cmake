# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` puts on a system (included at the end of the
# top-level CMakeLists.txt, host builds only):
#
#   lib/libpostie.so.X.Y.Z   the whole host library (core, registry, POSIX
#                            port, mbedTLS layer), SONAME libpostie.so.X
#   lib/libpostie.a          the same, static
#   lib/libpostie_core.a     core/ alone: no OS, no allocator, no dependency
#   include/postie/...       every public header under core/include and
#                            port/include (by directory: new headers are
#                            picked up without editing this file)
#   include/postie_config_defaults.h   the configuration header
#   lib/pkgconfig/postie.pc, postie-core.pc
#   lib/cmake/Postie/        find_package(Postie): Postie::host (shared),
#                            Postie::host_static, Postie::core
#   bin/postie, and the files of cmake/PostieInstallFiles.cmake if present
#
# The combined library is built from the sources of every static library
# the top-level CMakeLists.txt defines (postie_core, postie_registry,
# postie_port, and any library added later): a new library is installed
# without editing this file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(postie_dir_targets DIRECTORY ${PROJECT_SOURCE_DIR} PROPERTY BUILDSYSTEM_TARGETS)
set(postie_all_sources "")
foreach(t IN LISTS postie_dir_targets)
  get_target_property(type ${t} TYPE)
  if(type STREQUAL "STATIC_LIBRARY")
    get_target_property(srcs ${t} SOURCES)
    list(APPEND postie_all_sources ${srcs})
  endif()
endforeach()
list(REMOVE_DUPLICATES postie_all_sources)

# One set of position-independent objects for both the shared and the
# static host library.
add_library(postie_objects OBJECT ${postie_all_sources})
set_target_properties(postie_objects PROPERTIES POSITION_INDEPENDENT_CODE ON
                                                C_VISIBILITY_PRESET default)
target_include_directories(postie_objects PRIVATE core/include config port/include)
target_compile_definitions(postie_objects PRIVATE _POSIX_C_SOURCE=200809L)
target_compile_options(postie_objects PRIVATE ${POSTIE_WARNINGS})

set(postie_public_includes
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/config>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/port/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set(postie_dep_libs
    $<BUILD_INTERFACE:${CJSON_LIB}> $<INSTALL_INTERFACE:Postie::cjson>
    $<BUILD_INTERFACE:${MBEDTLS_LIB}> $<INSTALL_INTERFACE:Postie::mbedtls>
    $<BUILD_INTERFACE:${MBEDX509_LIB}> $<INSTALL_INTERFACE:Postie::mbedx509>
    $<BUILD_INTERFACE:${MBEDCRYPTO_LIB}> $<INSTALL_INTERFACE:Postie::mbedcrypto>
    Threads::Threads)

add_library(postie_shared SHARED $<TARGET_OBJECTS:postie_objects>)
set_target_properties(postie_shared PROPERTIES
  OUTPUT_NAME postie
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  EXPORT_NAME host)
target_include_directories(postie_shared INTERFACE ${postie_public_includes})
target_link_libraries(postie_shared PRIVATE ${CJSON_LIB} ${MBEDTLS_LIB} ${MBEDX509_LIB}
                                            ${MBEDCRYPTO_LIB} Threads::Threads)
# Every symbol the library uses must be in it or in its dependencies.
target_link_options(postie_shared PRIVATE -Wl,--no-undefined -Wl,--as-needed)

add_library(postie_static STATIC $<TARGET_OBJECTS:postie_objects>)
set_target_properties(postie_static PROPERTIES OUTPUT_NAME postie EXPORT_NAME host_static)
target_include_directories(postie_static INTERFACE ${postie_public_includes})
target_link_libraries(postie_static INTERFACE ${postie_dep_libs})

# Postie::core: the installed core/ archive (no dependencies at all)
# (its include directories and definition, as CMakeLists.txt sets them for
# the build, wrapped so the export carries the installed ones)
set_target_properties(postie_core PROPERTIES
  EXPORT_NAME core
  INTERFACE_INCLUDE_DIRECTORIES
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/include>;$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/config>;$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>"
  INTERFACE_COMPILE_DEFINITIONS "$<BUILD_INTERFACE:_POSIX_C_SOURCE=200809L>")

install(TARGETS postie_shared postie_static postie_core
        EXPORT PostieTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS postie RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The lwIP port's headers need lwIP's own and belong to firmware builds,
# which compile port/lwip from the source tree; the host package has no
# lwIP code, so it installs none of them.
install(DIRECTORY core/include/ port/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h"
        PATTERN "lwip" EXCLUDE)
install(FILES config/postie_config_defaults.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(postie_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/Postie)
install(EXPORT PostieTargets NAMESPACE Postie:: DESTINATION ${postie_cmake_dir})
configure_package_config_file(cmake/PostieConfig.cmake.in
  ${PROJECT_BINARY_DIR}/PostieConfig.cmake
  INSTALL_DESTINATION ${postie_cmake_dir})
# 0.x: a new minor version may change the ABI (the SONAME follows MAJOR);
# SameMinorVersion until 1.0, SameMajorVersion after.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(postie_compat SameMinorVersion)
else()
  set(postie_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/PostieConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${postie_compat})
install(FILES ${PROJECT_BINARY_DIR}/PostieConfig.cmake
              ${PROJECT_BINARY_DIR}/PostieConfigVersion.cmake
        DESTINATION ${postie_cmake_dir})

# pkg-config: postie (the host library) and postie-core (core/ alone)
# prefix relative to the .pc file, so a tree installed under any prefix or
# DESTDIR works as it is
file(RELATIVE_PATH postie_pc_to_prefix /x/${CMAKE_INSTALL_LIBDIR}/pkgconfig /x)
foreach(pc postie postie-core)
  configure_file(cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

# Files other parts add (man pages, units, completion): optional.
include(${PROJECT_SOURCE_DIR}/cmake/PostieInstallFiles.cmake OPTIONAL)
