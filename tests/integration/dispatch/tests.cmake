# Dispatcher tests (registered with seesaw_test).
