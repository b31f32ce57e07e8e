# `seesaw web`: its API against the test database (in-process server), and
# the page in headless Chromium (label browser; skipped, saying so, when
# chromium is not installed; scripts/test.sh installs it).
if(TARGET seesaw_web)
  seesaw_test(integration_web_tests LABEL integration LIBS seesaw_web PostgreSQL::PostgreSQL SOURCES
    integration/web/web_api_test.cpp)
  target_compile_definitions(integration_web_tests PRIVATE SEESAW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

  seesaw_test(browser_web_tests LABEL browser TIMEOUT 600 SOURCES
    integration/web/browser.cpp
    integration/web/web_browser_test.cpp
    integration/cli/cli_runner.cpp)
  target_include_directories(browser_web_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../cli)
  target_compile_definitions(browser_web_tests PRIVATE SEESAW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SEESAW_CLI_PATH="$<TARGET_FILE:seesaw_cli>" SEESAW_SCREENSHOT_DIR="${PROJECT_BINARY_DIR}/screenshots")
  add_dependencies(browser_web_tests seesaw_cli)
endif()

# The overview's benchmark keeps working (the figures come from a run with
# --jobs 1000000, see the README).
if(TARGET seesaw-web-bench AND NOT SEESAW_TSAN)
  add_test(NAME bench_smoke_web
    COMMAND bash -c "exec \"$0\" --database-url \"$SEESAW_TEST_DATABASE_URL\" --jobs 2000 --requests 10 --state mixed --schema seesaw_web_bench_smoke | grep -c web_queues_p99"
            $<TARGET_FILE:seesaw-web-bench>)
  set_tests_properties(bench_smoke_web PROPERTIES LABELS bench TIMEOUT 300)
endif()
