/* submit.c -- POST /api/v1/measure-socket0: parse, admit, store the queued record, publish the job.
 *
 * Runs on civetweb worker threads. Order of a submission (pipeline contract):
 *   body (400/413/422) -> callback_url allowed (422) -> NATS up (503) -> Idempotency-Key
 *   seen before (202 with the existing task for the same body bytes, 422
 *   "idempotency_key_reused" for other bytes; idempotency.h) -> a calibrated live worker
 *   (503) -> queue depth (429) -> claim the Idempotency-Key (create-if-absent) -> KV record
 *   "queued", acknowledged -> JetStream publish with Nats-Msg-Id = task id,
 *   acknowledged -> 202 (both through the group-commit publisher, publisher.h).
 * A 202 therefore means the job is stored in the stream. On a failure after the claim, the key and
 * the record are removed again so a retry starts over and no "queued forever" record stays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callback_url.h"
#include "gateway.h"
#include "idempotency.h"
#include "ids.h"
#include "job_json.h"
#include "job_msgpack.h"
#include "log.h"
#include "retry.h"
#include "task_state.h"

/* How long a submission keeps trying while JetStream elects a leader, before its 503. */
#define SUBMIT_RETRY_MS 3000
#define RETRY_AFTER_S 2 /* what a 503 of the bus tells clients to wait */

void jt_gw_reply_nats_down(jt_req_t *req)
{
    char headers[64];
    snprintf(headers, sizeof headers, "Retry-After: %d\r\n", RETRY_AFTER_S);
    json_t *body = json_pack("{s:s, s:s, s:{s:i}}", "error", "nats_unavailable", "message",
                             "the message bus (NATS JetStream) is not reachable; retry shortly",
                             "details", "retry_after_seconds", RETRY_AFTER_S);
    jt_http_reply_json(req, 503, body, headers);
}

/* A JSON body that jansson cannot even parse is 400; valid JSON of the wrong
 * shape is 422. jt_job_from_json reports both as JT_ERR_INVALID at path "", so
 * the cheap re-parse happens only on that error path. */
static bool json_syntax_ok(const char *body, size_t len)
{
    json_error_t je;
    json_t *v =
        json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    bool ok = v != NULL;
    json_decref(v);
    return ok;
}

/* Read and parse the job; with ikey set, *idem is filled from the header and the body bytes.
 * Returns 0, or -1 after replying. */
static int read_job(jt_req_t *req, jt_job_t *job, const char *ikey, jt_idem_t *idem)
{
    char *body = NULL;
    size_t len = 0;
    jt_error_t err;

    if (jt_http_read_body_or_reply(req, JT_MAX_BODY_BYTES, &body, &len) != 0)
        return -1;
    jt_job_init(job);
    jt_status_t st = jt_job_from_json(job, body, len, &err);
    if (st == JT_OK && job->task_id != NULL) {
        jt_job_cleanup(job);
        st = jt_error_set(&err, JT_ERR_UNKNOWN_FIELD, "task_id",
                          "task_id is assigned by the gateway; to make retries safe send an "
                          "Idempotency-Key header");
    }
    if (st == JT_OK) {
        if (ikey != NULL)
            jt_idem_init(idem, "", ikey, body, len);
        free(body);
        return 0;
    }
    json_t *d = json_pack("{s:s}", "code", jt_status_name(st));
    if (st == JT_ERR_INVALID && err.path[0] == '\0' && !json_syntax_ok(body, len))
        jt_http_reply_error(req, 400, "invalid_json", "", d, err.message);
    else if (st == JT_ERR_TOO_LARGE && err.path[0] == '\0')
        jt_http_reply_error(req, 413, "payload_too_large", "", d, err.message);
    else if (st == JT_ERR_NOMEM)
        jt_http_reply_error(req, 503, "out_of_memory", NULL, d,
                            "the gateway ran out of memory parsing this body; retry");
    else
        jt_http_reply_error(req, 422, "validation_error", err.path, d, err.message);
    free(body);
    return -1;
}

int jt_gw_read_job_or_reply(jt_gw_t *gw, jt_req_t *req, jt_job_t *job)
{
    (void)gw;
    return read_job(req, job, NULL, NULL);
}

/* A rough guess for clients: validation plus (warmup + trials) windows of
 * at least min_trial_seconds, each doubled for the interleaved harness-cost
 * runs, plus the thermal wait, times the jobs ahead per measuring worker. */
static double estimate_seconds(const jt_job_t *job, int64_t pending, int workers)
{
    double trial = job->min_trial_seconds > 0.05 ? job->min_trial_seconds : 0.05;
    double one = 1.0 + 0.05 * (double)job->n_test_cases +
                 2.0 * trial * (double)(job->warmup_trials + job->energy_measurement_trials) +
                 job->thermal_wait_seconds;
    double ahead = pending > 0 ? (double)pending / (workers > 0 ? workers : 1) : 0.0;
    if (ahead > 1e6)
        ahead = 1e6;
    return one * (1.0 + ahead);
}

