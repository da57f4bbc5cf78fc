# gateway.cmake -- end-to-end tests of jouletrace-gateway: real nats-server + gateway, libcurl client.
# One ctest entry per case of tests/test_gateway.c; each starts its own servers on free ports.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)

set(JT_GATEWAY_CASES
    bad_requests not_calibrated accepted_in_stream get_queued_record idempotency
    cancel_queued sse_progress metrics_counts ping health_degraded nats_down queue_full
    validate_no_workers validate_relay socket0_status capabilities concurrent_posts
    cancel_running sigterm_exit_0)

jt_add_cmocka_test(test_gateway
  SOURCES test_gateway.c
  CASES ${JT_GATEWAY_CASES}
  TIMEOUT 60
  LIBS PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON)
target_compile_definitions(test_gateway PRIVATE
    JT_GATEWAY_BIN="$<TARGET_FILE:jouletrace-gateway>")
add_dependencies(test_gateway jouletrace-gateway)
foreach(c ${JT_GATEWAY_CASES})
  set_tests_properties(test_gateway.${c} PROPERTIES LABELS gateway)
endforeach()
