# stats.cmake -- unit tests of trial statistics and the idle-power calibration file.
jt_add_cmocka_test(test_stats
  SOURCES test_stats.c
  CASES median_odd median_even median_large_uses_heap mean_stddev_cv mad_values ci95_n2 ci95_n5
        ci95_n10 outlier_clear outlier_borderline outlier_mad_zero outlier_spread_floor n_zero n_one
        nan_free_degenerate t975_table t975_large_df
  TIMEOUT 30
  LIBS jt-energy)

jt_add_cmocka_test(test_calibration
  SOURCES test_calibration.c
  CASES round_trip save_pretty_atomic save_rejects_invalid load_hand_written
        fresh_exactly_valid_days stale_one_second_past future_beyond_skew future_within_skew
        foreign_host host_null_uses_gethostname missing_file failure_leaves_out_untouched
  TIMEOUT 30
  LIBS jt-energy jt-test-energy)

# The file's fields and timestamp: their own program, the same test names.
jt_add_cmocka_test(test_calibration_fields
  SOURCES test_calibration_fields.c
  CASES malformed_json each_missing_field wrong_types bad_values_and_unknown_fields
        file_too_large fractional_timestamp non_utc_rejected timezone_independent
  TIMEOUT 30
  GROUP test_calibration
  LIBS jt-energy jt-test-energy)

# The verdict, the never-negative headline and the proxies of a result, from hand-made trials.
jt_add_cmocka_test(test_quality
  SOURCES test_quality.c
  CASES nothing_is_never_negative negative_time_and_power_clamped negative_interval_is_unresolved
        resolved_is_the_median
        below_resolution_is_unresolved interval_under_floor_is_unresolved
        one_trial_is_an_upper_bound drift_during_trials
        local_differs_from_calibration small_drift_is_ok thermal_rise too_short_windows
        noisy_but_resolved meter_stalled_without_trials proxies_absent proxies_present_net_of_null
  TIMEOUT 30
  LIBS jt-energy jt-test-energy PkgConfig::JANSSON)
