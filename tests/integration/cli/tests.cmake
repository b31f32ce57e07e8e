# CLI and package tests (registered with seesaw_test).
