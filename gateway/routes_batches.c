/* routes_batches.c -- POST /api/v1/batches and /api/v1/compare; GET, DELETE /api/v1/batches/{id}.
 *
 * Runs on civetweb worker threads. Order of a submission, like a task's (submit.c):
 *   Idempotency-Key well formed (400) -> body (400/413/422; batch_id is the gateway's) ->
 *   callback_url allowed (422) -> NATS up (503) -> Idempotency-Key seen before (202 with the
 *   existing batch for the same body bytes, 422 for other bytes; idempotency.h) -> a calibrated
 * live worker (503) -> queue depth (429) -> claim the Idempotency-Key -> jt_batch_store_submit
 * (batch_state.h: problem, code, record, one gate message per candidate; never a half-queued batch)
 * -> 202. A failed store releases the claimed key, so a retry starts over with a new batch id.
 * Reads: the record (batch_state.h), with the ranking stored at "<id>.result" merged in once
 * the batch completed, the gate records of at most FAILED_DETAILS_MAX failed candidates and,
 * once final, the webhook delivery state as "callback"; any one candidate's state, gate
 * record and ranking entry at /api/v1/batches/{id}/candidates/{candidate_id}. A cancel here
 * queues the batch's "cancelled" webhook: no worker ends a cancelled batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_codec.h"
#include "batch_state.h"
#include "bus_names.h"
#include "callback_url.h"
#include "gateway.h"
#include "idempotency.h"
#include "ids.h"
#include "log.h"
#include "retry.h"
#include "webhook_queue.h"

#define SUBMIT_RETRY_MS 3000       /* waiting for a connection that fails over */
#define BATCH_GET_RETRY_MS 2000    /* a bucket electing a leader, then 503 */
#define IDEMPOTENCY_SCOPE "batch:" /* a batch's key never names a task's */
#define FAILED_DETAILS_MAX 100     /* gate records of failed candidates in one GET */

/* A submission's shape: POST /api/v1/batches or POST /api/v1/compare. */
typedef struct {
    size_t max_body;
    jt_status_t (*parse)(jt_batch_t *b, const char *body, size_t len, jt_error_t *err);
    bool compare;
} shape_t;

static const shape_t batch_shape = {JT_MAX_BATCH_BODY_BYTES, jt_batch_from_json, false};
static const shape_t compare_shape = {JT_MAX_COMPARE_BODY_BYTES, jt_batch_compare_from_json, true};

/* The string member key of o, "" when absent. */
static const char *text_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* ---- submission ------------------------------------------------------------------ */

/* The answer to a body the parser refused: 400 for bad JSON, 413 for a body over a bound,
 * 503 when out of memory, else 422 with the field path. */
static void reply_refused_body(jt_req_t *req, jt_status_t st, const jt_error_t *err)
{
    json_t *d = json_pack("{s:s}", "code", jt_status_name(st));
    bool whole = err->path[0] == '\0';
    if (st == JT_ERR_NOMEM) {
        jt_http_reply_error(req, 503, "out_of_memory", NULL, d,
                            "the gateway ran out of memory parsing this body; retry");
        return;
    }
    int status = 422;
    const char *code = "validation_error";
    if (whole && st == JT_ERR_TOO_LARGE) {
        status = 413;
        code = "payload_too_large";
    } else if (whole && st == JT_ERR_INVALID && strncmp(err->message, "invalid JSON", 12) == 0) {
        status = 400; /* json_body.h: syntax errors, and only they, start so */
        code = "invalid_json";
    }
    jt_http_reply_error(req, status, code, err->path, d, err->message);
}

/* Read and parse the body into *b (initialised); with ikey set, *idem is filled from the
 * header and the body bytes. Returns 0, or -1 after replying. */
