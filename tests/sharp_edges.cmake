# sharp_edges.cmake -- one answer per job on the bus (issue 13): jobs without a usable id are
# rejected on jouletrace.rejected.<seq>, a finished task's id replays its final record. Real
# nats-server and `jouletrace-worker run` with the estimate meter (tests/support/daemon_*.c);
# no case runs trials, so none needs the measurement core.
jt_add_cmocka_test(test_sharp_edges
  SOURCES test_sharp_edges.c
  CASES unusable_ids_rejected finished_id_replays
  TIMEOUT 300
  LIBS jt-daemon jt-test-support)
foreach(t jouletrace-worker jouletrace-runner)
  if(TARGET ${t})
    add_dependencies(test_sharp_edges ${t})
  endif()
endforeach()
set_tests_properties(test_sharp_edges.unusable_ids_rejected test_sharp_edges.finished_id_replays
                     PROPERTIES LABELS daemon)
