# Metrics endpoint (fetched with curl) and the logging hook. The test runs a
# dispatcher, so it links the TSan suppressions for moodycamel's queue.
seesaw_test(integration_observability_tests LABEL integration SOURCES
  integration/observability/observability_test.cpp
  integration/dispatch/tsan_suppressions.cpp)
