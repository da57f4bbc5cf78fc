/* view.h -- the gateway's view of the cluster: the NATS connection, queue depth, live workers.
 *
 * One background thread connects the bus (retrying until it succeeds, so the
 * gateway serves HTTP — health says unhealthy, POSTs get 503 — even while
 * NATS is down) and then refreshes, every JT_VIEW_REFRESH_MS, the number of
 * pending jobs, whether JetStream answers, and the heartbeats of live workers
 * (KV JT_KV_WORKERS; the bucket's TTL drops silent workers). JetStream counts
 * as answering when the jobs stream and the tasks bucket answer within 1 s and no
 * submission failed since (jt_view_bus_failed). Request threads
 * read the last snapshot without touching NATS, so a POST costs no extra
 * round trip for "is anyone calibrated?" or "is the queue full?".
 * Every function may be called from any thread.
 */
#ifndef JT_GW_VIEW_H
#define JT_GW_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "status.h"

#define JT_VIEW_REFRESH_MS 250

typedef struct jt_view jt_view_t;

/* Called once on the view thread right after the bus is connected. */
typedef void (*jt_view_connected_fn)(jt_bus_t *bus, void *arg);

typedef struct {
    bool bus_ready;       /* the bus was connected (at least once) */
    bool nats_connected;  /* connected right now */
    bool jetstream_ok;    /* the last probes answered and no submission failed since */
    int64_t pending_jobs; /* last count + jobs published since; -1 unknown */
    int live_workers;
    int calibrated_workers; /* live workers with calibrated == true or meter "estimate" */
} jt_view_summary_t;

/* Start the view thread for the NATS URL `url` (copied) with the credentials creds (copied,
 * wiped again by jt_view_destroy; NULL: none). on_connected may be NULL. Returns JT_OK and
 * *out, or JT_ERR_NOMEM / JT_ERR_SYSTEM (nothing started). */
jt_status_t jt_view_start(jt_view_t **out, const char *url, const jt_nats_credentials_t *creds,
                          int max_ack_pending, jt_view_connected_fn on_connected, void *arg);

/* Stop and join the thread; the bus stays open for the publisher and the
 * metrics subscription until jt_view_destroy. Safe on NULL. */
void jt_view_stop(jt_view_t *v);

/* Close the bus and free everything (after jt_view_stop, once nothing uses
 * the bus any more). Safe on NULL. */
void jt_view_destroy(jt_view_t *v);

/* The connected bus, or NULL until the first successful connect. The bus
 * stays valid until jt_view_destroy; its nats.c objects are thread-safe. */
jt_bus_t *jt_view_bus(jt_view_t *v);

/* The bus when it is connected right now, else NULL. */
jt_bus_t *jt_view_bus_connected(jt_view_t *v);

/* The latest snapshot. Never blocks on NATS. */
void jt_view_summary(jt_view_t *v, jt_view_summary_t *out);

/* Live workers' heartbeats: a new JSON array of objects (caller owns it). */
json_t *jt_view_workers(jt_view_t *v);

/* Note one job published, so the pending count stays honest between refreshes. */
void jt_view_job_published(jt_view_t *v);

/* A request thread saw JetStream fail (a submission got no acknowledgement): the summary
 * says jetstream_ok false at once, until a later probe or jt_view_bus_worked, and for at least
 * 3 s. */
void jt_view_bus_failed(jt_view_t *v);

/* A request thread saw JetStream work (a submission was acknowledged). */
void jt_view_bus_worked(jt_view_t *v);

#endif
