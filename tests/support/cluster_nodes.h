/* cluster_nodes.h -- a JetStream cluster of nats-server nodes on free loopback ports, for a test.
 *
 * Usage:
 *     cl_nodes_t c;
 *     if (cl_nodes_start(&c, dir, 3) != 0) fail();      configs and stores under dir
 *     ... connect to c.urls ("nats://127.0.0.1:A,nats://127.0.0.1:B,...") ...
 *     cl_node_kill(&c, 1, SIGKILL); cl_node_start(&c, 1); cl_node_wait_healthy(&c, 1, 30);
 *     cl_nodes_stop(&c);
 *
 * Each node gets client, route and monitoring ports chosen free on 127.0.0.1 when the cluster
 * starts and kept across restarts, a config file written under dir (modelled on
 * broker/cluster/nats-N.conf: server_name, listen, http, max_payload, jetstream store_dir,
 * cluster routes to every node), its own store and log. With one node there is no cluster
 * block: a plain JetStream server. Nodes die with the test (SIGKILL as death signal). Call
 * these from the test's main thread; they return 0 on success and -1 with a line on stderr.
 */
#ifndef JT_TESTS_CLUSTER_NODES_H
#define JT_TESTS_CLUSTER_NODES_H

#include <stddef.h>

#include "process_harness.h"

#define CL_MAX_NODES 3

typedef struct {
    jt_proc_t proc;      /* pid 0 while down; log = its log file */
    char name[32];       /* server_name, "jt-node-<i+1>" */
    int client_port;
    int route_port;
    int monitor_port;
    char url[64];        /* "nats://127.0.0.1:<client_port>" */
    char conf[192];      /* its config file */
    char store[192];     /* its JetStream store directory */
} cl_node_t;

typedef struct {
    int n;               /* nodes, 1..CL_MAX_NODES */
    char dir[128];       /* where configs, stores and logs live (the caller's, not removed) */
    cl_node_t node[CL_MAX_NODES];
    char urls[256];      /* every node's URL, comma-separated */
} cl_nodes_t;

/* Write the configs of n nodes under dir (which must exist), start them all and wait until
 * every one reports healthy (GET /healthz: JetStream current, a meta leader known), at most
 * 60 s. On failure the nodes started are stopped again. */
int cl_nodes_start(cl_nodes_t *c, const char *dir, int n);

/* Start node i again (after cl_node_kill) with its config, ports and store; does not wait. */
int cl_node_start(cl_nodes_t *c, int i);

/* Wait up to `seconds` until node i answers /healthz with 200. */
int cl_node_wait_healthy(const cl_nodes_t *c, int i, double seconds);

/* Send sig to node i and reap it (SIGKILL after 20 s). No-op when it is down. */
void cl_node_kill(cl_nodes_t *c, int i, int sig);

/* Remove node i's store (the node must be down): it comes back with an empty disk. */
int cl_node_wipe(cl_nodes_t *c, int i);

/* Index of the node whose server_name is name, or -1. */
int cl_node_index(const cl_nodes_t *c, const char *name);

/* GET http://127.0.0.1:<monitor port of node i><path>: body into body (len bytes). Returns the
 * HTTP status, or -1 when the node does not answer. */
int cl_node_http_get(const cl_nodes_t *c, int i, const char *path, char *body, size_t len);

/* Print the last lines of every node's log to stderr. */
void cl_nodes_dump_logs(const cl_nodes_t *c);

/* Stop every running node with SIGTERM (SIGKILL after 20 s). Safe to call twice. */
void cl_nodes_stop(cl_nodes_t *c);

#endif
