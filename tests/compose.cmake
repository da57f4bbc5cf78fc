# compose.cmake -- compose/ (static checks, and end to end on a Docker engine), scripts/up|down, and the direct NATS client end to end.
find_program(JT_SYSTEM_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(JT_NATS_SERVER nats-server PATHS /usr/sbin /usr/bin)

# compose/docker-compose.yml parses, uses only keys docker-compose 1.29 and Compose v2 both
# accept, and has nats, gateway and a scalable worker with cap_drop ALL and exactly the
# sandbox's capabilities (none privileged), JOULETRACE_LEASE_HOST set; a root .dockerignore;
# the Dockerfile is multi-stage on ARG BASE_IMAGE; nats-server accepts the nats service's
# command; `docker-compose config` accepts the file where docker-compose is installed.
add_test(NAME compose.static_checks
  COMMAND ${JT_SYSTEM_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/check_compose.py ${PROJECT_SOURCE_DIR}
          ${JT_NATS_SERVER})
set_tests_properties(compose.static_checks PROPERTIES TIMEOUT 120 LABELS compose)

# The stack on a real Docker engine (installed and started when missing, stopped again): base
# image, image build (reused when its inputs did not change), up --scale worker=3, 20 jobs over
# 127.0.0.1, a worker killed mid-measurement, scaled to 1, every job completed exactly once,
# down -v leaving nothing. Root only (77 = skipped otherwise, or with JT_SKIP_COMPOSE_E2E=1
# outside CI). Its workers measure on the measurement core and the build loads every core: alone.
add_test(NAME compose.e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_compose_e2e.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(compose.e2e PROPERTIES
  TIMEOUT 1500 LABELS compose SKIP_RETURN_CODE 77 RUN_SERIAL TRUE RESOURCE_LOCK measurement_core)

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
