# Dispatcher tests (registered with seesaw_test). Paths are relative to tests/.

# A dispatcher in a process of its own, for the multi-process and SIGKILL tests.
add_executable(seesaw_test_worker support/test_worker.cpp integration/dispatch/tsan_suppressions.cpp)
target_include_directories(seesaw_test_worker PRIVATE support)
target_link_libraries(seesaw_test_worker PRIVATE seesaw::seesaw seesaw_build_flags)

seesaw_test(integration_dispatch_tests LABEL integration SOURCES
  integration/dispatch/dispatcher_test.cpp
  integration/dispatch/wakeup_test.cpp
  integration/dispatch/failure_test.cpp
  integration/dispatch/lifecycle_test.cpp
  integration/dispatch/crash_safety_test.cpp
  integration/dispatch/job_control_test.cpp
  integration/dispatch/periodic_test.cpp
  integration/dispatch/exactly_once_test.cpp
  integration/dispatch/tsan_suppressions.cpp)

seesaw_test(integration_dispatch_process_tests LABEL integration SOURCES
  integration/dispatch/process_test.cpp
  integration/dispatch/tsan_suppressions.cpp)
target_compile_definitions(integration_dispatch_process_tests PRIVATE
  SEESAW_TEST_WORKER="$<TARGET_FILE:seesaw_test_worker>")
add_dependencies(integration_dispatch_process_tests seesaw_test_worker)

seesaw_test(fault_dispatch_tests LABEL fault SOURCES
  integration/dispatch/fault_test.cpp
  integration/dispatch/tsan_suppressions.cpp)
target_compile_definitions(fault_dispatch_tests PRIVATE
  SEESAW_TEST_WORKER="$<TARGET_FILE:seesaw_test_worker>")
add_dependencies(fault_dispatch_tests seesaw_test_worker)
