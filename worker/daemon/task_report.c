/* task_report.c -- keeps a task's record in KV and publishes it on its progress and result
 * subjects. */
#include "task_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"
#include "clock.h"
#include "log.h"
#include "nats_status.h"
#include "value.h"

static void set_string_or_null(json_t *o, const char *key, const char *value)
{
    json_object_set_new(o, key, value ? json_string(value) : json_null());
}

jt_status_t jt_report_begin(jt_report_t *r, jt_bus_t *bus, const char *task_id,
                            const char *worker_id, const jt_job_t *job, bool *final,
                            jt_error_t *err)
{
    const jt_retry_t patient = {.patience_ms = JT_REPORT_PATIENCE_MS};
    return jt_report_begin_retry(r, bus, task_id, worker_id, job, &patient, final, err);
}

typedef struct {
    jt_report_t *r;
    json_t **rec;
    uint64_t *rev;
} read_args_t;

static jt_status_t read_once(void *ctx, jt_error_t *err)
{
    read_args_t *a = ctx;
    return jt_task_get(a->r->bus->tasks, a->r->task_id, a->rec, a->rev, err);
}

/* Read the record, retrying KV trouble with r->retry's back-off. */
static jt_status_t read_record(jt_report_t *r, json_t **rec, uint64_t *rev, jt_error_t *err)
{
    read_args_t a = {r, rec, rev};
    return jt_retry_run(&r->retry, r->task_id, "task record read", read_once, &a, err);
}

