# Installs headers, libraries, the package config (find_package(seesaw)),
# a pkg-config file and the migrations. tests/integration/cli/install_test.sh
# installs into a temporary prefix and builds tests/consumer against it both ways.
include(CMakePackageConfigHelpers)

set(SEESAW_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/seesaw)
set(SEESAW_INSTALL_MIGRATIONSDIR ${CMAKE_INSTALL_DATADIR}/seesaw/migrations)

install(TARGETS seesaw seesaw_core seesaw_store seesaw_migrations seesaw_dispatch seesaw_rapidjson
  EXPORT seesawTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(folder core store migrations dispatch)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/include/seesaw/seesaw.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seesaw)
install(FILES ${SEESAW_MIGRATION_FILES} DESTINATION ${SEESAW_INSTALL_MIGRATIONSDIR})

install(EXPORT seesawTargets NAMESPACE seesaw:: DESTINATION ${SEESAW_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/seesawConfig.cmake.in
  ${PROJECT_BINARY_DIR}/seesawConfig.cmake
  INSTALL_DESTINATION ${SEESAW_INSTALL_CMAKEDIR}
  PATH_VARS SEESAW_INSTALL_MIGRATIONSDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/seesawConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/seesawConfig.cmake ${PROJECT_BINARY_DIR}/seesawConfigVersion.cmake
  DESTINATION ${SEESAW_INSTALL_CMAKEDIR})

# seesaw.pc is written at install time: `cmake --install --prefix P` decides
# the prefix then, not at configure time.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(SEESAW_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(SEESAW_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
install(CODE "
  set(SEESAW_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(SEESAW_PC_LIBDIR [[${SEESAW_PC_LIBDIR}]])
  set(SEESAW_PC_INCLUDEDIR [[${SEESAW_PC_INCLUDEDIR}]])
  set(PROJECT_VERSION [[${PROJECT_VERSION}]])
  configure_file([[${PROJECT_SOURCE_DIR}/cmake/seesaw.pc.in]] [[${PROJECT_BINARY_DIR}/seesaw.pc]] @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/seesaw.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