static int read_batch_or_reply(jt_req_t *req, const shape_t *shape, jt_batch_t *b, const char *ikey,
                               jt_idem_t *idem)
{
    char *body = NULL;
    size_t len = 0;
    jt_error_t err;
    if (jt_http_read_body_or_reply(req, shape->max_body, &body, &len) != 0)
        return -1;
    jt_status_t st = shape->parse(b, body, len, &err);
    if (ikey != NULL)
        jt_idem_init(idem, IDEMPOTENCY_SCOPE, ikey, body, len);
    free(body);
    if (st == JT_OK && b->batch_id != NULL) {
        jt_batch_cleanup(b);
        st = jt_error_set(&err, JT_ERR_UNKNOWN_FIELD, "batch_id",
                          "batch_id is assigned by the gateway; to make retries safe send an "
                          "Idempotency-Key header");
    }
    if (st == JT_OK)
        return 0;
    reply_refused_body(req, st, &err);
    return -1;
}

/* A callback_url outside JOULETRACE_CALLBACK_ALLOW: 422 at "callback_url", as for tasks. */
static int callback_allowed_or_reply(jt_gw_t *gw, jt_req_t *req, const jt_batch_t *b)
{
    jt_error_t err;
    jt_status_t st = b->callback_url == NULL
                         ? JT_OK
                         : jt_callback_url_check(gw->cfg.callback_allow, b->callback_url, &err);
    if (st == JT_OK)
        return 0;
    jt_http_reply_error(req, 422, "validation_error", "callback_url",
                        json_pack("{s:s}", "code", jt_status_name(st)), err.message);
    return -1;
}

/* A rough guess for clients: every gate spread over the workers, then the measurement,
 * which the budget bounds. */
static double estimate_seconds(const jt_batch_t *b, int64_t pending, int workers)
{
    const jt_job_t *p = &b->problem;
    double n = (double)b->n_candidates;
    double w = workers > 0 ? workers : 1;
    double trial = p->min_trial_seconds > 0.05 ? p->min_trial_seconds : 0.05;
    double gate = (1.0 + 0.05 * (double)p->n_test_cases) * n / w;
    double measure = 2.0 * trial * (double)p->energy_measurement_trials * n + 10.0;
    if (measure > b->max_measurement_seconds)
        measure = b->max_measurement_seconds;
    double ahead = pending > 0 ? (double)pending / w : 0.0;
    return gate + measure + (ahead > 1e6 ? 1e6 : ahead);
}

static void reply_accepted(jt_req_t *req, const char *batch_id, const char *status,
                           const jt_batch_t *b, double eta, bool replay)
{
    char poll[64 + JT_TASK_ID_MAX], events[64 + JT_TASK_ID_MAX], headers[256 + JT_TASK_ID_MAX];
    snprintf(poll, sizeof poll, "/api/v1/batches/%s", batch_id);
    snprintf(events, sizeof events, "/api/v1/batches/%s/events", batch_id);
    snprintf(headers, sizeof headers, "Location: %s\r\n%s", poll,
             replay ? "Idempotent-Replayed: true\r\n" : "");
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "batch_id", batch_id, "request_id", req->request_id,
                  "status", status, "poll_url", poll, "events_url", events);
    if (body != NULL && b != NULL) {
        json_object_set_new(body, "n_candidates", json_integer((json_int_t)b->n_candidates));
        json_object_set_new(body, "estimated_completion_seconds", json_real(eta));
        int ref = jt_batch_reference(b);
        if (ref >= 0)
            json_object_set_new(body, "reference", json_string(b->candidates[ref].candidate_id));
    }
    jt_http_reply_json(req, 202, body, headers);
}

/* 202 for the batch an earlier request with the same Idempotency-Key created. */
static void reply_replay(jt_gw_t *gw, jt_req_t *req, jt_bus_t *bus, const char *batch_id)
{
    json_t *rec = NULL;
    jt_error_t err;
    const char *status = "queued";
    if (jt_batch_record_get(bus, batch_id, &rec, NULL, &err) == JT_OK &&
        text_of(rec, "status")[0] != '\0')
        status = text_of(rec, "status");
    atomic_fetch_add_explicit(&gw->metrics.idempotent_replays, 1, memory_order_relaxed);
    reply_accepted(req, batch_id, status, NULL, 0.0, true);
    json_decref(rec);
}

/* Claim the Idempotency-Key for batch_id: 0, or -1 after replying (202 for the batch of a
 * concurrent request that claimed it first with the same body, 422 for another body, 503
 * when the bucket failed). */
