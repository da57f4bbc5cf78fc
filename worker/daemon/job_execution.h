/* job_execution.h -- one decoded job on the job thread: cancel check, gate, lease, trials, end.
 *
 * The job consumer (job_consumer.c) fetches, decodes and settles messages;
 * this module runs one job and says how to settle its message. It sees the
 * worker through a narrow context, never through the consumer's state.
 * Everything here runs on the job thread.
 */
#ifndef JT_JOB_EXECUTION_H
#define JT_JOB_EXECUTION_H

#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "job.h"
#include "lease.h"
#include "measurer.h"
#include "retry.h"
#include "runner_slot.h"
#include "task_report.h"

/* What a job needs of its worker; every pointer is borrowed and outlives the job. */
typedef struct {
    const jt_config_t *cfg;        /* to respawn the sandbox runner */
    jt_bus_t *bus;                 /* the cancels bucket */
    jt_measurer_t *ms;             /* NULL: every job fails "not_calibrated" */
    const char *not_measuring_why; /* the reason ms is NULL */
    jt_lease_t *lease;             /* the measurement domain's lease */
    const char *worker_id;         /* this worker, in task records */
    jt_runner_slot_t *slot;        /* the runner and the abort bits of the job in flight */
    const jt_retry_t *retry;       /* back-off of KV reads and writes through a bus outage */
} jt_job_context_t;

/* What to do with the JetStream message once a job is over. */
typedef enum {
    JT_SETTLE_ACK,     /* the final record is stored */
    JT_SETTLE_NAK,     /* give it back after requeue_delay_ms (state unknown) */
    JT_SETTLE_TERM,    /* never deliver again (undecodable) */
    JT_SETTLE_REQUEUE, /* unfinished: nak, or fail it on its last allowed delivery */
} jt_settle_t;

/* One job being processed; the consumer fills job, task_id, delivered and
 * report (loaded with jt_report_begin) before jt_job_execute. */
typedef struct {
    const jt_job_context_t *ctx;
    jt_job_t job;
    char task_id[JT_MAX_NAME_BYTES + 1];
    uint64_t delivered; /* NumDelivered of this delivery */
    jt_report_t report;
    char requeue_type[48]; /* error_type if the last delivery must fail */
    char requeue_why[512];
    int requeue_delay_ms; /* how long JetStream waits before delivering it again */
} jt_job_execution_t;

/* Delays of a job handed back: at once when the worker stops (another takes it), a little
 * after a runner or lease failure, longer while the bus cannot store its state, so that a
 * bus outage does not use up the job's JT_JOBS_MAX_DELIVER deliveries within milliseconds. */
#define JT_REQUEUE_DELAY_MS 1000
#define JT_REQUEUE_BUS_DELAY_MS 5000

/* Run a decoded job whose record is loaded and not final: cancellation
 * check, gate, lease, trials, final record. Returns how to settle the
 * message; for JT_SETTLE_REQUEUE, requeue_type/why say why. */
jt_settle_t jt_job_execute(jt_job_execution_t *run);

#endif
