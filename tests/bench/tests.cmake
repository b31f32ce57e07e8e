# CI does not run the long benchmarks, but a --jobs 2000 run of every
# seesaw-bench mode (prune: 20,000 old jobs, ten delete batches) keeps them
# working (not under ThreadSanitizer: the benchmarks measure, the dispatcher
# tests check the threading).
if(TARGET seesaw-bench AND TARGET seesaw-bench-report AND NOT SEESAW_TSAN)
  function(seesaw_bench_smoke mode metrics)
    add_test(NAME bench_smoke_${mode}
      COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bench_smoke_test.sh $<TARGET_FILE:seesaw-bench>
              $<TARGET_FILE:seesaw-bench-report> ${mode} "${metrics}" ${ARGN})
    set_tests_properties(bench_smoke_${mode} PROPERTIES LABELS bench TIMEOUT 600)
  endfunction()
  seesaw_bench_smoke(floor "floor_e2e_us floor_inserts_per_s floor_inserts_notify_per_s floor_claim_batch_jobs_per_s"
    --jobs 2000)
  seesaw_bench_smoke(latency "latency_p50 latency_p99 enqueue_commit_us notify_to_claim_us floor_e2e_us peak_rss_mib latency_fast_p50 latency_fast_p99 floor_insert_commit_us floor_job_insert_commit_us"
    --jobs 2000 --rate 1000)
  seesaw_bench_smoke(throughput "enqueue_jobs_per_s process_jobs_per_s peak_rss_mib inproc_normal_jobs_per_s inproc_fast_jobs_per_s completion_in_transaction_jobs_per_s completion_own_connection_jobs_per_s"
    --jobs 2000 --producer-jobs 250)
  seesaw_bench_smoke(steady "process_jobs_per_s baseline_notify_process_jobs_per_s enqueue_alone_jobs_per_s latency_p99"
    --jobs 2000)
  seesaw_bench_smoke(stats "stats_us seed_count_group_by_us" --jobs 2000)
  seesaw_bench_smoke(prune "prune_off_enqueue_p99_us prune_on_enqueue_p99_us prune_on_deleted prune_p99_ratio"
    --jobs 20000 --producer-jobs 250)
  seesaw_bench_smoke(processes "processes_1_jobs_per_s processes_2_jobs_per_s processes_1_connections processes_2_connections processes_2_backends_used processes_2_exactly_once"
    --jobs 2000 --process-counts 1,2 --workers 4)
endif()
