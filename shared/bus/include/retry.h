/* retry.h -- bounded back-off for NATS operations that fail while the cluster elects a leader.
 *
 * Usage:
 *     jt_backoff_t b;
 *     jt_backoff_init(&b, &policy);
 *     while ((s = attempt()) is temporary)
 *         if (!jt_backoff_wait(&b)) break;      (gave up: patience spent or asked to stop)
 *
 * Waits double from JT_BACKOFF_FIRST_MS up to JT_BACKOFF_MAX_MS and are slept in slices of
 * at most JT_BACKOFF_SLICE_MS, so a stop request is seen quickly. Each jt_backoff_t belongs to
 * one thread; a policy is only read and may be shared.
 */
#ifndef JT_RETRY_H
#define JT_RETRY_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "status.h"

#define JT_BACKOFF_FIRST_MS 100
#define JT_BACKOFF_MAX_MS 3000
#define JT_BACKOFF_SLICE_MS 50

typedef struct {
    int patience_ms;       /* give up once this long has passed since the first attempt */
    int (*stop)(void *);   /* nonzero: give up (may be NULL) */
    void *ctx;             /* passed to stop */
    int grace_ms;          /* after stop first said so, go on this long (0: give up at once) */
} jt_retry_t;

typedef struct {
    const jt_retry_t *policy;
    int64_t start_ns;   /* monotonic time of jt_backoff_init */
    int64_t stop_ns;    /* when stop first returned nonzero, 0 before */
    int next_ms;        /* the next wait */
    int attempts;       /* waits done so far */
} jt_backoff_t;

/* Start counting now under policy (borrowed; must outlive b). */
void jt_backoff_init(jt_backoff_t *b, const jt_retry_t *policy);

/* Sleep before the next attempt. Returns true after sleeping; false at once (nothing slept)
 * when the patience is spent or stop (past its grace) asks to give up. The last wait is
 * shortened so that the patience is never exceeded by more than one slice. */
bool jt_backoff_wait(jt_backoff_t *b);

/* Seconds since jt_backoff_init. */
double jt_backoff_elapsed(const jt_backoff_t *b);

/* One attempt of jt_retry_run: JT_OK, or a status with *err filled. */
typedef jt_status_t (*jt_attempt_fn)(void *ctx, jt_error_t *err);

/* Call attempt(ctx, err) until it returns a status that is not temporary (jt_status_temporary)
 * or the back-off of policy gives up; returns the last status. The first temporary failure
 * is logged as a warning under task_id (may be NULL), and a success after retries as
 * "<what> after N s of retries". Runs on the caller's thread. */
jt_status_t jt_retry_run(const jt_retry_t *policy, const char *task_id, const char *what,
                         jt_attempt_fn attempt, void *ctx, jt_error_t *err);

/* Whether a JouleTrace status from a NATS operation is worth retrying: JT_ERR_TIMEOUT and
 * JT_ERR_IO (no responders, a lost connection, a cluster without a leader). */
bool jt_status_temporary(jt_status_t s);

/* Whether a nats.c status and JetStream error code (0: none) mean that the cluster cannot
 * answer right now: timeouts, no responders, a connection being re-established, and the
 * JetStream errors of a cluster without quorum or leader (10008 temporarily unavailable,
 * 10009 not leader, 10004 incomplete, 10005 no suitable peers, 10023 insufficient resources,
 * 10041 RAFT). */
bool jt_nats_temporary(natsStatus s, jsErrCode jerr);

#endif
