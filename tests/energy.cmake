# energy.cmake -- end-to-end energy tests: calibrate and measure real jobs on the moving fake tree.
# One ctest entry per case of tests/test_energy_e2e.c (the checks (a) .. (i)),
# tests/test_energy_trials.c (trials, modes, meters, calibration) and
# tests/test_energy_drift.c (the same checks while idle power drifts), on the
# harness jt-test-energy (tests/support/energy_*.c). Each
# case needs the measurement core (core 1) to itself: fake_rapl charges every
# busy tick of that core, whoever runs there. So they run one at a time, alone.
set(JT_ENERGY_E2E_CASES
    a_twice_the_work b_sleep_is_free c_power_is_active_watts
    d_patched_time d_atexit_burn d_thread_left_running d_leaves_measurement_core
    e_input_mutation e_input_mutation_same_process
    f_nondeterministic_output f_nondeterministic_same_process
    g_lru_cache h_module_precompute i_null_like_is_zero j_cache_in_files k_cache_in_sysv)
set(JT_ENERGY_TRIALS_CASES
    trials_max_reached trials_early_stop warmup_trials_run min_trial_seconds_scales
    same_process_mode not_calibrated meter_stalled estimate_meter
    calibrate_recovers_idle calibrate_refuses_busy_core)
set(JT_ENERGY_DRIFT_CASES a_twice_the_work b_cpu_power c_sleep_is_free d_quality_names_drift)

jt_add_cmocka_test(test_energy_e2e
  SOURCES test_energy_e2e.c
  CASES ${JT_ENERGY_E2E_CASES}
  TIMEOUT 300
  LIBS jt-energy jt-test-energy PkgConfig::JANSSON m)
jt_add_cmocka_test(test_energy_trials
  SOURCES test_energy_trials.c
  CASES ${JT_ENERGY_TRIALS_CASES}
  TIMEOUT 300
  LIBS jt-energy jt-test-energy PkgConfig::JANSSON m)
# A drift case may measure four jobs with idle windows between the trials, up to five times when
# disturbed (about 65 s each).
jt_add_cmocka_test(test_energy_drift
  SOURCES test_energy_drift.c
  CASES ${JT_ENERGY_DRIFT_CASES}
  TIMEOUT 600
  LIBS jt-energy jt-test-energy PkgConfig::JANSSON m)
# test_energy_drift starts its own drifting tree (tests/support/fake_rapl.h).
target_compile_definitions(test_energy_drift PRIVATE JT_FAKE_RAPL_BIN="$<TARGET_FILE:fake_rapl>")
foreach(p test_energy_e2e test_energy_trials test_energy_drift)
  add_dependencies(${p} fake_rapl)
  foreach(t jouletrace-worker jouletrace-runner)
    if(TARGET ${t})
      add_dependencies(${p} ${t})
    endif()
  endforeach()
endforeach()

list(TRANSFORM JT_ENERGY_E2E_CASES PREPEND test_energy_e2e. OUTPUT_VARIABLE JT_ENERGY_E2E_TESTS)
list(TRANSFORM JT_ENERGY_TRIALS_CASES PREPEND test_energy_trials.
     OUTPUT_VARIABLE JT_ENERGY_TRIALS_TESTS)
list(TRANSFORM JT_ENERGY_DRIFT_CASES PREPEND test_energy_drift.
     OUTPUT_VARIABLE JT_ENERGY_DRIFT_TESTS)
set_tests_properties(${JT_ENERGY_E2E_TESTS} ${JT_ENERGY_TRIALS_TESTS} ${JT_ENERGY_DRIFT_TESTS}
    PROPERTIES RUN_SERIAL TRUE RESOURCE_LOCK measurement_core LABELS energy)
