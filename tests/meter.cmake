# meter.cmake -- energy meters, the sampler, and fake_rapl (the moving fake powercap tree they run against).
add_executable(fake_rapl fake_rapl.c)
target_link_libraries(fake_rapl PRIVATE jt-energy)
set_target_properties(fake_rapl PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

jt_add_cmocka_test(test_meter
  SOURCES test_meter.c
  CASES names_and_kinds single_wrap wrap_on_dram_only consecutive_wraps_sampled
        discovery_intel_two_socket discovery_amd_no_dram discovery_unrelated_zones
        discovery_shuffled_indices missing_tree_message permission_message read_during_rewrites
  TIMEOUT 60
  LIBS jt-energy jt-test-base)

jt_add_cmocka_test(test_meter_backends
  SOURCES test_meter_backends.c
  CASES cpu_busy_sources estimate_model_exact estimate_real_busy_core estimate_bad_config
        perf_discovery perf_open_failure_message auto_never_estimates cpu_busy_root_cpuacct
  TIMEOUT 60
  LIBS jt-energy jt-test-base)

# The estimate meter on a cgroup's CPU time; the real case makes a cgroup (root, else skipped).
jt_add_cmocka_test(test_meter_cgroup
  SOURCES test_meter_cgroup.c
  CASES cgroup_sources_parse estimate_follows_cgroup estimate_fallback_without_cgroup
        real_cgroup_counts_child
  TIMEOUT 60
  LIBS jt-energy jt-test-base)
set_tests_properties(test_meter_cgroup.real_cgroup_counts_child PROPERTIES SKIP_RETURN_CODE 77)

jt_add_cmocka_test(test_sampler
  SOURCES test_sampler.c
  CASES invalid_rate read_rate stop_is_prompt empty_recording timeline_bounded timeline_power
  TIMEOUT 90
  LIBS jt-energy jt-test-base)

jt_add_cmocka_test(test_fake_rapl
  SOURCES test_fake_rapl.c
  CASES tree_and_truth meter_matches_truth busy_core_power idle_step_and_ramp drift_under_load
  TIMEOUT 60
  LIBS jt-energy jt-test-base)

foreach(t test_meter test_meter_backends test_sampler test_fake_rapl)
  target_compile_definitions(${t} PRIVATE JT_FAKE_RAPL_BIN="$<TARGET_FILE:fake_rapl>")
  add_dependencies(${t} fake_rapl)
endforeach()

# Tests that drive or read CPU busy time of the measurement core, or run the
# moving fake tree, must not overlap one another.
set_tests_properties(
  test_meter.consecutive_wraps_sampled test_meter.read_during_rewrites
  test_meter_backends.estimate_real_busy_core test_meter_backends.cpu_busy_root_cpuacct
  test_sampler.read_rate test_sampler.timeline_bounded test_sampler.timeline_power
  test_fake_rapl.tree_and_truth test_fake_rapl.meter_matches_truth test_fake_rapl.busy_core_power
  test_fake_rapl.idle_step_and_ramp test_fake_rapl.drift_under_load
  PROPERTIES RESOURCE_LOCK measurement_core)

# The measurement environment's package temperature (worker/host_info.c) on fake /sys/class trees.
jt_add_cmocka_test(test_host_info
  SOURCES test_host_info.c
  CASES package_zone_wins_over_lower_numbers without_package_zone_smallest_number_readable
        hwmon_by_name_past_number_64 no_sensor_is_nan
  TIMEOUT 30
  LIBS jt-measure m)