jt_status_t jt_report_begin_retry(jt_report_t *r, jt_bus_t *bus, const char *task_id,
                                  const char *worker_id, const jt_job_t *job,
                                  const jt_retry_t *retry, bool *final, jt_error_t *err)
{
    memset(r, 0, sizeof *r);
    r->bus = bus;
    r->started = jt_clock_now();
    r->retry = *retry;
    snprintf(r->task_id, sizeof r->task_id, "%s", task_id);
    if (final != NULL)
        *final = false;
    json_t *rec = NULL;
    uint64_t rev = 0;
    jt_status_t s = read_record(r, &rec, &rev, err);
    if (s == JT_ERR_MISSING) {
        rec = jt_task_record_new(task_id, JT_TASK_QUEUED);
        rev = 0;
        s = rec ? JT_OK : jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    } else if (s == JT_ERR_PROTOCOL) { /* unreadable record: start afresh */
        jt_log_warn("task %s: replacing an unreadable record", task_id);
        rec = jt_task_record_new(task_id, JT_TASK_QUEUED);
        s = rec ? JT_OK : jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    if (s != JT_OK)
        return s;
    int st = jt_task_status_parse(json_string_value(json_object_get(rec, "status")));
    if (final != NULL)
        *final = st >= 0 && jt_task_status_final((jt_task_status_t)st);
    json_object_set_new(rec, "task_id", json_string(task_id));
    set_string_or_null(rec, "worker", worker_id);
    if (job != NULL) {
        if (job->candidate_id != NULL || json_object_get(rec, "candidate_id") == NULL)
            set_string_or_null(rec, "candidate_id", job->candidate_id);
        if (job->problem_name != NULL || json_object_get(rec, "problem_name") == NULL)
            set_string_or_null(rec, "problem_name", job->problem_name);
    }
    if (json_object_get(rec, "request_id") == NULL)
        json_object_set_new(rec, "request_id", json_null());
    r->record = rec;
    r->expected_rev = rev;
    return JT_OK;
}

/* Publish the record (msgpack) on prefix<task id>; best effort. */
static void publish(jt_report_t *r, const char *prefix)
{
    char subject[JT_MAX_NAME_BYTES + 64];
    if (!jt_bus_task_subject(subject, sizeof subject, prefix, r->task_id))
        return;
    jt_blob_t blob = {0};
    jt_error_t err;
    if (jt_value_from_json(r->record, "record", &blob, &err) != JT_OK) {
        jt_log(JT_LOG_WARN, r->task_id, "cannot encode the task record: %s", err.message);
        return;
    }
    natsStatus s = natsConnection_Publish(r->bus->nc, subject, blob.data, (int)blob.len);
    if (s != NATS_OK) {
        char why[256];
        jt_log(JT_LOG_WARN, r->task_id, "cannot publish on %s: %s", subject,
               jt_nats_describe(s, why, sizeof why));
    }
    jt_blob_free(&blob);
}

/* After a refused compare-and-set: read what is stored. A final record (someone else ended the
 * task) sets ended_elsewhere and returns JT_ERR_PROTOCOL; otherwise its revision becomes the
 * one to write against (our own write whose answer was lost, or another worker's). */
static jt_status_t adopt_stored(jt_report_t *r, jt_error_t *err)
{
    json_t *stored = NULL;
    uint64_t rev = 0;
    jt_status_t s = jt_task_get(r->bus->tasks, r->task_id, &stored, &rev, err);
    if (s == JT_ERR_MISSING) {
        r->expected_rev = 0;
        return JT_OK;
    }
    if (s == JT_ERR_PROTOCOL) { /* unreadable: ours to replace */
        r->expected_rev = rev;
        return JT_OK;
    }
    if (s != JT_OK)
        return s;
    int st = jt_task_status_parse(json_string_value(json_object_get(stored, "status")));
    const char *by = json_string_value(json_object_get(stored, "worker"));
    bool final = st >= 0 && jt_task_status_final((jt_task_status_t)st);
    if (final) {
        r->ended_elsewhere = true;
        jt_error_set(err, JT_ERR_PROTOCOL, r->task_id, "task %s is already %s (stored by %s)",
                     r->task_id, jt_task_status_name((jt_task_status_t)st), by ? by : "someone");
    } else {
        r->expected_rev = rev;
    }
    json_decref(stored);
    return final ? JT_ERR_PROTOCOL : JT_OK;
}

/* Store the record: compare-and-set against the revision loaded or last written, so that
 * nothing is written over a record someone else ended. */
static jt_status_t store(jt_report_t *r, jt_error_t *err)
{
    if (r->ended_elsewhere)
        return jt_error_set(err, JT_ERR_PROTOCOL, r->task_id, "task %s ended elsewhere",
                            r->task_id);
    for (int attempt = 0;; attempt++) {
        uint64_t rev = 0;
        jt_status_t s =
            jt_task_put(r->bus->tasks, r->task_id, r->record, r->expected_rev, &rev, err);
        if (s == JT_OK)
            r->expected_rev = rev;
        if (s != JT_ERR_PROTOCOL || attempt == 2)
            return s;
        s = adopt_stored(r, err); /* someone wrote in between */
        if (s != JT_OK)
            return s;
    }
}

static jt_status_t store_once(void *ctx, jt_error_t *err)
{
    return store(ctx, err);
}

static void set_common(jt_report_t *r, jt_task_status_t status, const char *stage)
{
    jt_task_record_set_status(r->record, status);
    json_object_set_new(r->record, "stage",
                        json_string(stage ? stage : jt_task_status_name(status)));
    json_object_set_new(r->record, "elapsed_seconds", json_real(jt_clock_now() - r->started));
}

jt_status_t jt_report_progress(jt_report_t *r, jt_task_status_t status, const char *stage,
                               double progress, int trial, int trials_total, double cv_percent,
                               jt_error_t *err)
{
    set_common(r, status, stage);
    json_object_set_new(r->record, "progress",
                        json_real(progress < 0   ? 0
                                  : progress > 1 ? 1
                                                 : progress));
    json_object_set_new(r->record, "trial", json_integer(trial));
    json_object_set_new(r->record, "trials_total", json_integer(trials_total));
    json_object_set_new(r->record, "cv_percent",
                        isfinite(cv_percent) ? json_real(cv_percent) : json_null());
    jt_status_t s = store(r, err);
    if (s == JT_OK)
        publish(r, JT_SUBJECT_PROGRESS_PREFIX);
    return s;
}

jt_status_t jt_report_final(jt_report_t *r, jt_task_status_t status, json_t *result,
                            const char *error_type, const char *error, jt_error_t *err)
{
    if (result != NULL)
        json_object_update(r->record, result);
    set_common(r, status, NULL);
    json_object_set_new(r->record, "progress", json_real(1.0));
    if (json_object_get(r->record, "cv_percent") == NULL)
        json_object_set_new(r->record, "cv_percent", json_null());
    if (json_object_get(r->record, "trial") == NULL)
        json_object_set_new(r->record, "trial", json_integer(0));
    if (json_object_get(r->record, "trials_total") == NULL)
        json_object_set_new(r->record, "trials_total", json_integer(0));
    if (error_type != NULL)
        json_object_set_new(r->record, "error_type", json_string(error_type));
    if (error != NULL)
        json_object_set_new(r->record, "error", json_string(error));
    jt_status_t s = jt_retry_run(&r->retry, r->task_id, "final record stored", store_once, r, err);
    if (s == JT_ERR_PROTOCOL && r->ended_elsewhere) {
        jt_log(JT_LOG_INFO, r->task_id, "%s: its end is stored, not written again", err->message);
        return JT_OK;
    }
    if (s != JT_OK)
        return s;
    publish(r, JT_SUBJECT_PROGRESS_PREFIX);
    publish(r, JT_SUBJECT_RESULT_PREFIX);
    return JT_OK;
}

void jt_report_cleanup(jt_report_t *r)
{
    json_decref(r->record);
    r->record = NULL;
}
