# gateway.cmake -- end-to-end tests of jouletrace-gateway: real nats-server + gateway, libcurl client.
# One ctest entry per case of tests/test_gateway.c (tasks: submit, read,
# cancel, stream), tests/test_gateway_service.c (the other routes, refused
# requests, NATS down, shutdown) and tests/test_gateway_door.c (one table each: 415 for
# bodies not sent as JSON, CORS origins, 400 for task ids as sent, 401 bearer tokens and no
# token in the log, refusals at start); each starts its own servers on free ports
# (the fixture: tests/support/gateway_*.c in jt-test-support).
set(JT_GATEWAY_CASES
    not_calibrated accepted_in_stream big_integers_exact_on_the_bus get_queued_record idempotency cancel_queued sse_progress
    queue_full concurrent_posts cancel_running)
set(JT_GATEWAY_SERVICE_CASES
    bad_requests metrics_counts ping health_degraded health_names_sandbox_gaps nats_down validate_no_workers
    validate_relay socket0_status socket0_status_estimate_only capabilities sigterm_exit_0)
set(JT_GATEWAY_DOOR_CASES
    content_type cors_listed cors_off task_ids tokens tokens_file refusals)

jt_add_cmocka_test(test_gateway
  SOURCES test_gateway.c
  CASES ${JT_GATEWAY_CASES}
  TIMEOUT 60
  LIBS jt-bus jt-test-support PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON)
jt_add_cmocka_test(test_gateway_service
  SOURCES test_gateway_service.c
  CASES ${JT_GATEWAY_SERVICE_CASES}
  TIMEOUT 60
  LIBS jt-bus jt-test-support PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON)
jt_add_cmocka_test(test_gateway_door
  SOURCES test_gateway_door.c
  CASES ${JT_GATEWAY_DOOR_CASES}
  TIMEOUT 90
  LIBS jt-bus jt-test-support PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON)
foreach(p test_gateway test_gateway_service test_gateway_door)
  add_dependencies(${p} jouletrace-gateway)
endforeach()

list(TRANSFORM JT_GATEWAY_CASES PREPEND test_gateway. OUTPUT_VARIABLE JT_GATEWAY_TESTS)
list(TRANSFORM JT_GATEWAY_SERVICE_CASES PREPEND test_gateway_service.
     OUTPUT_VARIABLE JT_GATEWAY_SERVICE_TESTS)
list(TRANSFORM JT_GATEWAY_DOOR_CASES PREPEND test_gateway_door. OUTPUT_VARIABLE JT_GATEWAY_DOOR_TESTS)
set_tests_properties(${JT_GATEWAY_TESTS} ${JT_GATEWAY_SERVICE_TESTS} ${JT_GATEWAY_DOOR_TESTS}
                     PROPERTIES LABELS gateway)
jt_log_responses(${JT_GATEWAY_TESTS} ${JT_GATEWAY_SERVICE_TESTS} ${JT_GATEWAY_DOOR_TESTS})
