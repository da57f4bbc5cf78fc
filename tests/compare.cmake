# compare.cmake -- unit tests of the correctness gate: value comparison and result records.
jt_add_cmocka_test(test_compare
  SOURCES test_compare.c
  CASES none_rules bool_rules numeric_rules tolerance_edges nan_inf strings
  TIMEOUT 30
  LIBS jt-wire jt-test-wire)

# Arrays and maps: their own program, the same test names.
jt_add_cmocka_test(test_compare_containers
  SOURCES test_compare_containers.c
  CASES arrays maps large_maps deep_nesting
  TIMEOUT 30
  GROUP test_compare
  LIBS jt-wire jt-test-wire)

jt_add_cmocka_test(test_validation
  SOURCES test_validation.c
  CASES status_names summarise_all_pass summarise_some_fail summarise_exception_last_line
        summarise_rounding_and_not_run
        summarise_no_tests summary_is_bounded to_json_all_pass to_json_some_fail
        to_json_invalid_utf8 to_json_non_finite_seconds strndup_bounded init_cleanup
  TIMEOUT 30
  LIBS jt-wire)

# Integers beyond 64 bits: text rule, JSON in and out, msgpack check, comparison.
jt_add_cmocka_test(test_bigint
  SOURCES test_bigint.c
  CASES text_rule_and_edges json_text_marks_only_big_literals job_json_keeps_big_integers_exact
        no_string_passes_for_a_number
        msgpack_check_accepts_only_canonical comparison
  TIMEOUT 30
  LIBS jt-wire jt-test-wire PkgConfig::JANSSON)
