# limits.cmake -- unit tests of bounded conversions: the millisecond clamp and the known-fields message.
jt_add_cmocka_test(test_clock
  SOURCES test_clock.c
  CASES exact_values rounds_up tiny_positive_is_one zero_and_negative nan_is_zero
        overflow_edge many_runs
  TIMEOUT 30
  LIBS jt-base)
