/* cluster_system.h -- the cluster tests' fixture: nats-server nodes, a gateway and two workers.
 *
 * One case = one fixture: a temporary directory, n nats-server nodes (cluster_nodes.h), the
 * test's own bus connection to every node (it ensures the topology first, so streams and buckets
 * get n replicas), one observer connection per node that counts the records published on
 * jouletrace.result.<id>, jouletrace-gateway on a free 127.0.0.1 port and two
 * `jouletrace-worker run` (estimate meter, the same host: they share one measurement lease),
 * every program given every node's URL. The test and its programs stay on core 0; trials run on
 * core 1 (RESOURCE_LOCK measurement_core in tests/cluster.cmake).
 *
 * Jobs are submitted with an Idempotency-Key and retried while the gateway answers 503 or not
 * at all: a job counts as accepted once a 202 names its task. The judgement (cs_check) asks
 * of every accepted task: a stored final record "completed" (none lost or stuck), at most one
 * result record seen by any observer (none duplicated), and of the queue: empty, nothing
 * pending or unacknowledged.
 *
 * Every function runs on the test's main thread and fails the cmocka case, showing every
 * log, when what it needs does not happen; teardown stops every process and removes the
 * directory even then.
 */
#ifndef JT_TESTS_CLUSTER_SYSTEM_H
#define JT_TESTS_CLUSTER_SYSTEM_H

#include <nats/nats.h>
#include <pthread.h>
#include <stdbool.h>

#include "bus.h"
#include "cluster_nodes.h"
#include "process_harness.h"

#define CS_WORKERS 2
#define CS_MAX_JOBS 64
#define CS_MEASURE_CORE 1
#define CS_VALIDATE_CORE 0

#define CS_MAX_SEEN 256 /* distinct task ids the observers can count */

typedef struct cs cs_t;

/* Result records seen of one task id, per observer. */
typedef struct {
    char id[64];
    int seen[CL_MAX_NODES];
} cs_seen_t;

/* One observer connection, pinned to one node. */
typedef struct {
    cs_t *cs;
    int node;
    natsConnection *nc;
    natsSubscription *sub;
} cs_observer_t;

struct cs {
    char dir[128];
    char sandbox_env[224]; /* "JOULETRACE_SANDBOX_DIR=<dir>/sandbox" */
    char cal[192];         /* a calibration file that does not exist (estimate meter) */
    cl_nodes_t nodes;
    bool nodes_started;
    jt_bus_t bus;
    bool bus_open;
    jsCtx *probe; /* the bus's connection with 1 s answers, for leaders and queue state */
    cs_observer_t obs[CL_MAX_NODES];
    jt_proc_t gw;
    int port;
    jt_proc_t w[CS_WORKERS];
    int n_ids;
    char ids[CS_MAX_JOBS][64]; /* accepted tasks */
    int refused_503;           /* 503 nats_unavailable answers, and those with Retry-After */
    int refused_503_retry_after;
    int no_answer;             /* submissions without any answer */
    pthread_mutex_t lock;      /* guards seen (observer callbacks) */
    int n_seen;
    cs_seen_t seen[CS_MAX_SEEN];
};

/* Fail the case after showing every log. */
void cs_fail(cs_t *cs, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#define CS_CHECK(cs, cond)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            cs_fail((cs), "%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                   \
    } while (0)

/* cmocka setup and teardown (teardown: every process stopped, the directory removed). */
int cs_setup(void **state);
int cs_teardown(void **state);

/* Make the case's directory and start n nodes only (cs->nodes). */
void cs_boot_nodes(cs_t *cs, int nodes);

/* cs_boot_nodes, then the test's bus, the observers, the gateway and both workers; returns once
 * the gateway's health counts both workers. */
void cs_boot(cs_t *cs, int nodes);

/* Start the gateway again after it stopped (same port) and wait until it is ready. */
void cs_restart_gateway(cs_t *cs);

/* Submit n small jobs (keys "<tag>-<i>"), retrying each while the gateway answers 503 or
 * nothing, for up to `seconds` in all. Returns the seconds spent. */
double cs_submit(cs_t *cs, const char *tag, int n, double seconds);

/* Accepted tasks whose result record some observer saw. */
int cs_results_seen(cs_t *cs);

/* Wait until at least k results were seen (at most `seconds`); fails otherwise. */
void cs_wait_results(cs_t *cs, int k, double seconds);

/* The server leading stream `stream` now ("" when none or unknown) into buf. */
void cs_stream_leader(cs_t *cs, const char *stream, char *buf, size_t len);

/* Seconds until stream `stream` has a leader other than `not` (may be NULL), at most
 * `seconds`; -1 when none came. */
double cs_wait_leader(cs_t *cs, const char *stream, const char *not, double seconds);

/* Seconds until the gateway accepts a job again (a POST answered 202), at most `seconds`:
 * the job is one of the accepted ones. -1 when none was accepted. */
double cs_wait_accepting(cs_t *cs, const char *tag, double seconds);

/* Wait until every accepted task's record is final (at most `seconds`) and judge the outcome
 * (see above); prints one line "<label>: ..." with the counts and t_done. Fails the case when
 * a task was lost, duplicated or stuck. Returns the seconds until all were final. */
double cs_check(cs_t *cs, const char *label, double seconds);

#endif
