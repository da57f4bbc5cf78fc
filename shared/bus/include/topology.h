/* topology.h -- the JetStream objects every JouleTrace program ensures: jobs stream, consumer, KV buckets.
 *
 * Thread-safety: jt_topology_ensure may run on any thread; it only issues
 * JetStream API requests through the context it is given.
 */
#ifndef JT_TOPOLOGY_H
#define JT_TOPOLOGY_H

#include <nats/nats.h>
#include <stdint.h>

#include "status.h"

typedef struct {
    int max_ack_pending;      /* jobs in flight across all workers (pool size), default 64 */
    int64_t max_pending_jobs; /* stream MaxMsgs (queue bound), default 100000 */
} jt_topology_opts_t;

/* Defaults for jt_topology_opts_t. */
void jt_topology_opts_init(jt_topology_opts_t *o);

/* Create (or verify) the jobs stream, the shared durable pull consumer and
 * every KV bucket of bus_names.h, idempotently: an existing object with the
 * same configuration is fine; one with a different configuration is updated
 * where NATS allows it, else JT_ERR_CONFIG naming it. JT_ERR_INVALID without a
 * context, JT_ERR_CONFIG for options out of range, JT_ERR_TIMEOUT/JT_ERR_IO
 * when the server does not answer. Every program calls this at start, and
 * `jouletrace-broker init`. */
jt_status_t jt_topology_ensure(jsCtx *js, const jt_topology_opts_t *o, jt_error_t *err);

#endif
