# bus.cmake -- the NATS bus, task state, broker configs and jouletrace-broker, against real nats-servers.
jt_add_cmocka_test(test_bus
  SOURCES test_bus.c
  CASES topology_idempotent topology_values topology_updates_changed_settings
        topology_unchangeable_reported dedup_msg_id pending_jobs_counts task_subject_checks
        connect_dead_url connect_silent_server reconnects_after_broker_restart
  TIMEOUT 60
  LIBS jt-bus jt-test-support)

# Task state and the lease primitives: their own program, the same test names.
jt_add_cmocka_test(test_bus_tasks
  SOURCES test_bus_tasks.c
  CASES task_round_trip task_get_unknown task_cas_stale task_status_names lease_primitives
        lease_expires
  TIMEOUT 60
  GROUP test_bus
  LIBS jt-bus jt-test-support)

jt_add_cmocka_test(test_broker
  SOURCES test_broker.c
  CASES config_single_node config_auth config_cluster_1 config_cluster_2 config_cluster_3
        single_node_config_serves auth_roles_work auth_denials cli_init_then_status
        cli_status_unreachable cli_usage
  TIMEOUT 60
  LIBS jt-bus jt-test-base)
target_compile_definitions(test_broker PRIVATE
  JT_BROKER_DIR="${PROJECT_SOURCE_DIR}/broker"
  JT_BROKER_BIN="$<TARGET_FILE:jouletrace-broker>")
add_dependencies(test_broker jouletrace-broker)

# NATS credentials: files of mode 600 only, the users scripts/up generates (scripts/lib.sh
# jt_nats_auth_write) on a real nats-server: the service does its whole job, the client exactly
# what README documents, programs refuse an open file with exit 2.
jt_add_cmocka_test(test_bus_auth
  SOURCES test_bus_auth.c
  CASES service_user_works credentials_file_refused url_credentials_rules client_user_permissions
  TIMEOUT 90
  LIBS jt-bus jt-test-base)
target_compile_definitions(test_bus_auth PRIVATE
  JT_REPO_ROOT="${PROJECT_SOURCE_DIR}"
  JT_BROKER_BIN="$<TARGET_FILE:jouletrace-broker>"
  JT_GATEWAY_BIN="$<TARGET_FILE:jouletrace-gateway>")
add_dependencies(test_bus_auth jouletrace-broker jouletrace-gateway)

# jouletrace-direct-client end to end with the users scripts/up generates: broker init and a real
# worker as `service`, the client as `client` (tests/check_direct_client.sh --auth).
find_program(JT_NATS_SERVER nats-server PATHS /usr/sbin /usr/bin)
add_test(NAME examples.direct_client_auth
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_direct_client.sh ${PROJECT_SOURCE_DIR}
          ${CMAKE_BINARY_DIR}/bin ${JT_NATS_SERVER} --auth)
set_tests_properties(examples.direct_client_auth PROPERTIES TIMEOUT 300)
