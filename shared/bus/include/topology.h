/* topology.h -- the JetStream objects every program ensures: jobs stream, consumer, KV buckets.
 *
 * Thread-safety: jt_topology_ensure may run on any thread; it only issues
 * JetStream API requests through the context it is given (and calls opts->stop
 * on that thread while it waits for a quorum).
 */
#ifndef JT_TOPOLOGY_H
#define JT_TOPOLOGY_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define JT_REPLICAS_ENV "JOULETRACE_NATS_REPLICAS"
#define JT_REPLICAS_MAX 5        /* JetStream's own limit */
#define JT_QUORUM_PATIENCE_S 300 /* default wait for a JetStream quorum at start */

typedef struct {
    int max_ack_pending;      /* jobs in flight across all workers (pool size), default 64 */
    int64_t max_pending_jobs; /* stream MaxMsgs (queue bound), default 100000 */
    int replicas;             /* replicas of the stream and buckets; 0: see jt_topology_replicas */
    int quorum_patience_s;    /* how long to retry while JetStream has no quorum (default 300) */
    int (*stop)(void *ctx);   /* nonzero: stop waiting for a quorum (may be NULL) */
    void *stop_ctx;
} jt_topology_opts_t;

/* Defaults for jt_topology_opts_t (replicas 0: resolved when connecting). */
void jt_topology_opts_init(jt_topology_opts_t *o);

/* The replica count for a connection: `configured` when > 0, else $JOULETRACE_NATS_REPLICAS
 * (1..5), else the number of servers nc knows (the URLs it was given plus those the cluster
 * announced), at most 5. The source in words into how (len bytes, may be NULL). JT_OK with
 * *out in 1..5, or JT_ERR_CONFIG for a value out of range. */
jt_status_t jt_topology_replicas(natsConnection *nc, int configured, int *out, char *how,
                                 size_t len, jt_error_t *err);

/* Create (or verify) the jobs stream, the shared durable pull consumer and
 * every KV bucket of bus_names.h, idempotently: an existing object with the
 * same configuration is fine; one with a different configuration is updated
 * where NATS allows it, else JT_ERR_CONFIG naming it. Streams and buckets get
 * o->replicas replicas (0: 1), never fewer than they have: an existing larger
 * count is kept; a scale-up the cluster cannot place now is logged and left
 * for the next start. While JetStream has no quorum or leader (timeouts, "temporarily
 * unavailable", too few peers) each step is retried with back-off and a log line every 10 s,
 * for up to o->quorum_patience_s or until o->stop says so; then JT_ERR_TIMEOUT/JT_ERR_IO.
 * JT_ERR_INVALID without a context, JT_ERR_CONFIG for options out of range or JetStream
 * not enabled. Every program calls this at start (through jt_bus_connect), and
 * `jouletrace-broker init`. */
jt_status_t jt_topology_ensure(jsCtx *js, const jt_topology_opts_t *o, jt_error_t *err);

#endif
