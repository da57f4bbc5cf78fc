/* job_execution.c -- one decoded job on the job thread: cancel check, gate, lease, trials, end.
 */
#include "job_execution.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus_names.h"
#include "log.h"
#include "measurement.h"
#include "webhook_queue.h"

static int abort_bits(jt_job_execution_t *run)
{
    return jt_runner_slot_abort_bits(run->ctx->slot);
}

/* Whether the client asked to cancel the task (KV flag, or the message came already). */
static bool cancel_requested(jt_job_execution_t *run)
{
    if (abort_bits(run) & JT_ABORT_CANCELLED)
        return true;
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, run->ctx->bus->cancels, run->task_id);
    kvEntry_Destroy(e);
    return s == NATS_OK;
}

static jt_settle_t requeue(jt_job_execution_t *run, const char *type, const char *why)
{
    snprintf(run->requeue_type, sizeof run->requeue_type, "%s", type);
    snprintf(run->requeue_why, sizeof run->requeue_why, "%s", why);
    run->requeue_delay_ms = strcmp(type, "worker_shutdown") == 0          ? 0
                            : strcmp(type, "task_state_unavailable") == 0 ? JT_REQUEUE_BUS_DELAY_MS
                                                                          : JT_REQUEUE_DELAY_MS;
    return JT_SETTLE_REQUEUE;
}

/* Store the final record; ack once stored, else try again later. */
static jt_settle_t finish(jt_job_execution_t *run, jt_task_status_t status, json_t *result,
                          const char *error_type, const char *error)
{
    jt_error_t err;
    jt_status_t s = jt_report_final(&run->report, status, result, error_type, error, &err);
    json_decref(result);
    if (s != JT_OK) {
        jt_log(JT_LOG_ERROR, run->task_id, "cannot store the final record: %s", err.message);
        return requeue(run, "task_state_unavailable", err.message);
    }
    if (run->report.ended_elsewhere)
        return JT_SETTLE_ACK; /* another delivery of it ended first (and queued its webhook) */
    jt_log(JT_LOG_INFO, run->task_id, "task %s%s%s", jt_task_status_name(status),
           error_type ? ": " : "", error_type ? error_type : "");
    /* The final record is stored: the gateway's deliverer POSTs it (docs/webhooks.md). A
     * webhook that cannot be queued is logged, not retried: the job itself is done. */
    if (run->job.callback_url != NULL &&
        jt_webhook_enqueue(run->ctx->bus, JT_WEBHOOK_KIND_TASK, run->task_id,
                           jt_task_status_name(status), run->job.callback_url, &err) != JT_OK)
        jt_log(JT_LOG_ERROR, run->task_id, "webhook not queued: %s", err.message);
    return JT_SETTLE_ACK;
}

static jt_settle_t finish_cancelled(jt_job_execution_t *run, const jt_measurement_t *m)
{
    json_t *result = NULL;
    if (m != NULL && m->has_validation) {
        result = json_object();
        json_object_set_new(result, "validation", jt_validation_to_json(&m->validation));
    }
    return finish(run, JT_TASK_CANCELLED, result, "cancelled", "the task was cancelled");
}

/* The job must stop: cancelled ends it, anything else gives it back. */
static jt_settle_t on_abort(jt_job_execution_t *run, const jt_measurement_t *m)
{
    int bits = abort_bits(run);
    if (bits & JT_ABORT_CANCELLED)
        return finish_cancelled(run, m);
    if (bits & JT_ABORT_LEASE_LOST)
        return requeue(run, "lease_lost",
                       "the measurement socket's lease was lost during the trials");
    return requeue(run, "worker_shutdown", "the worker shut down while running the job");
}

/* After a runner error: a fresh runner for the next job, and a retry for this one. */
static jt_settle_t runner_failed(jt_job_execution_t *run, const jt_measurement_t *m,
                                 const jt_error_t *cause)
{
    const jt_job_context_t *c = run->ctx;
    jt_error_t err;
    jt_runner_t *fresh = NULL;
    if (jt_runner_slot_stopping(c->slot))
        fresh = NULL; /* no next job: do not start a runner only to stop it */
    else if (jt_runner_spawn(c->cfg, &fresh, &err) != JT_OK) {
        jt_log(JT_LOG_ERROR, run->task_id, "cannot respawn the sandbox runner: %s", err.message);
        fresh = NULL;
    }
    jt_runner_slot_swap(c->slot, fresh);
    if (abort_bits(run) != 0)
        return on_abort(run, m);
    jt_log(JT_LOG_WARN, run->task_id, "sandbox runner failed: %s", cause->message);
    return requeue(run, "sandbox_failed", cause->message);
}

static int on_progress(void *ctx, const jt_trial_progress_t *p)
{
    jt_job_execution_t *run = ctx;
    jt_error_t err;
    double cv = p->trial >= 2 ? p->cv_percent : NAN;
    if (jt_report_progress(&run->report, JT_TASK_MEASURING, p->stage, p->progress, p->trial,
                           p->trials_total, cv, &err) != JT_OK)
        jt_log(JT_LOG_WARN, run->task_id, "progress not stored: %s", err.message);
    return abort_bits(run) != 0 || run->report.ended_elsewhere;
}

