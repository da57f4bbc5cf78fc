# values.cmake -- values and errors as `jouletrace-worker validate` shows them (real worker, runner,
# sandbox), on the harness of the hostile suite (jt-test-hostile).
set(JT_VALUES_CASES tuple_result exception_summary bigint)
add_executable(test_validate_values test_validate_values.c)
target_link_libraries(test_validate_values PRIVATE jt-test-hostile PkgConfig::JANSSON)
set_target_properties(test_validate_values PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                      ${CMAKE_BINARY_DIR}/tests)
foreach(t jouletrace-worker jouletrace-runner)
  if(TARGET ${t})
    add_dependencies(test_validate_values ${t})
  endif()
endforeach()
foreach(c ${JT_VALUES_CASES})
  add_test(NAME values.${c} COMMAND test_validate_values ${c})
  # the hostile suite's harness and sandbox root: its final check runs after these too
  set_tests_properties(values.${c} PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS values
    FIXTURES_REQUIRED hostile_host)
endforeach()
