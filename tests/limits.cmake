# limits.cmake -- unit tests of bounded conversions: the millisecond clamp, whole sleeps and the known-fields message.
jt_add_cmocka_test(test_clock
  SOURCES test_clock.c
  CASES exact_values rounds_up tiny_positive_is_one zero_and_negative nan_is_zero
        overflow_edge many_runs sleep_survives_signal sleep_nothing_returns
  TIMEOUT 30
  LIBS jt-base)

jt_add_cmocka_test(test_field_list
  SOURCES test_field_list.c
  CASES all_fit exact_fit empty_list tiny_buffers long_name_first long_list_bounded
        msgpack_unknown_field_message
  TIMEOUT 30
  LIBS jt-wire)
