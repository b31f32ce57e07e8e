# Dispatcher tests (registered with seesaw_test).
seesaw_test(integration_dispatch_tests LABEL integration SOURCES
  integration/dispatch/dispatcher_test.cpp)