static int claim_key_or_reply(jt_gw_t *gw, jt_req_t *req, jt_bus_t *bus, const jt_idem_t *idem,
                              const char *batch_id)
{
    char other[JT_TASK_ID_MAX + 1];
    jt_idem_found_t found = jt_idem_claim(bus->idempotency, idem, batch_id, other, sizeof other);
    if (found == JT_IDEM_NONE)
        return 0;
    if (found == JT_IDEM_SAME)
        reply_replay(gw, req, bus, other); /* lost the race */
    else
        jt_idem_reply_refused(req, found, other);
    return -1;
}

/* The bus, waiting a little for a connection that fails over; NULL after replying 503. */
static jt_bus_t *bus_or_reply(jt_gw_t *gw, jt_req_t *req, int patience_ms)
{
    const jt_retry_t policy = {.patience_ms = patience_ms};
    jt_backoff_t bo;
    jt_bus_t *bus;
    jt_backoff_init(&bo, &policy);
    while ((bus = jt_view_bus_connected(gw->view)) == NULL && jt_view_bus(gw->view) != NULL &&
           !atomic_load(&gw->stopping) && jt_backoff_wait(&bo))
        ;
    if (bus == NULL)
        jt_gw_reply_nats_down(req);
    return bus;
}

/* 503 without a calibrated live worker, 429 when the queue with the batch's n gates would
 * be over its bound (the stream would refuse gates half way); 0 when the batch may go. */
static int admitted_or_reply(jt_gw_t *gw, jt_req_t *req, size_t n, jt_view_summary_t *view)
{
    jt_view_summary(gw->view, view);
    if (view->calibrated_workers == 0) {
        json_t *d = json_pack("{s:i, s:s}", "live_workers", view->live_workers, "hint",
                              "start a worker with a fresh calibration "
                              "(jouletrace-worker calibrate), or JOULETRACE_METER=estimate");
        jt_http_reply_error(req, 503, "not_calibrated", NULL, d, "Socket 0 not calibrated");
        return -1;
    }
    if (view->pending_jobs + (int64_t)n > gw->cfg.max_pending_jobs) {
        json_t *d = json_pack("{s:I, s:I, s:I}", "pending_jobs", (json_int_t)view->pending_jobs,
                              "batch_candidates", (json_int_t)n, "max_pending_jobs",
                              (json_int_t)gw->cfg.max_pending_jobs);
        jt_http_reply_error(req, 429, "queue_full", NULL, d,
                            "too many jobs are waiting; retry later");
        return -1;
    }
    return 0;
}

static void submit(jt_gw_t *gw, jt_req_t *req, const shape_t *shape)
{
    jt_batch_t b;
    jt_bus_t *bus = NULL;
    char batch_id[JT_TASK_ID_MAX + 1];
    jt_idem_t idem;
    bool claimed = false;
    jt_error_t err;

    const char *ikey = jt_req_header(req, "Idempotency-Key");
    if (ikey != NULL && !jt_ids_valid_idempotency_key(ikey)) {
        jt_http_reply_errorf(req, 400, "invalid_idempotency_key", "Idempotency-Key", NULL,
                             "Idempotency-Key must be 1..%d bytes of printable ASCII",
                             JT_IDEMPOTENCY_KEY_MAX);
        return;
    }
    jt_batch_init(&b);
    if (read_batch_or_reply(req, shape, &b, ikey, &idem) != 0)
        return;
    if (callback_allowed_or_reply(gw, req, &b) != 0 ||
        (bus = bus_or_reply(gw, req, SUBMIT_RETRY_MS)) == NULL)
        goto out;
    if (ikey != NULL) {
        jt_idem_found_t found = jt_idem_lookup(bus->idempotency, &idem, batch_id, sizeof batch_id);
        if (found == JT_IDEM_SAME)
            reply_replay(gw, req, bus, batch_id);
        else if (found != JT_IDEM_NONE)
            jt_idem_reply_refused(req, found, batch_id);
        if (found != JT_IDEM_NONE)
            goto out;
    }
    jt_view_summary_t view;
    if (admitted_or_reply(gw, req, b.n_candidates, &view) != 0)
        goto out;

    jt_ids_task_id(batch_id);
    if (ikey != NULL) {
        if (claim_key_or_reply(gw, req, bus, &idem, batch_id) != 0)
            goto out;
        claimed = true;
    }
    jt_status_t st = jt_batch_store_submit(bus, batch_id, &b, req->request_id, &err);
    if (st != JT_OK) {
        jt_log(JT_LOG_WARN, batch_id, "cannot store the batch: %s", err.message);
        jt_view_bus_failed(gw->view);
        jt_gw_reply_nats_down(req);
        goto out;
    }
    claimed = false; /* the key names a stored batch from now on */
    jt_view_bus_worked(gw->view);
    for (size_t i = 0; i < b.n_candidates; i++)
        jt_view_job_published(gw->view);
    jt_log(JT_LOG_INFO, batch_id, "batch of %zu candidates%s queued", b.n_candidates,
           shape->compare ? " (a comparison)" : "");
    json_t *rec = NULL;
    const char *status = "validating";
    if (jt_batch_record_get(bus, batch_id, &rec, NULL, &err) == JT_OK &&
        text_of(rec, "status")[0] != '\0')
        status = text_of(rec, "status");
    reply_accepted(req, batch_id, status, &b,
                   estimate_seconds(&b, view.pending_jobs, view.calibrated_workers), false);
    json_decref(rec);

out:
    if (claimed)
        jt_idem_release(bus->idempotency, &idem);
    jt_batch_cleanup(&b);
}

