# compose.cmake -- static checks of compose/ (YAML, services, Dockerfile), scripts/up|down, and the direct NATS client end to end.
find_program(JT_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(JT_NATS_SERVER nats-server PATHS /usr/sbin /usr/bin)

# compose/docker-compose.yml parses and has nats, gateway and a scalable privileged worker;
# the Dockerfile is multi-stage on ARG BASE_IMAGE; nats-server accepts the nats service's command.
add_test(NAME compose.static_checks
  COMMAND ${JT_SYSTEM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/check_compose.py ${PROJECT_SOURCE_DIR}
          ${JT_NATS_SERVER})
set_tests_properties(compose.static_checks PROPERTIES TIMEOUT 60)

# scripts/down stops exactly the processes of its pid files (never a reused pid), SIGKILLs
# what ignores SIGTERM together with its process group, keeps the logs.
add_test(NAME scripts.down_stops_only_its_own
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_scripts.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(scripts.down_stops_only_its_own PROPERTIES TIMEOUT 60)

# jouletrace-direct-client against a real nats-server and a real worker (estimate meter).
add_test(NAME examples.direct_client_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_direct_client.sh ${PROJECT_SOURCE_DIR}
          ${CMAKE_BINARY_DIR}/bin ${JT_NATS_SERVER})
set_tests_properties(examples.direct_client_e2e PROPERTIES TIMEOUT 300)
