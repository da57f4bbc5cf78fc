/* pipeline_fixture.h -- the pipeline tests' fixture: the whole system as real processes.
 *
 * One case = one fixture: fake_rapl on a fresh tmpfs tree (driven by the busy time of core 1),
 * a calibration made against it, nats-server started from broker/nats-server.conf on free
 * loopback ports, jouletrace-gateway on a free 127.0.0.1 port and two `jouletrace-worker run`
 * processes (rapl-sysfs meter, the same host, so they share one measurement lease), each started
 * with process_harness.h in a process group of its own. The test talks HTTP with libcurl
 * (pipeline_http.h) and NATS with nats.c (pipeline_bus.h), and reads /proc with proc_scan.h.
 * The test process and everything it starts live on core 0; only sandboxed trials run on core 1.
 *
 * Shared by test_pipeline.c and test_pipeline_faults.c. Every function runs on the test's main
 * thread and fails the running cmocka case, showing every process log, when what it needs does
 * not happen. Waits are generous and poll with backoff: outcomes are judged, not speed.
 */
#ifndef JT_TESTS_PIPELINE_FIXTURE_H
#define JT_TESTS_PIPELINE_FIXTURE_H

#include <stdbool.h>

#include "bus.h"
#include "fake_rapl.h"
#include "nats_server.h"
#include "process_harness.h"

#define PL_MEASURE_CORE 1
#define PL_VALIDATE_CORE 0
#define PL_WORKERS 2
#define PL_MEASURE "/api/v1/measure-socket0"
#define PL_WAIT_S 180.0   /* a job reaches its end within this */
#define PL_MAX_PROCS 4096 /* processes looked at in one /proc scan */

typedef struct {
    char dir[128];         /* tmpfs directory of the case, removed in teardown */
    char rapl[192];        /* the fake powercap root */
    char cal[192];         /* the calibration file */
    char sandbox[192];     /* JOULETRACE_SANDBOX_DIR of both workers */
    char sandbox_env[224]; /* "JOULETRACE_SANDBOX_DIR=<sandbox>" as in /proc/<pid>/environ */
    jt_fake_rapl_t fake;
    jt_nats_server_t nats;
    jt_bus_t bus;
    bool bus_open;
    jt_proc_t gw;
    int port;
    jt_proc_t w[PL_WORKERS];
    bool idle_drift; /* set before pl_boot: the tree's idle power steps +5 % after 20 s, then
                        ramps +0.01 W/s (a moving baseline, as on a warming server) */
} pl_t;

/* Fail the case after showing every process log. */
void pl_fail(const pl_t *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Fail the case, showing every process log, unless cond holds. */
#define PL_CHECK(pl, cond)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            pl_fail((pl), "%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                   \
    } while (0)

/* SIGTERM p and wait; SIGKILL its process group after `seconds`. Returns
 * the exit code, 0 when it was not running, -1 when it had to be killed or
 * died by a signal. */
int pl_stop(jt_proc_t *p, double seconds);

/* Start the gateway on port (0: a free one) against the case's broker and calibration. */
void pl_start_gateway(pl_t *pl, int port);

/* Index of the worker whose id is `id`, or -1. */
int pl_worker_index(const pl_t *pl, const char *id);

/* cmocka setup: only the fixture's memory; each case calls pl_boot first, so
 * that a failed start still runs the teardown (cmocka skips it after a
 * failed setup). */
int pl_setup(void **state);

/* Start the whole system: fake tree, calibration, broker, gateway, two
 * workers; returns once the gateway accepts jobs. */
void pl_boot(pl_t *pl);

/* cmocka teardown: stop the workers, the gateway, the broker and fake_rapl, remove the case's
 * directory (every log is printed first when JT_TEST_VERBOSE is set). */
int pl_teardown(void **state);

#endif
