# Micro-benchmarks (Google Benchmark); see bench/micro/README.md
find_package(benchmark REQUIRED)

add_executable(seesaw-micro
  ${CMAKE_CURRENT_LIST_DIR}/enqueue_params_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/handoff_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hot_path_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/job_id_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lookup_bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/payload_bench.cpp)
# Internal headers: pg.hpp, store_sql.hpp (store); handoff.hpp, metrics.hpp (dispatch).
target_include_directories(seesaw-micro PRIVATE
  ${PROJECT_SOURCE_DIR}/store/src
  ${PROJECT_SOURCE_DIR}/dispatch/src)
target_include_directories(seesaw-micro SYSTEM PRIVATE ${SEESAW_CONCURRENTQUEUE_INCLUDE_DIR})
target_link_libraries(seesaw-micro PRIVATE
  seesaw::seesaw PkgConfig::LIBUV PostgreSQL::PostgreSQL
  benchmark::benchmark benchmark::benchmark_main Threads::Threads seesaw_build_flags)
