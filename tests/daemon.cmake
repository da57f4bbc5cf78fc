# daemon.cmake -- the worker daemon (`jouletrace-worker run`) and its lease, against real nats-servers.
jt_add_cmocka_test(test_lease
  SOURCES test_lease.c
  CASES key_format exclusive_acquire racing_acquirers_one_wins renew_keeps_it
        expiry_lets_another_acquire release_only_by_holder acquire_stops_on_request
        handover_time
  TIMEOUT 90
  LIBS jt-daemon jt-test-base)

# End-to-end: real nats-server, real `jouletrace-worker run` processes with the
# estimate meter (no calibration file), jobs published with the nats.c API
# (the fixture: tests/support/daemon_*.c in jt-test-support).
set(JT_DAEMON_CASES
    direct_job_completes incorrect_solution_fails bad_msgpack_fails_task
    cancel_queued_job cancel_running_job sigterm_idle_exits_clean
    sigterm_busy_gives_job_back max_deliveries_stores_failed validate_request_reply
    previous_job_invisible ipc_and_locks_private)
jt_add_cmocka_test(test_daemon
  SOURCES test_daemon.c
  CASES ${JT_DAEMON_CASES}
  TIMEOUT 300
  LIBS jt-daemon jt-test-support)
foreach(t jouletrace-worker jouletrace-runner)
  if(TARGET ${t})
    add_dependencies(test_daemon ${t})
  endif()
endforeach()
# Cases that run trials use the measurement core: one at a time, alone.
foreach(c direct_job_completes cancel_running_job sigterm_busy_gives_job_back
          bad_msgpack_fails_task)
  set_tests_properties(test_daemon.${c} PROPERTIES
      RUN_SERIAL TRUE RESOURCE_LOCK measurement_core LABELS daemon)
endforeach()
