/* metrics.h -- Prometheus counters of the gateway, updated with atomics from any thread.
 *
 * Counters live in caller storage (jt_metrics_t, usually inside the gateway
 * context). Request threads count requests; a NATS subscription on the
 * result subjects counts tasks by outcome and measurement seconds (each
 * gateway counts every result it sees: with several gateways, do not sum the
 * task counters across instances).
 */
#ifndef JT_GW_METRICS_H
#define JT_GW_METRICS_H

#include <nats/nats.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* The routes, as metric labels. */
typedef enum {
    JT_ROUTE_MEASURE = 0, /* POST /api/v1/measure-socket0 and /api/v1/measure */
    JT_ROUTE_TASK_GET,
    JT_ROUTE_TASK_CANCEL,
    JT_ROUTE_TASK_EVENTS,
    JT_ROUTE_VALIDATE,
    JT_ROUTE_SOCKET0_STATUS,
    JT_ROUTE_HEALTH,
    JT_ROUTE_CAPABILITIES,
    JT_ROUTE_PING,
    JT_ROUTE_METRICS,
    JT_ROUTE_BATCH_SUBMIT, /* POST /api/v1/batches */
    JT_ROUTE_BATCH_GET,    /* GET /api/v1/batches/{id} and .../candidates/{candidate_id} */
    JT_ROUTE_BATCH_CANCEL,
    JT_ROUTE_BATCH_EVENTS,
    JT_ROUTE_COMPARE, /* POST /api/v1/compare */
    JT_ROUTE_UNKNOWN, /* no such route (404) */
    JT_ROUTE_COUNT
} jt_route_t;

/* HTTP statuses counted one by one; anything else lands in "other". */
#define JT_METRICS_STATUS_SLOTS 16

/* Final outcomes of tasks. */
typedef enum {
    JT_OUTCOME_COMPLETED = 0,
    JT_OUTCOME_FAILED,
    JT_OUTCOME_CANCELLED,
    JT_OUTCOME_COUNT
} jt_outcome_t;

typedef struct {
    atomic_uint_fast64_t requests[JT_ROUTE_COUNT][JT_METRICS_STATUS_SLOTS];
    atomic_uint_fast64_t submitted;          /* jobs accepted and published */
    atomic_uint_fast64_t idempotent_replays; /* POSTs answered with an existing task */
    atomic_uint_fast64_t outcomes[JT_OUTCOME_COUNT];
    atomic_uint_fast64_t measurement_us; /* sum of trial windows of final results */
    natsSubscription *results;           /* on JT_SUBJECT_RESULT_PREFIX "*" */
    natsConnection *nc;                  /* of results */
} jt_metrics_t;

/* Snapshot of gauges owned by others, rendered with the counters. */
typedef struct {
    int64_t pending_jobs; /* -1 unknown */
    int live_workers;
    int calibrated_workers;
    int nats_connected;
    int sse_streams;
} jt_metrics_gauges_t;

/* Zero every counter. Never fails. */
void jt_metrics_init(jt_metrics_t *m);

/* Unsubscribe from results (safe when never subscribed). */
void jt_metrics_cleanup(jt_metrics_t *m);

/* Count one answered request. */
void jt_metrics_count_request(jt_metrics_t *m, jt_route_t route, int http_status);

/* Subscribe to every task's result subject on nc and count outcomes and
 * measurement seconds from the msgpack records. Call once; the callback runs
 * on a nats.c thread. Returns JT_OK or JT_ERR_IO. */
jt_status_t jt_metrics_watch_results(jt_metrics_t *m, natsConnection *nc);

/* Count one final record (JSON) as the result subscription does; exposed for
 * records the gateway itself finalises without a worker. */
void jt_metrics_count_result(jt_metrics_t *m, const char *status, double measurement_seconds);

/* Prometheus text exposition (format 0.0.4) of all counters and the gauges,
 * NUL-terminated, malloc'd (caller frees); NULL when out of memory. */
char *jt_metrics_render(jt_metrics_t *m, const jt_metrics_gauges_t *g, size_t *len);

#endif
