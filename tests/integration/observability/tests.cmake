# Metrics endpoint (fetched with curl) and the logging hook.
seesaw_test(integration_observability_tests LABEL integration SOURCES
  integration/observability/observability_test.cpp)
