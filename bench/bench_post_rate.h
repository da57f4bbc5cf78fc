/* bench_post_rate.h -- accepted POSTs per second at a number of keep-alive connections.
 *
 * No worker runs during this measurement: a fake calibrated estimate-meter
 * heartbeat makes the gateway admit jobs, which pile up in the jobs stream
 * until jt_post_rate_purge empties it. Call from the bench's main thread.
 */
#ifndef JT_BENCH_POST_RATE_H
#define JT_BENCH_POST_RATE_H

#include "bus.h"

#define JT_POST_RATE_WARMUP_S 0.5 /* posting before the counted window */
#define JT_POST_RATE_SECONDS 5.0  /* the counted window */

typedef struct {
    int conns;
    double rate; /* 202s per second over the window */
    double p50_ms, p99_ms;
    long accepted, other; /* answers in the window: 202, anything else */
    long new_connections; /* TCP connections opened (keep-alive check) */
} jt_post_level_t;

/* Post the trivial job on `conns` keep-alive connections (libcurl multi), each
 * back to back for JT_POST_RATE_WARMUP_S + JT_POST_RATE_SECONDS, to the
 * gateway on port; the answers that arrive in the last JT_POST_RATE_SECONDS
 * count. Returns 0 with *out filled, or -1 when out of memory (*out then
 * holds conns and zeros). */
int jt_post_rate_level(int port, int conns, jt_post_level_t *out);

/* Store a heartbeat of a calibrated estimate-meter worker ("bench-fake") in
 * the workers bucket, so the gateway admits jobs. Returns 0, or -1 when the
 * put failed. */
int jt_post_rate_fake_heartbeat(jt_bus_t *bus);

/* Delete the fake heartbeat (errors ignored: the key may be gone already). */
void jt_post_rate_forget_heartbeat(jt_bus_t *bus);

/* Empty the jobs stream and the task records (the backlog of a level).
 * Returns 0, or -1 when a purge failed. */
int jt_post_rate_purge(jt_bus_t *bus);

#endif