void jt_route_batch_submit(jt_gw_t *gw, jt_req_t *req)
{
    submit(gw, req, &batch_shape);
}

void jt_route_compare(jt_gw_t *gw, jt_req_t *req)
{
    submit(gw, req, &compare_shape);
}

/* ---- reads ----------------------------------------------------------------------- */

static void reply_not_found(jt_req_t *req, const char *batch_id)
{
    jt_http_reply_errorf(req, 404, "batch_not_found", "batch_id",
                         json_pack("{s:s}", "batch_id", batch_id),
                         "unknown batch %s (never submitted, or expired)", batch_id);
}

/* The record of batch_id (new reference) and the bus it came from, retried while the bucket
 * elects a leader; NULL after replying 404, 502 or 503. */
static json_t *record_or_reply(jt_gw_t *gw, jt_req_t *req, const char *batch_id, jt_bus_t **busp)
{
    jt_bus_t *bus = *busp = jt_view_bus_connected(gw->view);
    if (bus == NULL) {
        jt_gw_reply_nats_down(req);
        return NULL;
    }
    const jt_retry_t policy = {.patience_ms = BATCH_GET_RETRY_MS};
    jt_backoff_t bo;
    json_t *rec = NULL;
    jt_error_t err;
    jt_status_t st;
    jt_backoff_init(&bo, &policy);
    while ((st = jt_batch_record_get(bus, batch_id, &rec, NULL, &err)) != JT_OK &&
           jt_status_temporary(st) && !atomic_load(&gw->stopping) && jt_backoff_wait(&bo))
        ;
    if (st == JT_OK)
        return rec;
    if (st == JT_ERR_MISSING)
        reply_not_found(req, batch_id);
    else if (st == JT_ERR_PROTOCOL)
        jt_http_reply_error(req, 502, "bad_batch_record", "batch_id", NULL, err.message);
    else
        jt_gw_reply_nats_down(req);
    return NULL;
}


/* Merge the ranking (key "<id>.result") into a completed batch's record. */
static void merge_result(jt_bus_t *bus, const char *batch_id, json_t *rec)
{
    json_t *result = NULL;
    jt_error_t err;
    if (strcmp(text_of(rec, "status"), "completed") != 0)
        return;
    if (jt_batch_json_get(bus, batch_id, "result", 0, &result, &err) == JT_OK)
        json_object_update(rec, result);
    json_decref(result);
}

/* Each failed candidate's gate record as "gate" in its entry, at most
 * FAILED_DETAILS_MAX of them; "details" says how many and where the others are. */
