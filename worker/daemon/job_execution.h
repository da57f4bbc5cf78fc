/* job_execution.h -- private to job_loop.c and job_run.c: the job thread's state and one job's run.
 *
 * Everything here runs on the job thread unless marked otherwise.
 */
#ifndef JT_JOB_EXECUTION_H
#define JT_JOB_EXECUTION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "job_consumer.h"
#include "task_report.h"

/* Why the job in flight must stop (bits of jt_job_loop.abort). */
enum {
    JT_ABORT_CANCELLED = 1,  /* the client cancelled: store cancelled, ack */
    JT_ABORT_LEASE_LOST = 2, /* the socket is no longer ours: retry elsewhere */
    JT_ABORT_SHUTDOWN = 4,   /* SIGTERM: give the job back */
};

/* What to do with the JetStream message once a job is over. */
typedef enum {
    JT_SETTLE_ACK,     /* the final record is stored */
    JT_SETTLE_NAK,     /* give it back at once (state unknown) */
    JT_SETTLE_TERM,    /* never deliver again (undecodable) */
    JT_SETTLE_REQUEUE, /* unfinished: nak, or fail it on its last allowed delivery */
} jt_settle_t;

struct jt_job_loop {
    jt_config_t cfg;
    jt_bus_t *bus;
    jt_measurer_t *ms;
    char not_measuring_why[512];
    jt_lease_t *lease;
    char worker_id[128];
    void (*on_exit)(void *ctx);
    void *ctx;
    natsSubscription *jobs;
    natsSubscription *cancels;
    pthread_t thread;
    atomic_bool stopping;
    atomic_int abort;     /* JT_ABORT_* bits of the job in flight */
    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t cancel_cond;
    bool cancel_done;                    /* the cancel subscription delivers no more */
    char current[JT_MAX_NAME_BYTES + 1]; /* task in flight, "" when idle */
    natsMsg *msg;                        /* its message (keepalive), NULL when idle */
    jt_runner_t *runner;                 /* swapped only by the job thread, under lock */
};

/* One job being processed. */
typedef struct {
    jt_job_loop_t *loop;
    jt_job_t job;
    char task_id[JT_MAX_NAME_BYTES + 1];
    uint64_t delivered; /* NumDelivered of this delivery */
    jt_report_t report;
    char requeue_type[48]; /* error_type if the last delivery must fail */
    char requeue_why[512];
} jt_job_run_t;

/* Run a decoded job whose record is loaded and not final: cancellation
 * check, gate, lease, trials, final record. Returns how to settle the
 * message; for JT_SETTLE_REQUEUE, requeue_type/why say why. */
jt_settle_t jt_job_run(jt_job_run_t *run);

/* Set reason bits and cancel the runner's job, when task_id (NULL: any) is
 * the job in flight. Any thread. */
void jt_job_loop_abort_runner(jt_job_loop_t *j, int reason, const char *task_id);

/* Install a fresh runner (NULL allowed) and destroy the old one. Job thread. */
void jt_job_loop_swap_runner(jt_job_loop_t *j, jt_runner_t *fresh);

/* Nonzero when the job in flight must stop waiting (abort bits or stopping). */
int jt_job_loop_should_stop(void *ctx);

#endif
