# pipeline.cmake -- end-to-end tests of the whole system: nats-server, gateway, two workers, fake RAPL.
# One ctest entry per case of tests/test_pipeline.c (the life of a job) and
# tests/test_pipeline_faults.c (cancels, kill -9, gateway restart, bad input);
# each starts every process afresh on free 127.0.0.1 ports and measures on
# core 1 of the fake tree, so the cases run one at a time, alone (RUN_SERIAL)
# with generous timeouts.
# case name -> ctest TIMEOUT (seconds): the start alone may wait up to ~3 min for a quiet
# measurement core to calibrate on when other programs of this machine use it.
set(JT_PIPELINE_CASES
    seed_example_completes:360
    incorrect_solution_fails:300
    twenty_jobs_no_overlap:720
    idempotency_one_task:360
    direct_nats_job:360
    sse_events_in_order:360)
set(JT_PIPELINE_FAULTS_CASES
    cancel_queued_and_running:420
    kill9_measuring_worker:420
    gateway_restart_keeps_state:420
    bad_http_requests:360
    bad_msgpack_on_bus:360)

# One program: its cases ("name:timeout"), built against the real daemons with the
# fixture of tests/support/pipeline_*.c (jt-test-support).
function(jt_add_pipeline_test p)
  set(names "")
  foreach(entry ${ARGN})
    string(REPLACE ":" ";" parts ${entry})
    list(GET parts 0 c)
    list(APPEND names ${c})
  endforeach()

  jt_add_cmocka_test(${p}
    SOURCES ${p}.c
    CASES ${names}
    LIBS jt-bus jt-energy jt-test-support PkgConfig::CURL PkgConfig::NATS PkgConfig::JANSSON PkgConfig::MSGPACK m)
  target_compile_definitions(${p} PRIVATE JT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  foreach(t fake_rapl jouletrace-gateway jouletrace-worker jouletrace-runner)
    if(TARGET ${t})
      add_dependencies(${p} ${t})
    endif()
  endforeach()

  foreach(entry ${ARGN})
    string(REPLACE ":" ";" parts ${entry})
    list(GET parts 0 c)
    list(GET parts 1 secs)
    set_tests_properties(${p}.${c} PROPERTIES
        TIMEOUT ${secs} RUN_SERIAL TRUE RESOURCE_LOCK measurement_core LABELS pipeline)
    jt_log_responses(${p}.${c}) # checked against docs/openapi.json (openapi.cmake)
  endforeach()
endfunction()

# Batches (docs/ranking.md) on the drifting tree: twenty ranked candidates, a worker killed
# mid-batch, a comparison and a cancel over HTTP.
set(JT_BATCH_RANKING_CASES
    ranks_twenty_candidates:900
    kill9_mid_batch:720
    compare_and_cancel_over_http:720)

jt_add_pipeline_test(test_pipeline ${JT_PIPELINE_CASES})
jt_add_pipeline_test(test_batch_ranking ${JT_BATCH_RANKING_CASES})
jt_add_pipeline_test(test_pipeline_faults ${JT_PIPELINE_FAULTS_CASES})