static void add_failed_details(jt_bus_t *bus, const char *batch_id, json_t *rec)
{
    json_t *cands = json_object_get(rec, "candidates");
    size_t i, failed = 0, included = 0;
    json_t *c;
    json_array_foreach(cands, i, c)
    {
        if (strcmp(text_of(c, "state"), "failed") != 0)
            continue;
        failed++;
        json_t *gate = NULL;
        jt_error_t err;
        if (included < FAILED_DETAILS_MAX &&
            jt_batch_json_get(bus, batch_id, "gate", i, &gate, &err) == JT_OK) {
            json_object_set_new(c, "gate", gate);
            included++;
        }
    }
    char more[96 + JT_TASK_ID_MAX];
    snprintf(more, sizeof more, "/api/v1/batches/%s/candidates/{candidate_id}", batch_id);
    json_object_set_new(rec, "details",
                        json_pack("{s:I, s:I, s:i, s:s}", "failed", (json_int_t)failed,
                                  "gate_records", (json_int_t)included, "max_gate_records",
                                  FAILED_DETAILS_MAX, "candidate_url", more));
}

/* ?details=failed (the default) or none; -1 after replying 400 for anything else. */
static int details_wanted_or_reply(jt_req_t *req, bool *wanted)
{
    char value[16];
    const char *q = req->ri->query_string;
    int n = q != NULL ? mg_get_var(q, strlen(q), "details", value, sizeof value) : -1;
    *wanted = n == -1 || (n >= 0 && strcmp(value, "failed") == 0);
    if (n == -1 || (n >= 0 && (strcmp(value, "failed") == 0 || strcmp(value, "none") == 0)))
        return 0;
    jt_http_reply_error(req, 400, "invalid_query", "details", NULL,
                        "details is \"failed\" (the default: the gate records of failed "
                        "candidates) or \"none\"");
    return -1;
}

void jt_route_batch_get(jt_gw_t *gw, jt_req_t *req, const char *batch_id)
{
    bool details;
    if (details_wanted_or_reply(req, &details) != 0)
        return;
    jt_bus_t *bus;
    json_t *rec = record_or_reply(gw, req, batch_id, &bus);
    if (rec == NULL)
        return;
    merge_result(bus, batch_id, rec);
    if (details)
        add_failed_details(bus, batch_id, rec);
    /* A final batch may have a webhook delivery: its state as "callback" (docs/webhooks.md). */
    json_t *hook =
        jt_batch_record_final(rec) ? jt_webhook_state_get(bus, JT_WEBHOOK_KIND_BATCH, batch_id) : NULL;
    if (hook != NULL)
        json_object_set_new(rec, "callback", hook);
    /* The record's request_id is the submitting request's; this one's is in X-Request-Id. */
    jt_http_reply_json(req, 200, rec, NULL);
}

/* The entry of candidate_id in the result's array `list` ("ranking", "failed"), or NULL. */
static json_t *result_entry(const json_t *result, const char *list, const char *candidate_id)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(result, list), i, e)
    {
        if (strcmp(text_of(e, "candidate_id"), candidate_id) == 0)
            return e;
    }
    return NULL;
}

void jt_route_batch_candidate(jt_gw_t *gw, jt_req_t *req, const char *batch_id,
                              const char *candidate_id)
{
    jt_bus_t *bus;
    json_t *rec = record_or_reply(gw, req, batch_id, &bus);
    if (rec == NULL)
        return;
    json_t *cands = json_object_get(rec, "candidates"), *c = NULL;
    size_t index = 0;
    while ((c = json_array_get(cands, index)) != NULL &&
           strcmp(text_of(c, "candidate_id"), candidate_id) != 0)
        index++;
    if (c == NULL) {
        jt_http_reply_errorf(
            req, 404, "candidate_not_found", "candidate_id",
            json_pack("{s:s, s:s}", "batch_id", batch_id, "candidate_id", candidate_id),
            "batch %s has no candidate %s", batch_id, candidate_id);
        json_decref(rec);
        return;
    }
    json_t *gate = NULL, *result = NULL;
    jt_error_t err;
    jt_batch_json_get(bus, batch_id, "gate", index, &gate, &err);
    jt_batch_json_get(bus, batch_id, "result", 0, &result, &err);
    json_t *entry = result_entry(result, "ranking", candidate_id);
    json_t *failure = result_entry(result, "failed", candidate_id);
    json_t *body =
        json_pack("{s:s, s:s, s:I, s:O, s:o, s:O, s:O}", "batch_id", batch_id, "batch_status",
                  text_of(rec, "status"), "index", (json_int_t)index, "candidate", c, "gate",
                  gate != NULL ? gate : json_null(), "ranking", entry != NULL ? entry : json_null(),
                  "failure", failure != NULL ? failure : json_null());
    json_decref(result);
    json_decref(rec);
    jt_http_reply_json(req, 200, body, NULL);
}

