# hostile.cmake -- end-to-end sandbox tests: hostile candidates through `jouletrace-worker validate`.
# One ctest entry per case (tests/test_hostile.c); each case gets its own
# JOULETRACE_SANDBOX_DIR under the build tree so parallel runs stay apart.
# The worker and runner are found by path, as they may be defined after this file.
set(JT_HOSTILE_CASES
    baseline bad_input module_loop missing_function syntax_error
    call_loop memory fork_loop thread tcp big_file big_print print_loop
    kill_parent killpg shadow sys_exit os_exit segfault recursion object set
    suite_leaves_nothing)

add_executable(test_hostile test_hostile.c)
target_link_libraries(test_hostile PRIVATE jt-test-base PkgConfig::JANSSON)
target_compile_definitions(test_hostile PRIVATE
    JT_WORKER_BIN="${CMAKE_BINARY_DIR}/bin/jouletrace-worker"
    JT_RUNNER_BIN="${CMAKE_BINARY_DIR}/bin/jouletrace-runner"
    JT_HOSTILE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/hostile"
    JT_SANDBOX_ROOT="${CMAKE_BINARY_DIR}/tests/sandbox")
set_target_properties(test_hostile PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
foreach(t jouletrace-worker jouletrace-runner)
  if(TARGET ${t})
    add_dependencies(test_hostile ${t})
  endif()
endforeach()

foreach(c ${JT_HOSTILE_CASES})
  add_test(NAME hostile.${c} COMMAND test_hostile ${c})
  set_tests_properties(hostile.${c} PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS hostile)
endforeach()
# These two assert a wall-clock bound (timeout + 1 s): measured alone, not
# against the CPU load of parallel tests.
set_tests_properties(hostile.module_loop hostile.call_loop PROPERTIES RUN_SERIAL TRUE)

# The seccomp filters themselves, compiled on the spot and precompiled.
jt_add_cmocka_test(test_seccomp_filter
  SOURCES test_seccomp_filter.c
  CASES base_filter_compiled_on_the_spot base_filter_precompiled
        run_filter_compiled_on_the_spot run_filter_precompiled_each_run_own_pid
  TIMEOUT 30
  LIBS jt-sandbox PkgConfig::SECCOMP)
