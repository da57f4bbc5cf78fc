# core.cmake -- unit tests of the core of libjouletrace: frames, configuration, logging.
jt_add_cmocka_test(test_frame
  SOURCES test_frame.c
  CASES round_trip_small round_trip_large back_to_back empty_frame too_large_on_read
        too_large_on_write reader_max_clamped eof_mid_frame timeout byte_by_byte
        cleanup_mid_frame write_to_closed_pipe write_nonblocking_full_pipe bad_fd
  TIMEOUT 30
  LIBS jt-wire)

jt_add_cmocka_test(test_protocol
  SOURCES test_protocol.c
  CASES frame_type_is_read_from_the_head wipe_zeroes_every_value
  TIMEOUT 30
  LIBS jt-wire)

jt_add_cmocka_test(test_json_text
  SOURCES test_json_text.c
  CASES reals_are_shortest_and_exact everything_else_untouched
  TIMEOUT 30
  LIBS jt-wire PkgConfig::JANSSON)

jt_add_cmocka_test(test_config
  SOURCES test_config.c
  CASES defaults empty_means_default each_variable_parsed boundaries_accepted invalid_values
        error_leaves_defaults
  TIMEOUT 30
  LIBS jt-base)

jt_add_cmocka_test(test_log
  SOURCES test_log.c
  CASES line_format task_id_only_when_given level_filtering level_parse
        special_characters_stay_one_line long_message_truncated long_utf8_message_truncated
        invalid_utf8_still_logged component_bounded concurrent_lines_never_interleave
        long_lines_never_interleave
  TIMEOUT 30
  LIBS jt-base)
