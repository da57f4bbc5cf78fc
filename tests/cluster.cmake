# cluster.cmake -- the system on a JetStream cluster under node loss (tests/test_cluster.c).
# One ctest entry per case, label `cluster`: each starts 3 nats-server nodes (1 for the
# single-node cases) on free 127.0.0.1 ports with configs in its temporary directory, a gateway
# and two workers (estimate meter), and measures on core 1, so the cases run one at a time,
# alone (RUN_SERIAL), with generous timeouts: the registration of pipeline.cmake, relabelled.
set(JT_CLUSTER_CASES
    topology_replicas:300
    leader_killed:600
    follower_killed:600
    whole_cluster_restart:600
    node_lost_for_good:600
    single_node_kill9:600
    gateway_sigterm_under_flood:300)

jt_add_pipeline_test(test_cluster ${JT_CLUSTER_CASES})
foreach(entry ${JT_CLUSTER_CASES})
  string(REPLACE ":" ";" parts ${entry})
  list(GET parts 0 c)
  set_tests_properties(test_cluster.${c} PROPERTIES LABELS cluster)
endforeach()
