# The chaos test (label fault): three dispatcher processes and three
# producers (C++ API, CLI, psql) against a PostgreSQL of its own, while a
# seeded schedule kills, stops and cuts them off and crashes the server; a
# checker then proves from the ledgers they wrote that nothing was lost.
# See chaos/chaos_test.sh. It drives the real `seesaw` binary, so it exists
# only with the CLI; not under ThreadSanitizer (the dispatcher tests check
# the threading; this test needs real timings to find lost jobs).
if(TARGET seesaw_cli AND NOT SEESAW_TSAN)
  foreach(program chaos_worker chaos_producer chaos_check)
    add_executable(${program} ${CMAKE_CURRENT_LIST_DIR}/${program}.cpp)
    target_link_libraries(${program} PRIVATE seesaw::seesaw seesaw_build_flags)
  endforeach()

  # SEESAW_CHAOS_DURATION (seconds of faults, default 120) and
  # SEESAW_CHAOS_SEED in the environment change the run; longer runs than
  # the TIMEOUT allows: run chaos_test.sh by hand with the same arguments.
  add_test(NAME fault_chaos
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/chaos_test.sh
            --cli $<TARGET_FILE:seesaw_cli>
            --worker $<TARGET_FILE:chaos_worker>
            --producer $<TARGET_FILE:chaos_producer>
            --check $<TARGET_FILE:chaos_check>
            --work-dir ${CMAKE_CURRENT_BINARY_DIR}/chaos)
  set_tests_properties(fault_chaos PROPERTIES LABELS fault TIMEOUT 600)
endif()
