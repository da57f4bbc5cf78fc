/* daemon_fixture.h -- the daemon tests' fixture: a nats-server and `jouletrace-worker run`
 * processes.
 *
 * Each case starts its own nats-server and workers with the estimate meter and no calibration
 * file (estimate mode runs on its model), a sandbox directory of its own, and publishes jobs with
 * the nats.c API as a direct client would. Waits are generous: outcomes are judged, not speed.
 * Functions fail the running cmocka case when what they need does not happen.
 */
#ifndef JT_TESTS_DAEMON_FIXTURE_H
#define JT_TESTS_DAEMON_FIXTURE_H

#include <jansson.h>

#include "bus.h"
#include "nats_server.h"
#include "process_harness.h"

#define WAIT_S 150.0
#define MAX_WORKERS 3

typedef struct {
    jt_nats_server_t srv;
    jt_bus_t bus;
    char dir[128];
    jt_proc_t w[MAX_WORKERS];
    int n;
} fixture_t;

/* Print every worker's log to stderr (a failed check shows them). */
void daemon_dump_logs(fixture_t *f);

/* Fail the case, showing the worker logs, unless cond holds. */
#define CHECK(f, cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            daemon_dump_logs(f);                                                                   \
            fail_msg("check failed: %s", #cond);                                                   \
        }                                                                                          \
    } while (0)

/* cmocka setup: a temporary directory, a nats-server and a bus connection to it. */
int daemon_setup(void **state);

/* cmocka teardown: kill the workers, close the bus, stop the server, remove the directory
 * (the worker logs are printed first when JT_TEST_VERBOSE is set). */
int daemon_teardown(void **state);

/* The worker's heartbeat JSON (new reference) or NULL when absent. */
json_t *heartbeat(fixture_t *f, const char *id);

/* Start a worker and wait until it beats (it is pulling by then). */
int start_ready_worker(fixture_t *f, const char *id);

/* SIGTERM a worker; its exit code (-1 when it did not exit in time or died by a signal). */
int stop_worker(fixture_t *f, int i);

#endif