/* The first write after the gateway's record: compare-and-set (task_report.h), so that a
 * cancel written while the job was queued wins. KV trouble is retried with the job's
 * back-off while the delivery is kept (InProgress). Returns JT_OK, JT_ERR_PROTOCOL when
 * the task turned final meanwhile (report.ended_elsewhere) or kept changing under us,
 * else the last KV error. */
static jt_status_t first_write_once(void *ctx, jt_error_t *err)
{
    jt_job_execution_t *run = ctx;
    return jt_report_progress(&run->report, JT_TASK_VALIDATING, "validating", 0, 0,
                              run->job.energy_measurement_trials, NAN, err);
}

static jt_status_t first_write(jt_job_execution_t *run, jt_error_t *err)
{
    return jt_retry_run(run->ctx->retry, run->task_id, "task record written", first_write_once, run,
                        err);
}

/* Gate, lease, trials. Fills m; returns how to settle. */
static jt_settle_t measure(jt_job_execution_t *run, jt_measurement_t *m)
{
    const jt_job_context_t *c = run->ctx;
    const jt_job_t *job = &run->job;
    jt_error_t err;
    jt_runner_t *r = jt_runner_slot_runner(c->slot);
    if (r == NULL) { /* the last respawn failed: try once more */
        if (jt_runner_spawn(c->cfg, &r, &err) != JT_OK)
            return requeue(run, "sandbox_failed", err.message);
        jt_runner_slot_swap(c->slot, r);
    }
    jt_status_t s = jt_measurer_gate(c->ms, r, job, m, &err);
    if (s != JT_OK)
        return runner_failed(run, m, &err);
    if (abort_bits(run) != 0)
        return on_abort(run, m);
    if (!m->validation.is_correct)
        return finish(run, JT_TASK_FAILED, jt_measurement_to_json(m), NULL, NULL);

    int total = job->energy_measurement_trials;
    if (jt_report_progress(&run->report, JT_TASK_WAITING_FOR_SOCKET, "waiting_for_socket", 0, 0,
                           total, NAN, &err) != JT_OK)
        jt_log(JT_LOG_WARN, run->task_id, "progress not stored: %s", err.message);
    s = jt_lease_acquire(c->lease, run->task_id, -1, jt_runner_slot_should_stop, c->slot, &err);
    if (s != JT_OK)
        return abort_bits(run) != 0 ? on_abort(run, m)
                                    : requeue(run, "worker_shutdown", err.message);
    jt_log(JT_LOG_DEBUG, run->task_id, "lease taken (revision %llu)",
           (unsigned long long)jt_lease_revision(c->lease));
    if (jt_report_progress(&run->report, JT_TASK_MEASURING, "measuring", 0, 0, total, NAN, &err) !=
        JT_OK)
        jt_log(JT_LOG_WARN, run->task_id, "progress not stored: %s", err.message);

    s = jt_measurer_trials(c->ms, r, job, on_progress, run, m, &err);

    jt_error_t lerr;
    jt_status_t ls = jt_lease_release(c->lease, &lerr);
    if (ls != JT_OK && ls != JT_ERR_MISSING)
        jt_log(JT_LOG_WARN, run->task_id, "%s", lerr.message);
    if (s != JT_OK)
        return runner_failed(run, m, &err);
    int bits = abort_bits(run);
    bool result_whole = strcmp(m->error_type, "aborted") != 0;
    if ((bits & JT_ABORT_CANCELLED) || (bits & JT_ABORT_LEASE_LOST) || (bits != 0 && !result_whole))
        return on_abort(run, m);
    if (ls == JT_ERR_PROTOCOL || ls == JT_ERR_MISSING) /* it expired under us */
        return requeue(run, "lease_lost",
                       "the measurement socket's lease expired during the "
                       "trials");
    jt_task_status_t status = m->completed ? JT_TASK_COMPLETED : JT_TASK_FAILED;
    return finish(run, status, jt_measurement_to_json(m), NULL, NULL);
}

jt_settle_t jt_job_execute(jt_job_execution_t *run)
{
    const jt_job_context_t *c = run->ctx;
    jt_error_t err;
    if (cancel_requested(run))
        return finish_cancelled(run, NULL);
    if (c->ms == NULL)
        return finish(run, JT_TASK_FAILED, NULL, "not_calibrated", c->not_measuring_why);
    jt_status_t s = first_write(run, &err);
    if (s == JT_ERR_PROTOCOL && run->report.ended_elsewhere) {
        jt_log(JT_LOG_INFO, run->task_id, "task ended meanwhile (%s)", err.message);
        return JT_SETTLE_ACK;
    }
    if (s != JT_OK)
        return requeue(run, "task_state_unavailable", err.message);
    jt_measurement_t m;
    jt_measurement_init(&m);
    jt_settle_t how = measure(run, &m);
    jt_measurement_cleanup(&m);
    return how;
}
