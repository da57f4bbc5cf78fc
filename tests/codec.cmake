# codec.cmake -- unit tests of the job codecs (JSON, msgpack, client values) and their fuzz targets.
jt_add_cmocka_test(test_value
  SOURCES test_value.c
  CASES from_json_scalars from_json_containers from_json_depth from_json_string_too_large
        to_json_scalars to_json_rejects to_json_depth roundtrip_json check_accepts
        check_rejects check_limits path_truncation_utf8 unpack_value
  TIMEOUT 30
  LIBS jt-wire)

jt_add_cmocka_test(test_job_json
  SOURCES test_job_json.c
  CASES minimal_defaults all_fields null_means_default test_id_forms repetition_mode
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
        unknown_fields missing_required blobs_canonical nul_in_code
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

# The fuzz entry points, replayed over the seed corpus by a plain driver in every build.
foreach(target job_json job_msgpack)
  add_executable(fuzz_replay_${target} fuzz/replay_main.c fuzz/fuzz_${target}.c)
  target_link_libraries(fuzz_replay_${target} PRIVATE jt-wire)
  set_target_properties(fuzz_replay_${target} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME fuzz_replay.${target}
    COMMAND fuzz_replay_${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target})
  set_tests_properties(fuzz_replay.${target} PROPERTIES TIMEOUT 60)
endforeach()

# libFuzzer targets (clang only): the codec sources are compiled into each target so that
# libFuzzer's coverage instrumentation reaches them. Run e.g.
#   build/tests/fuzz_job_json -max_total_time=60 NEW_DIR tests/fuzz/corpus/job_json
option(JT_FUZZ "Build the libFuzzer targets of the decoders (needs clang)" OFF)
if(JT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "JT_FUZZ=ON needs clang: configure with CC=clang")
  endif()
  set(codec_sources wire/job.c wire/value.c wire/unpack.c wire/job_json.c wire/job_msgpack.c
      wire/field_list.c
      wire/task_id.c base/status.c)
  list(TRANSFORM codec_sources PREPEND ${PROJECT_SOURCE_DIR}/shared/)
  foreach(target job_json job_msgpack)
    add_executable(fuzz_${target} fuzz/fuzz_${target}.c ${codec_sources})
    target_include_directories(fuzz_${target} PRIVATE ${PROJECT_SOURCE_DIR}/shared/wire/include
                               ${PROJECT_SOURCE_DIR}/shared/base/include)
    target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${target} PRIVATE PkgConfig::MSGPACK PkgConfig::JANSSON m)
    set_target_properties(fuzz_${target} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    # -runs=0 only replays the corpus (libFuzzer writes nothing into it).
    add_test(NAME fuzz_corpus.${target}
      COMMAND fuzz_${target} -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target})
    set_tests_properties(fuzz_corpus.${target} PROPERTIES TIMEOUT 120)
  endforeach()
endif()
