# proxies.cmake -- what a result says besides joules: hardware counters (worker/measure/pmu.c),
# the host's provenance (worker/measure/provenance.c) and the RAPL zones behind the meter.
jt_add_cmocka_test(test_pmu
  SOURCES test_pmu.c
  CASES reasons_and_names hardware_counters_of_a_busy_loop
        window_and_children_with_software_events cgroup_target
  TIMEOUT 60
  LIBS jt-measure)

# Several powercap zones for one package (AMD per-die zones): mirrors count once, distinct
# counters are refused; the zone list the provenance shows.
jt_add_cmocka_test(test_rapl_mirrors
  SOURCES test_rapl_mirrors.c
  CASES mirrored_package_zones_count_once mirrored_die_zones_count_once
        distinct_package_zones_are_refused single_zone_lists_without_mirrors
  TIMEOUT 30
  LIBS jt-energy jt-test-base)

# The provenance of a result: the real host's keys and types, values and nulls on fake /proc
# and /sys trees, stand-in interpreters, the meter's zones.
jt_add_cmocka_test(test_provenance
  SOURCES test_provenance.c
  CASES real_host_keys_and_types values_from_fake_trees absent_values_are_null
        hanging_python_is_killed meter_side_names_zones_and_mirrors
  TIMEOUT 60
  LIBS jt-measure jt-test-base)
