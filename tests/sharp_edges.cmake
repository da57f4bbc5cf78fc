# sharp_edges.cmake -- one answer per job on the bus (issue 13): jobs without a usable id are
# rejected on jouletrace.rejected.<seq>, a finished task's id replays its final record. Real
# nats-server and `jouletrace-worker run` with the estimate meter (tests/support/daemon_*.c);
# no case runs trials, so none needs the measurement core. examples.direct_js runs the README's
# JavaScript client (examples/direct_client.mjs, packages of tests/direct_js) the same way.
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

find_program(JT_NODE node)
find_program(JT_NATS_SERVER nats-server PATHS /usr/sbin /usr/bin)
if(NOT JT_NODE)
  message(WARNING "node is not installed: examples.direct_js is left out (scripts/deps installs it)")
  return()
endif()
set(JT_DIRECT_JS_NODE ${CMAKE_BINARY_DIR}/direct-js-node)
add_test(NAME examples.direct_js_npm_ci
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/openapi/npm_ci.sh ${JT_DIRECT_JS_NODE}
                 ${PROJECT_SOURCE_DIR}/tests/direct_js)
add_test(NAME examples.direct_js
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_direct_js.sh ${PROJECT_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/bin ${JT_NATS_SERVER} ${JT_DIRECT_JS_NODE})
set_tests_properties(examples.direct_js_npm_ci PROPERTIES FIXTURES_SETUP direct_js_npm
                     TIMEOUT 600 LABELS daemon)
set_tests_properties(examples.direct_js PROPERTIES FIXTURES_REQUIRED direct_js_npm TIMEOUT 300
                     LABELS daemon)
