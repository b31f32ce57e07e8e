# Micro-benchmarks (Google Benchmark); see bench/micro/README.md
find_package(benchmark REQUIRED)

add_executable(seesaw-micro
  ${CMAKE_CURRENT_LIST_DIR}/enqueue_params_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/handoff_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hot_path_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/job_id_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lookup_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/payload_bench.cpp)
# They drive the real parts, so they see the internal headers: the engine's
# (dispatch/src: Executor, Completer, Producer, ...), the store's
# (store/src: worker_protocol.hpp, enqueue_params.hpp, pg.hpp), and the fake
# of the statement interface the unit tests use (tests/support/
# fake_statements.hpp; a header only: the test targets need not be built).
target_include_directories(seesaw-micro PRIVATE
  ${PROJECT_SOURCE_DIR}/dispatch/src
  ${PROJECT_SOURCE_DIR}/store/src
  ${PROJECT_SOURCE_DIR}/tests/support)
target_include_directories(seesaw-micro SYSTEM PRIVATE ${SEESAW_CONCURRENTQUEUE_INCLUDE_DIR})
target_link_libraries(seesaw-micro PRIVATE
  seesaw::seesaw PkgConfig::LIBUV PostgreSQL::PostgreSQL
  benchmark::benchmark benchmark::benchmark_main Threads::Threads seesaw_build_flags)
