# codec.cmake -- unit tests of the job codecs (JSON, msgpack, client values); fuzz.cmake fuzzes them
jt_add_cmocka_test(test_value
  SOURCES test_value.c
  CASES from_json_scalars from_json_containers from_json_depth from_json_string_too_large
        to_json_scalars to_json_rejects to_json_depth roundtrip_json check_accepts
        check_rejects check_limits path_truncation_utf8 unpack_value
  TIMEOUT 30
  LIBS jt-wire)

jt_add_cmocka_test(test_job_json
  SOURCES test_job_json.c
  CASES minimal_defaults all_fields null_means_default test_id_forms duplicate_test_ids
        repetition_mode
        wrong_type_each_field missing_required unknown_field_top unknown_field_test_case
        unknown_field_comparison duplicate_keys invalid_utf8 invalid_json not_an_object
        nul_in_strings bad_task_id bad_function_name names_too_long
  TIMEOUT 30
  LIBS jt-wire jt-test-wire)

jt_add_cmocka_test(test_job_json_limits
  SOURCES test_job_json_limits.c
  CASES empty_test_cases too_many_test_cases code_too_large body_too_large string_too_large
        depth_64_accepted depth_65_rejected depth_100000 number_bounds float_for_integer_field
        bool_for_number_field big_integer
  TIMEOUT 60
  LIBS jt-wire jt-test-wire)

jt_add_cmocka_test(test_job_msgpack
  SOURCES test_job_msgpack.c
  CASES roundtrip_all_fields roundtrip_minimal json_to_msgpack_roundtrip truncated_every_prefix
        trailing_bytes reserved_byte huge_counts too_large duplicate_field root_not_map
        unknown_fields missing_required blobs_canonical nul_in_code duplicate_test_ids
  TIMEOUT 60
  LIBS jt-wire jt-test-wire)

# The value bounds and numbers of the msgpack codec: their own program, the same test names.
jt_add_cmocka_test(test_job_msgpack_limits
  SOURCES test_job_msgpack_limits.c
  CASES non_string_keys bin_and_ext depth_64_accepted depth_65_rejected depth_100000
        string_too_large invalid_utf8 float_for_integer_field int_for_float_field
        bool_for_number_field integer_out_of_range non_finite_numbers
  TIMEOUT 60
  GROUP test_job_msgpack
  LIBS jt-wire jt-test-wire)
