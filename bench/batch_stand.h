/* batch_stand.h -- bench_batch's stand: the system on a drifting fake tree, HTTP, a lease clock.
 *
 * The stand is integrity_stand.h's tree and calibration (fake_rapl with idle drift, a
 * `jouletrace-worker calibrate` made before the drift starts) plus a real nats-server,
 * jouletrace-gateway and JT_BATCH_STAND_WORKERS `jouletrace-worker run` daemons measuring
 * with rapl-sysfs on that tree, everything on 127.0.0.1. Its lease clock is a KV watcher on
 * the lease bucket that gives, with the server's timestamps, how long each holder (a task id
 * or a batch id) held the measurement socket. Everything runs on the bench's main thread
 * except the lease clock's watcher, which has a thread of its own. Functions print what went
 * wrong on stderr.
 */
#ifndef JT_BATCH_STAND_H
#define JT_BATCH_STAND_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "integrity_stand.h"
#include "nats_server.h"
#include "process_harness.h"

#define JT_BATCH_STAND_WORKERS 2
#define JT_LEASE_CLOCK_MAX_EVENTS 65536

/* A stand: set tree.opt, tree.dir (an existing empty directory), tree.core and
 * tree.other_core, then jt_batch_stand_start. */
typedef struct {
    jt_integrity_stand_t tree;
    jt_nats_server_t nats;
    jt_bus_t bus;
    bool bus_open;
    int port; /* the gateway's, on 127.0.0.1 */
    jt_proc_t gateway;
    jt_proc_t worker[JT_BATCH_STAND_WORKERS];
} jt_batch_stand_t;

/* One change of the lease bucket, as the watcher saw it. */
typedef struct {
    int op;         /* kvOperation */
    long long ns;   /* the server's timestamp */
    char key[96];   /* the lease key (one per socket) */
    char task[160]; /* puts: the holder's task_id (a batch's id for its blocks) */
} jt_lease_event_t;

/* Every change of the lease bucket from jt_lease_clock_start on. */
typedef struct {
    kvWatcher *w;
    pthread_t thread;
    pthread_mutex_t lock; /* guards ev and n, shared with the watcher thread */
    jt_lease_event_t *ev;
    size_t n;
} jt_lease_clock_t;

/* Wait for a quiet measurement core, start the drifting tree and calibrate against it
 * (integrity_stand.h; the whole step tried again when calibrate keeps refusing), then start
 * nats-server, the topology, the gateway and the workers, and wait until the gateway counts
 * every worker calibrated. 0, or -1 (what was started stays for jt_batch_stand_stop). */
int jt_batch_stand_start(jt_batch_stand_t *s);

/* Stop the workers (SIGTERM: they hand back what they hold), the gateway, the bus,
 * nats-server and the tree. Safe on a stand that did not fully start. */
void jt_batch_stand_stop(jt_batch_stand_t *s);

/* Print the tails of the gateway's and the workers' logs on stderr. */
void jt_batch_stand_dump_logs(const jt_batch_stand_t *s);

/* One request to the gateway: method on path (e.g. "/api/v1/batches"), with body (JSON
 * text, NULL: none). *answer (may be NULL) receives the parsed answer (new reference, NULL
 * when it is not JSON). Returns the HTTP status, or -1 when no answer came. */
long jt_batch_stand_http(const jt_batch_stand_t *s, const char *method, const char *path,
                         const char *body, json_t **answer);

/* Start watching the lease bucket of bus. 0, or -1 with c left empty. */
int jt_lease_clock_start(jt_lease_clock_t *c, jt_bus_t *bus);

/* Stop the watcher and free what it recorded (safe on an empty clock). */
void jt_lease_clock_stop(jt_lease_clock_t *c);

/* Seconds the holder `task` held any lease key, summed over its holds (a hold runs from
 * the put that took a free key to the key's delete, purge or next holder's put), and the
 * number of holds into *holds (may be NULL). A hold still open counts up to the last event
 * seen. */
double jt_lease_clock_held(jt_lease_clock_t *c, const char *task, int *holds);

#endif
