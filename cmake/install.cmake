# Installs headers, libraries, the package config (find_package(seesaw)),
# a pkg-config file and the migrations.
include(CMakePackageConfigHelpers)

install(TARGETS seesaw seesaw_core seesaw_store seesaw_migrations seesaw_dispatch
  EXPORT seesawTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(folder core store migrations dispatch)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/include/seesaw/seesaw.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/seesaw)
install(FILES ${SEESAW_MIGRATION_FILES} DESTINATION ${CMAKE_INSTALL_DATADIR}/seesaw/migrations)

install(EXPORT seesawTargets NAMESPACE seesaw:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/seesaw)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/seesawConfig.cmake.in
  ${PROJECT_BINARY_DIR}/seesawConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/seesaw)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/seesawConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/seesawConfig.cmake ${PROJECT_BINARY_DIR}/seesawConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/seesaw)

configure_file(${PROJECT_SOURCE_DIR}/cmake/seesaw.pc.in ${PROJECT_BINARY_DIR}/seesaw.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/seesaw.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