/* ---- cancellation ---------------------------------------------------------------- */

static void reply_final(jt_req_t *req, const char *batch_id, const json_t *rec)
{
    const char *status = text_of(rec, "status");
    jt_http_reply_errorf(req, 409, "batch_already_final", "batch_id",
                         json_pack("{s:s, s:s}", "batch_id", batch_id, "status", status),
                         "batch %s already ended (%s); nothing to cancel", batch_id, status);
}

void jt_route_batch_cancel(jt_gw_t *gw, jt_req_t *req, const char *batch_id)
{
    jt_error_t err;
    jt_bus_t *bus;
    json_t *rec = record_or_reply(gw, req, batch_id, &bus);
    if (rec == NULL)
        return;
    if (jt_batch_record_final(rec)) {
        reply_final(req, batch_id, rec);
        json_decref(rec);
        return;
    }
    json_decref(rec);
    rec = NULL;
    if (jt_batch_cancel(bus, batch_id, &rec, &err) != JT_OK) {
        jt_log(JT_LOG_WARN, batch_id, "cannot cancel the batch: %s", err.message);
        if (err.code == JT_ERR_MISSING) /* expired between the two reads */
            reply_not_found(req, batch_id);
        else
            jt_gw_reply_nats_down(req);
        return;
    }
    /* A worker may have finished the batch between the read and the cancel. */
    if (jt_batch_record_final(rec) && strcmp(text_of(rec, "status"), "cancelled") != 0) {
        reply_final(req, batch_id, rec);
        json_decref(rec);
        return;
    }
    /* jt_batch_cancel published the cancelled record and queued its webhook */
    jt_log(JT_LOG_INFO, batch_id, "batch cancelled by request");
    jt_http_reply_json(req, 202, rec, NULL);
}

/* ---- capabilities ---------------------------------------------------------------- */

json_t *jt_gw_batch_capabilities(void)
{
    return json_pack("{s:i, s:I, s:I, s:i, s:[f,f], s:f, s:[f,f], s:f, s:i, s:{s:s, s:s, s:s}}",
                     "max_candidates", (int)JT_MAX_BATCH_CANDIDATES, "max_body_bytes",
                     (json_int_t)JT_MAX_BATCH_BODY_BYTES, "max_compare_body_bytes",
                     (json_int_t)JT_MAX_COMPARE_BODY_BYTES, "max_callback_url_bytes",
                     (int)JT_MAX_CALLBACK_URL_BYTES, "max_measurement_seconds", 0.0,
                     JT_MAX_BATCH_MEASUREMENT_SECONDS, "default_max_measurement_seconds",
                     JT_DEFAULT_BATCH_MEASUREMENT_SECONDS, "target_precision_percent", 0.0, 100.0,
                     "default_target_precision_percent", JT_DEFAULT_TARGET_PRECISION_PERCENT,
                     "max_failed_details", FAILED_DETAILS_MAX, "nats", "batches_subject",
                     JT_SUBJECT_BATCHES, "progress_subject",
                     JT_SUBJECT_BATCH_PROGRESS_PREFIX "<batch_id>", "result_subject",
                     JT_SUBJECT_BATCH_RESULT_PREFIX "<batch_id>");
}

void jt_gw_batch_routes(json_t *routes)
{
    static const char *const list[][2] = {
        {"POST", "/api/v1/batches"},
        {"GET", "/api/v1/batches/{id}"},
        {"DELETE", "/api/v1/batches/{id}"},
        {"GET", "/api/v1/batches/{id}/events"},
        {"GET", "/api/v1/batches/{id}/candidates/{candidate_id}"},
        {"POST", "/api/v1/compare"},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        json_array_append_new(routes,
                              json_pack("{s:s, s:s}", "method", list[i][0], "path", list[i][1]));
}
