# cli.cmake -- end-to-end tests of the `jouletrace` command line client (gateway/cli/): the real
# binary run as a subprocess against a real nats-server and gateway (tests/test_cli.c). The
# measuring case runs one real worker on the estimate meter on core 1, alone (RUN_SERIAL).
set(JT_CLI_CASES
    usage_errors unreachable_and_timeout server_talks_nonsense submit_and_result cancel watch_on_a_terminal refusals
    batch_result_cancel tokens)

jt_add_cmocka_test(test_cli
  SOURCES test_cli.c
  CASES ${JT_CLI_CASES} end_to_end_estimate
  TIMEOUT 120
  LIBS jt-bus jt-test-support PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON)
target_compile_definitions(test_cli PRIVATE
  JT_CLI_BIN="$<TARGET_FILE:jouletrace>"
  JT_WORKER_BIN="${CMAKE_BINARY_DIR}/bin/jouletrace-worker")
foreach(t jouletrace jouletrace-gateway jouletrace-worker jouletrace-runner)
  if(TARGET ${t})
    add_dependencies(test_cli ${t})
  endif()
endforeach()

list(TRANSFORM JT_CLI_CASES PREPEND test_cli. OUTPUT_VARIABLE JT_CLI_TESTS)
set_tests_properties(${JT_CLI_TESTS} PROPERTIES LABELS "gateway;cli")
set_tests_properties(test_cli.end_to_end_estimate PROPERTIES
    TIMEOUT 900 RUN_SERIAL TRUE RESOURCE_LOCK measurement_core LABELS "pipeline;cli")
