/* bench_tracks.h -- what the bus says about the jobs the pipeline bench posts one at a time.
 *
 * A table (up to JT_TRACKS_MAX task ids) of when each job was posted, when
 * its first progress record of each stage and its result arrived, filled by
 * a nats.c callback thread on jouletrace.progress.> and jouletrace.result.>.
 * The table is the bench's one instance, guarded by a lock of its own; the
 * functions may be called from any thread.
 */
#ifndef JT_BENCH_TRACKS_H
#define JT_BENCH_TRACKS_H

#include <jansson.h>
#include <nats/nats.h>

#include "bench_http.h"

#define JT_TRACKS_MAX 512
#define JT_TRACK_ID_LEN 128 /* longest task id kept */

typedef struct {
    char id[JT_TRACK_ID_LEN + 1];
    double posted;     /* before the POST was sent */
    double validating; /* first progress record with that stage (0: not seen) */
    double waiting;
    double measuring;
    double done; /* result arrival */
    json_t *result;
} jt_track_t;

/* Subscribe to the progress and result subjects on nc and flush, so that
 * records of jobs posted after this return are seen. Returns 0, or -1 when a
 * subscription or the flush failed (jt_tracks_unsubscribe still required). */
int jt_tracks_subscribe(natsConnection *nc);

/* Drop the subscriptions (none: nothing happens). */
void jt_tracks_unsubscribe(void);

/* Free the results the table holds; call once no callback can run any more. */
void jt_tracks_free(void);

/* POST the trivial job on p, stamping the send time into *posted and the
 * track. Returns 0 with its task id in id when the gateway answered 202 with
 * a task id of at most JT_TRACK_ID_LEN characters and the table had room;
 * otherwise -1 (with the answer on stderr, unless only the table was full). */
int jt_tracks_post_job(jt_bench_poster_t *p, char id[JT_TRACK_ID_LEN + 1], double *posted);

/* Wait up to 60 s for the result of id. Returns 0 with a copy of its track in
 * *out (the result is borrowed: the table keeps it), or -1 with a line on
 * stderr on timeout or when the table is full. */
int jt_tracks_wait_result(const char *id, jt_track_t *out);

#endif
