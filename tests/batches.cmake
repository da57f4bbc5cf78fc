# batches.cmake -- tests of batches (issue 11): the batch codec (JSON, msgpack, comparisons) and
# the gateway's batch routes against a real nats-server and gateway (tests/test_gateway_batches.c).
jt_add_cmocka_test(test_batch_codec
  SOURCES test_batch_codec.c
  CASES minimal_defaults all_fields null_means_default candidate_job refused_candidates
        refused_ids refused_problem_fields refused_options msgpack_only roundtrip
        candidate_count code_bounds body_bounds problem_bounds compare_shape compare_refused
  TIMEOUT 60
  LIBS jt-wire jt-test-wire)
