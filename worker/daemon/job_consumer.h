/* job_consumer.h -- the worker's job thread: pull one job at a time, gate, lease, trials, ack.
 *
 * Per job: decode (bad msgpack: the task fails with a clear error and the
 * message is terminated), skip what is already final or cancelled, run the
 * correctness gate, take the measurement-domain lease (status
 * waiting_for_socket), run the trials while progress goes to KV and the
 * progress subject, release the lease, store and publish the final record,
 * then ack. Infrastructure failures (sandbox runner died, lease lost,
 * shutdown) nak the job so another worker retries it (after a delay, see
 * job_execution.h), except on its last allowed delivery (JT_JOBS_MAX_DELIVER),
 * which stores "failed" and acks. KV trouble (no responders, timeouts while a
 * cluster elects a leader) is retried with back-off while the delivery is kept;
 * the final record is always stored before the ack.
 *
 * Threads: start/stop/destroy on the daemon's main thread; keepalive and
 * lease_lost from the event loop; current from anywhere. Cancellation
 * requests ("jouletrace.cancel.*") arrive on a nats.c thread.
 */
#ifndef JT_JOB_CONSUMER_H
#define JT_JOB_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "config.h"
#include "lease.h"
#include "measurer.h"
#include "runner_client.h"
#include "status.h"

typedef struct jt_job_consumer jt_job_consumer_t;

typedef struct {
    const jt_config_t *cfg;        /* copied */
    jt_bus_t *bus;                 /* borrowed; outlives the consumer */
    jt_measurer_t *ms;             /* borrowed; NULL: every job fails "not_calibrated" */
    const char *not_measuring_why; /* copied; the reason ms is NULL */
    jt_lease_t *lease;             /* borrowed */
    const char *worker_id;         /* copied */
    void (*on_exit)(void *ctx);    /* called on the job thread as it ends (may be NULL) */
    void *ctx;
} jt_job_consumer_opts_t;

/* Bind the shared pull consumer, subscribe to cancellations and start the
 * job thread. runner (the job runner, spawned before any thread existed) is
 * taken over, also on failure. On success *out is owned by the caller. */
jt_status_t jt_job_consumer_start(const jt_job_consumer_opts_t *o, jt_runner_t *runner,
                                  jt_job_consumer_t **out, jt_error_t *err);

/* Stop pulling and abort the job in flight (it is nak'ed, or finished when
 * its result is already complete). Returns at once; on_exit tells when the
 * thread is done. Idempotent. */
void jt_job_consumer_stop(jt_job_consumer_t *j);

/* Join the thread (after jt_job_consumer_stop), unsubscribe, destroy the runner
 * and free j. The lease is left as the thread left it (released). NULL: no-op. */
void jt_job_consumer_destroy(jt_job_consumer_t *j);

/* Tell JetStream the job in flight is still being worked on (InProgress),
 * so AckWait does not redeliver it. No-op when idle. */
void jt_job_consumer_keepalive(jt_job_consumer_t *j);

/* The lease was lost: abort the trial in flight (the job is retried). */
void jt_job_consumer_lease_lost(jt_job_consumer_t *j);

/* Whether a job is in flight; its task id into buf (may be NULL). */
bool jt_job_consumer_current(jt_job_consumer_t *j, char *buf, size_t len);

#endif
