# sandbox.cmake -- the sandbox's own parts, tested directly: the working-directory scrub, and the
# box (slots, uids, namespaces, cgroup, the runner's watch) through the real runner.
jt_add_cmocka_test(test_workdir
  SOURCES test_workdir.c
  CASES deeper_than_path_max_is_emptied locked_directories_are_emptied
        symlinks_are_not_followed remove_takes_the_directory
  LIBS jt-sandbox jt-test-base)

jt_add_cmocka_test(test_sandbox_box
  SOURCES test_sandbox_box.c
  CASES two_runners_two_boxes stopped_supervisor_ends_in_timeout box_counts_its_cpu_time
        without_cgroups_the_box_still_runs read_only_proc_sys_keeps_the_ipc_limits
        without_root_a_user_namespace_makes_the_box
        without_root_or_user_namespaces_the_box_still_runs
        runs_of_a_trial_share_no_state run_that_closes_its_pipe_is_killed
  TIMEOUT 120
  LIBS jt-measure jt-test-base PkgConfig::JANSSON PkgConfig::SECCOMP)
foreach(c two_runners_two_boxes stopped_supervisor_ends_in_timeout box_counts_its_cpu_time
          without_cgroups_the_box_still_runs read_only_proc_sys_keeps_the_ipc_limits
          without_root_a_user_namespace_makes_the_box
        without_root_or_user_namespaces_the_box_still_runs
          runs_of_a_trial_share_no_state run_that_closes_its_pipe_is_killed)
  set_tests_properties(test_sandbox_box.${c} PROPERTIES SKIP_RETURN_CODE 77 ENVIRONMENT
    "JOULETRACE_RUNNER=$<TARGET_FILE:jouletrace-runner>;JT_WORKER_BIN=$<TARGET_FILE:jouletrace-worker>")
endforeach()
add_dependencies(test_sandbox_box jouletrace-runner jouletrace-worker)

# The kernel's account of a trial's runs (trial_end "usage"): the codec, and the real runner.
set(JT_TRIAL_USAGE_CASES cpu_bound_trial_reports_its_cpu_time same_process_trial_is_one_run
    allocating_100_mb_shows_in_max_rss failed_trial_still_reports_usage)
jt_add_cmocka_test(test_trial_usage
  SOURCES test_trial_usage.c
  CASES codec_round_trip_and_absence ${JT_TRIAL_USAGE_CASES}
  TIMEOUT 120
  LIBS jt-measure jt-test-base PkgConfig::JANSSON)
foreach(c ${JT_TRIAL_USAGE_CASES})
  set_tests_properties(test_trial_usage.${c} PROPERTIES ENVIRONMENT
    "JOULETRACE_RUNNER=$<TARGET_FILE:jouletrace-runner>")
endforeach()
add_dependencies(test_trial_usage jouletrace-runner)
