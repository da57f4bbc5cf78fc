# batches.cmake -- tests of batches (issue 11): the batch codec (JSON, msgpack, comparisons) and
# the gateway's batch routes against a real nats-server and gateway (tests/test_gateway_batches.c).
jt_add_cmocka_test(test_batch_codec
  SOURCES test_batch_codec.c
  CASES minimal_defaults all_fields null_means_default candidate_job refused_candidates
        refused_ids refused_problem_fields refused_options msgpack_only roundtrip
        candidate_count code_bounds body_bounds problem_bounds compare_shape compare_refused
  TIMEOUT 60
  LIBS jt-wire jt-test-wire)

set(JT_GATEWAY_BATCH_CASES
    submit_queues_every_gate not_calibrated idempotency refusals body_bounds queue_full
    compare_is_a_batch_of_two callback_allowed cancel completed_with_details events_stream
    capabilities)
jt_add_cmocka_test(test_gateway_batches
  SOURCES test_gateway_batches.c
  CASES ${JT_GATEWAY_BATCH_CASES}
  TIMEOUT 60
  LIBS jt-bus jt-test-support jt-test-wire PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON)
add_dependencies(test_gateway_batches jouletrace-gateway)
list(TRANSFORM JT_GATEWAY_BATCH_CASES PREPEND test_gateway_batches.
     OUTPUT_VARIABLE JT_GATEWAY_BATCH_TESTS)
set_tests_properties(${JT_GATEWAY_BATCH_TESTS} PROPERTIES LABELS "gateway;batches")
jt_log_responses(${JT_GATEWAY_BATCH_TESTS}) # checked against docs/openapi.json (openapi.cmake)

# The batch decoders (batch_codec.c) on any bytes: tests/fuzz/fuzz_batch.c, seeds in
# tests/fuzz/corpus/batch (first byte: 0 msgpack, 1 JSON, 2 comparison JSON).
jt_add_fuzz_target(batch LIBS jt-wire)
