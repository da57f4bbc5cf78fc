/* bench_latency.h -- the pipeline's added latency per job and its lease hand-over between workers.
 *
 * Both post the trivial job to the gateway and follow it through
 * bench_tracks.h, whose subscriptions must be up; at least one worker must
 * run for the latency, two for a hand-over. Call from the bench's main
 * thread.
 */
#ifndef JT_BENCH_LATENCY_H
#define JT_BENCH_LATENCY_H

#include <stddef.h>

#include "bus.h"

#define JT_LATENCY_JOBS 50       /* jobs timed, after 3 untimed ones */
#define JT_HANDOVER_MAX_PAIRS 60 /* pairs of jobs posted at the most */

/* Milliseconds per timed job; a stage not seen gives NAN. */
typedef struct {
    double added[JT_LATENCY_JOBS];   /* total - windows */
    double pickup[JT_LATENCY_JOBS];  /* POST -> "validating" */
    double gate[JT_LATENCY_JOBS];    /* "validating" -> "waiting_for_socket" */
    double lease[JT_LATENCY_JOBS];   /* "waiting_for_socket" -> "measuring" */
    double measure[JT_LATENCY_JOBS]; /* "measuring" -> result, minus windows */
    double windows[JT_LATENCY_JOBS]; /* the windows themselves */
    size_t n;
} jt_latency_t;

typedef struct {
    double ms[2 * JT_HANDOVER_MAX_PAIRS];
    size_t n;           /* contended hand-overs (the next holder was already waiting) */
    size_t uncontended; /* releases with nobody waiting yet (not hand-overs) */
    int pairs;
} jt_handover_t;

/* Post jobs to the gateway on port one at a time, each after the previous
 * one's result: POST to the result on jouletrace.result.<id>, minus the sum
 * of the result's trial windows, and the stages in between. Returns 0 with
 * JT_LATENCY_JOBS jobs in *out, or -1 (a line on stderr) when a POST failed,
 * a result did not come or a job did not complete; *out then holds the jobs
 * timed so far. */
int jt_latency_measure(int port, jt_latency_t *out);

/* Post pairs of jobs back to back to the gateway on port, while KV watchers
 * on bus's lease and task buckets record, with the server's timestamps, each
 * lease release (delete marker) and the next acquisition of that key, until
 * 20 contended hand-overs or JT_HANDOVER_MAX_PAIRS pairs. Returns 0 with
 * *out filled, or -1 when a watcher could not start, a POST failed or a result
 * did not come; *out then holds the pairs counted so far. */
int jt_handover_measure(int port, jt_bus_t *bus, jt_handover_t *out);

#endif