static void reply_accepted(jt_req_t *req, const char *task_id, const char *status, double eta,
                           bool replay)
{
    char poll[64 + JT_TASK_ID_MAX], events[64 + JT_TASK_ID_MAX], headers[256 + JT_TASK_ID_MAX];
    snprintf(poll, sizeof poll, "/api/v1/tasks/%s", task_id);
    snprintf(events, sizeof events, "/api/v1/tasks/%s/events", task_id);
    snprintf(headers, sizeof headers, "Location: %s\r\n%s", poll,
             replay ? "Idempotent-Replayed: true\r\n" : "");
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f}", "task_id", task_id, "request_id",
                             req->request_id, "status", status, "poll_url", poll, "events_url",
                             events, "estimated_completion_seconds", eta);
    jt_http_reply_json(req, 202, body, headers);
}

/* 202 for the task an earlier request with the same Idempotency-Key created. */
static void reply_replay(jt_gw_t *gw, jt_req_t *req, jt_bus_t *bus, const char *task_id)
{
    json_t *rec = NULL;
    const char *status = "queued";
    if (jt_task_get(bus->tasks, task_id, &rec, NULL, NULL) == JT_OK) {
        const char *s = json_string_value(json_object_get(rec, "status"));
        if (s != NULL)
            status = s;
    }
    atomic_fetch_add_explicit(&gw->metrics.idempotent_replays, 1, memory_order_relaxed);
    reply_accepted(req, task_id, status, 0.0, true);
    json_decref(rec);
}

/* The first record of a task, written before its job is published. */
static json_t *queued_record(const char *task_id, const jt_job_t *job, const char *request_id)
{
    json_t *rec = jt_task_record_new(task_id, JT_TASK_QUEUED);
    if (rec == NULL)
        return NULL;
    json_object_set_new(rec, "progress", json_real(0.0));
    json_object_set_new(rec, "trial", json_integer(0));
    json_object_set_new(rec, "trials_total", json_integer(job->energy_measurement_trials));
    json_object_set_new(rec, "cv_percent", json_null());
    json_object_set_new(rec, "elapsed_seconds", json_real(0.0));
    json_object_set_new(rec, "worker", json_null());
    json_object_set_new(rec, "candidate_id",
                        job->candidate_id ? json_string(job->candidate_id) : json_null());
    json_object_set_new(rec, "problem_name",
                        job->problem_name ? json_string(job->problem_name) : json_null());
    json_object_set_new(rec, "request_id", json_string(request_id));
    if (job->callback_url != NULL) /* the gateway's cancel of a queued task queues its webhook */
        json_object_set_new(rec, "callback_url", json_string(job->callback_url));
    return rec;
}

/* A callback_url outside JOULETRACE_CALLBACK_ALLOW gets 422 at path "callback_url". Returns 0
 * when the job has none or it is allowed, -1 after replying. */
static int check_callback_or_reply(jt_gw_t *gw, jt_req_t *req, const jt_job_t *job)
{
    jt_error_t err;
    if (job->callback_url == NULL)
        return 0;
    jt_status_t st = jt_callback_url_check(gw->cfg.callback_allow, job->callback_url, &err);
    if (st == JT_OK)
        return 0;
    json_t *d = json_pack("{s:s}", "code", jt_status_name(st));
    jt_http_reply_error(req, 422, "validation_error", "callback_url", d, err.message);
    return -1;
}

