# hostile.cmake -- end-to-end sandbox tests: hostile candidates through `jouletrace-worker validate`.
# One ctest entry per case; each case gets its own JOULETRACE_SANDBOX_DIR under
# the build tree so parallel runs stay apart. The worker and runner are found by
# path, as they may be defined after this file.
# test_hostile: one hostile call of hostile/candidates.py per case, or all of them in one job;
# test_hostile_module: modules that loop, lack the function or do not parse, a correct one, a
# refused job. Both run on the harness jt-test-hostile (tests/support/hostile_*.c).
set(JT_HOSTILE_CASES
    call_loop memory fork_loop thread tcp big_file big_print huge_result print_loop
    kill_parent killpg shadow sys_exit os_exit segfault recursion object set secrets
    fcntl_setown fcntl_async prlimit_parent suite_leaves_nothing
    pidfd_signal sigqueue_parent tgkill_parent fcntl_setown_ex fcntl_setsig fcntl_high_bits
    ioctl_setown lease_notify renice_others ioprio_others sched_others prlimit_others
    vm_read_parent proc_mem_parent ptrace_parent kcmp_parent
    userfaultfd perf_event keyrings bpf io_uring namespaces mount_chroot personality
    sysv_ipc posix_mq memfd_memory tmpfs_full open_files plant_files deep_path
    fds_clean hostname net_interfaces setuid_root minimal_root python_works
    two_jobs_one_runner two_workers host_clean_after_suite)
set(JT_HOSTILE_MODULE_CASES
    baseline bad_input module_loop missing_function syntax_error)

foreach(p test_hostile test_hostile_module)
  add_executable(${p} ${p}.c)
  target_link_libraries(${p} PRIVATE jt-test-hostile PkgConfig::JANSSON)
  set_target_properties(${p} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  foreach(t jouletrace-worker jouletrace-runner)
    if(TARGET ${t})
      add_dependencies(${p} ${t})
    endif()
  endforeach()
endforeach()

# test_hostile drives a runner itself as well (two jobs through one runner): jt-measure's client.
target_link_libraries(test_hostile PRIVATE jt-measure)
target_compile_definitions(test_hostile PRIVATE
  JT_RUNNER_BIN="${CMAKE_BINARY_DIR}/bin/jouletrace-runner"
  JT_SANDBOX_ROOT="${CMAKE_BINARY_DIR}/tests/sandbox")

foreach(c ${JT_HOSTILE_CASES})
  add_test(NAME hostile.${c} COMMAND test_hostile ${c})
endforeach()
foreach(c ${JT_HOSTILE_MODULE_CASES})
  add_test(NAME hostile.${c} COMMAND test_hostile_module ${c})
endforeach()
foreach(c ${JT_HOSTILE_CASES} ${JT_HOSTILE_MODULE_CASES})
  set_tests_properties(hostile.${c} PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS hostile
    FIXTURES_REQUIRED hostile_host)
endforeach()
# After every other case (whichever ran): nothing of any case is left on the host.
set_tests_properties(hostile.host_clean_after_suite PROPERTIES FIXTURES_REQUIRED ""
  FIXTURES_CLEANUP hostile_host)
# The worker runs with secrets in its environment; the candidate must see none.
set_tests_properties(hostile.secrets PROPERTIES ENVIRONMENT
  "JOULETRACE_NATS_URL=nats://jt:jt-canary-password@127.0.0.1:1;JT_CANARY=jt-canary-token")
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

# Values and errors as the validate command shows them, on the same harness.
include(${CMAKE_CURRENT_LIST_DIR}/values.cmake)
