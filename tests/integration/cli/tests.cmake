# CLI and package tests. They drive the real `seesaw` binary, so they exist
# only when the CLI is built.
if(TARGET seesaw_cli)
  seesaw_test(integration_cli_tests LABEL integration SOURCES
    integration/cli/cli_runner.cpp
    integration/cli/cli_test.cpp)
  target_compile_definitions(integration_cli_tests PRIVATE SEESAW_CLI_PATH="$<TARGET_FILE:seesaw_cli>")
  add_dependencies(integration_cli_tests seesaw_cli)
  # (Not under ThreadSanitizer: the demo is built without the dispatcher
  # tests' suppressions for moodycamel's queue.)
  if(TARGET seesaw-demo AND NOT SEESAW_TSAN)
    target_compile_definitions(integration_cli_tests PRIVATE SEESAW_DEMO_PATH="$<TARGET_FILE:seesaw-demo>")
    add_dependencies(integration_cli_tests seesaw-demo)
  endif()

  if(TARGET seesaw-unique-jobs)
    target_compile_definitions(integration_cli_tests PRIVATE
      SEESAW_UNIQUE_JOBS_EXAMPLE_PATH="$<TARGET_FILE:seesaw-unique-jobs>")
    add_dependencies(integration_cli_tests seesaw-unique-jobs)
  endif()
  # They run a dispatcher: not under TSan (see seesaw-demo above).
  if(TARGET seesaw-job-control AND NOT SEESAW_TSAN)
    target_compile_definitions(integration_cli_tests PRIVATE
      SEESAW_JOB_CONTROL_EXAMPLE_PATH="$<TARGET_FILE:seesaw-job-control>")
    add_dependencies(integration_cli_tests seesaw-job-control)
  endif()
  if(TARGET seesaw-exactly-once AND NOT SEESAW_TSAN)
    target_compile_definitions(integration_cli_tests PRIVATE
      SEESAW_EXACTLY_ONCE_EXAMPLE_PATH="$<TARGET_FILE:seesaw-exactly-once>")
    add_dependencies(integration_cli_tests seesaw-exactly-once)
  endif()
  if(TARGET seesaw-periodic AND NOT SEESAW_TSAN)
    target_compile_definitions(integration_cli_tests PRIVATE
      SEESAW_PERIODIC_EXAMPLE_PATH="$<TARGET_FILE:seesaw-periodic>")
    add_dependencies(integration_cli_tests seesaw-periodic)
  endif()

  seesaw_test(unit_cli_tests LABEL unit SOURCES
    unit/cli/output_test.cpp
    unit/cli/parse_test.cpp
    LIBS seesaw_cli_lib)

  # Installs into a temporary prefix and builds tests/consumer with
  # find_package and with pkg-config, then runs it against the test database.
  # (Not in sanitizer builds: their libraries only link into programs built
  # with the same -fsanitize flags, which a consumer does not use.)
  if(SEESAW_INSTALL AND NOT SEESAW_TSAN AND NOT SEESAW_ASAN)
    add_test(NAME cli_install_consumer
      COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/install_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli_install_consumer PROPERTIES LABELS integration TIMEOUT 600)
  endif()
endif()