void jt_route_measure(jt_gw_t *gw, jt_req_t *req)
{
    jt_job_t job;
    jt_bus_t *bus = NULL;
    char task_id[JT_TASK_ID_MAX + 1];
    jt_idem_t idem;
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    json_t *rec = NULL;
    char *record_text = NULL;
    bool claimed = false, stored = false;

    /* The header is checked before the body is read: a bad one costs nothing. */
    const char *ikey = jt_req_header(req, "Idempotency-Key");
    if (ikey != NULL && !jt_ids_valid_idempotency_key(ikey)) {
        jt_http_reply_errorf(req, 400, "invalid_idempotency_key", "Idempotency-Key", NULL,
                             "Idempotency-Key must be 1..%d bytes of printable ASCII",
                             JT_IDEMPOTENCY_KEY_MAX);
        return;
    }
    if (read_job(req, &job, ikey, &idem) != 0)
        return;
    if (check_callback_or_reply(gw, req, &job) != 0) {
        jt_job_cleanup(&job);
        return;
    }

    /* A connection failing over to another node of the cluster is back within moments. */
    const jt_retry_t policy = {.patience_ms = SUBMIT_RETRY_MS};
    jt_backoff_t b;
    jt_backoff_init(&b, &policy);
    while ((bus = jt_view_bus_connected(gw->view)) == NULL && jt_view_bus(gw->view) != NULL &&
           !atomic_load(&gw->stopping) && jt_backoff_wait(&b))
        ;
    if (bus == NULL) {
        jt_gw_reply_nats_down(req);
        goto out;
    }
    if (ikey != NULL) {
        jt_idem_found_t found = jt_idem_lookup(bus->idempotency, &idem, task_id, sizeof task_id);
        if (found == JT_IDEM_SAME)
            reply_replay(gw, req, bus, task_id);
        else if (found != JT_IDEM_NONE)
            jt_idem_reply_refused(req, found, task_id);
        if (found != JT_IDEM_NONE)
            goto out;
    }

    jt_view_summary_t view;
    jt_view_summary(gw->view, &view);
    if (view.calibrated_workers == 0) {
        json_t *d = json_pack("{s:i, s:s}", "live_workers", view.live_workers, "hint",
                              "start a worker with a fresh calibration "
                              "(jouletrace-worker calibrate), or JOULETRACE_METER=estimate");
        jt_http_reply_error(req, 503, "not_calibrated", NULL, d, "Socket 0 not calibrated");
        goto out;
    }
    if (view.pending_jobs > gw->cfg.max_pending_jobs) {
        json_t *d = json_pack("{s:I, s:I}", "pending_jobs", (json_int_t)view.pending_jobs,
                              "max_pending_jobs", (json_int_t)gw->cfg.max_pending_jobs);
        jt_http_reply_error(req, 429, "queue_full", NULL, d,
                            "too many jobs are waiting; retry later");
        goto out;
    }

    jt_ids_task_id(task_id);
    if (ikey != NULL) {
        /* Lost a race with a concurrent request carrying the same key? */
        char other[JT_TASK_ID_MAX + 1];
        jt_idem_found_t found =
            jt_idem_claim(bus->idempotency, &idem, task_id, other, sizeof other);
        if (found == JT_IDEM_SAME)
            reply_replay(gw, req, bus, other);
        else if (found != JT_IDEM_NONE)
            jt_idem_reply_refused(req, found, other);
        if (found != JT_IDEM_NONE)
            goto out;
        claimed = true;
    }

    job.task_id = strdup(task_id);
    rec = queued_record(task_id, &job, req->request_id);
    if (job.task_id == NULL || rec == NULL || jt_job_to_msgpack(&job, &wire, &wire_len) != JT_OK) {
        jt_http_reply_error(req, 503, "out_of_memory", NULL, NULL,
                            "the gateway ran out of memory; retry");
        goto out;
    }
    jt_publisher_t *pub = atomic_load(&gw->publisher);
    record_text = json_dumps(rec, JSON_COMPACT);
    if (pub == NULL || record_text == NULL) {
        jt_gw_reply_nats_down(req);
        goto out;
    }
    const char *why = NULL;
    stored = true; /* from here on a failure may leave a record behind: remove it */
    /* An election of the stream or the bucket answers "no responders" or nothing for a few
     * seconds: try again (the record is a plain put, the job deduplicated by its
     * Nats-Msg-Id) before the client gets its 503. */
    jt_backoff_init(&b, &policy);
    int fail;
    while ((fail = jt_publisher_submit(pub, task_id, record_text, strlen(record_text), wire,
                                       wire_len, &why)) == 503 &&
           !atomic_load(&gw->stopping) && jt_backoff_wait(&b))
        jt_log(JT_LOG_INFO, task_id, "storing the job failed (%s); retrying",
               why != NULL ? why : "?");
    if (fail == 503)
        jt_view_bus_failed(gw->view);
    else if (fail == 0)
        jt_view_bus_worked(gw->view);
    if (fail != 0) {
        jt_log(JT_LOG_WARN, task_id, "cannot store the job: %s", why != NULL ? why : "?");
        if (fail == 413)
            jt_http_reply_errorf(req, 413, "payload_too_large", "", NULL,
                                 "the job (%zu bytes encoded) exceeds the broker's max_payload",
                                 wire_len);
        else if (fail == 429)
            jt_http_reply_error(req, 429, "queue_full", NULL, NULL,
                                "the job queue is full; retry later");
        else
            jt_gw_reply_nats_down(req);
        goto out;
    }
    stored = false; /* published: the record stays */
    claimed = false;
    jt_view_job_published(gw->view);
    atomic_fetch_add_explicit(&gw->metrics.submitted, 1, memory_order_relaxed);
    reply_accepted(req, task_id, "queued",
                   estimate_seconds(&job, view.pending_jobs, view.calibrated_workers), false);

out:
    if (stored)
        kvStore_Delete(bus->tasks, task_id);
    if (claimed)
        jt_idem_release(bus->idempotency, &idem);
    json_decref(rec);
    free(record_text);
    free(wire);
    jt_job_cleanup(&job);
}
