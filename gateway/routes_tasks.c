/* routes_tasks.c -- GET and DELETE /api/v1/tasks/{id}: task records from KV, cancellation.
 *
 * GET adds the webhook delivery state of a final task as "callback" (webhook_queue.h).
 * Runs on civetweb worker threads. Cancellation follows the pipeline
 * contract: put "1" under the id in JT_KV_CANCELS, publish an empty message
 * on JT_SUBJECT_CANCEL_PREFIX<id>, and when the record is still "queued"
 * compare-and-set it to "cancelled" (the worker then skips the job). A
 * running task is cancelled by its worker, which writes the final record (and queues its
 * webhook); a queued one cancelled here gets its webhook queued here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_names.h"
#include "gateway.h"
#include "log.h"
#include "retry.h"
#include "task_state.h"
#include "webhook_queue.h"

#define TASK_GET_RETRY_MS 2000 /* then 503 with Retry-After */
#include "value.h"

/* Reply for a jt_task_get failure: 404 unknown, else 503. */
static void reply_get_failure(jt_req_t *req, const char *task_id, const jt_error_t *err)
{
    if (err->code == JT_ERR_MISSING)
        jt_http_reply_errorf(req, 404, "task_not_found", "task_id",
                             json_pack("{s:s}", "task_id", task_id),
                             "unknown task %s (never submitted, or expired)", task_id);
    else if (err->code == JT_ERR_PROTOCOL)
        jt_http_reply_error(req, 502, "bad_task_record", "task_id", NULL, err->message);
    else
        jt_gw_reply_nats_down(req);
}

void jt_route_task_get(jt_gw_t *gw, jt_req_t *req, const char *task_id)
{
    json_t *rec = NULL;
    jt_error_t err;
    jt_bus_t *bus = jt_view_bus_connected(gw->view);
    if (bus == NULL) {
        jt_gw_reply_nats_down(req);
        return;
    }
    /* A bucket electing a leader answers "no responders" for a moment: a short retry. */
    const jt_retry_t policy = {.patience_ms = TASK_GET_RETRY_MS};
    jt_backoff_t b;
    jt_backoff_init(&b, &policy);
    jt_status_t st;
    while ((st = jt_task_get(bus->tasks, task_id, &rec, NULL, &err)) != JT_OK &&
           jt_status_temporary(st) && !atomic_load(&gw->stopping) && jt_backoff_wait(&b))
        ;
    if (st != JT_OK) {
        reply_get_failure(req, task_id, &err);
        return;
    }
    /* A final task may have a webhook delivery: its state as "callback" (docs/webhooks.md). */
    int status = jt_task_status_parse(json_string_value(json_object_get(rec, "status")));
    json_t *hook = status >= 0 && jt_task_status_final((jt_task_status_t)status)
                       ? jt_webhook_state_get(bus, JT_WEBHOOK_KIND_TASK, task_id)
                       : NULL;
    if (hook != NULL)
        json_object_set_new(rec, "callback", hook);
    /* The record as stored: its request_id is the submitting request's; this
     * request's id is in the X-Request-Id header. */
    jt_http_reply_json(req, 200, rec, NULL);
}

/* Publish a record (msgpack, as workers do) on prefix<id>; best effort. */
static void publish_record(jt_bus_t *bus, const char *prefix, const char *task_id,
                           const json_t *rec)
{
    char subject[256];
    jt_blob_t mp = {NULL, 0};
    jt_error_t err;
    if (!jt_bus_task_subject(subject, sizeof subject, prefix, task_id))
        return;
    if (jt_value_from_json(rec, "", &mp, &err) != JT_OK)
        return;
    natsConnection_Publish(bus->nc, subject, mp.data, (int)mp.len);
    jt_blob_free(&mp);
}

/* A task cancelled here never reaches a worker's end: its webhook is queued here. */
static void queue_cancel_webhook(jt_bus_t *bus, const char *task_id, const json_t *rec)
{
    jt_error_t err;
    const char *url = json_string_value(json_object_get(rec, "callback_url"));
    if (url != NULL && jt_webhook_enqueue(bus, JT_WEBHOOK_KIND_TASK, task_id,
                                          jt_task_status_name(JT_TASK_CANCELLED), url,
                                          &err) != JT_OK)
        jt_log(JT_LOG_ERROR, task_id, "webhook not queued: %s", err.message);
}

static void reply_cancel(jt_req_t *req, const char *task_id, const char *status)
{
    json_t *body = json_pack("{s:s, s:s}", "task_id", task_id, "status", status);
    jt_http_reply_json(req, 202, body, NULL);
}

static void reply_final(jt_req_t *req, const char *task_id, const char *status)
{
    jt_http_reply_errorf(req, 409, "task_already_final", "task_id",
                         json_pack("{s:s, s:s}", "task_id", task_id, "status", status),
                         "task %s already ended (%s); nothing to cancel", task_id, status);
}

void jt_route_task_cancel(jt_gw_t *gw, jt_req_t *req, const char *task_id)
{
    json_t *rec = NULL;
    uint64_t rev = 0;
    jt_error_t err;
    char subject[256];

    jt_bus_t *bus = jt_view_bus_connected(gw->view);
    if (bus == NULL) {
        jt_gw_reply_nats_down(req);
        return;
    }
    if (jt_task_get(bus->tasks, task_id, &rec, &rev, &err) != JT_OK) {
        reply_get_failure(req, task_id, &err);
        return;
    }
    const char *status = json_string_value(json_object_get(rec, "status"));
    int st = jt_task_status_parse(status);
    if (st >= 0 && jt_task_status_final((jt_task_status_t)st)) {
        reply_final(req, task_id, status);
        json_decref(rec);
        return;
    }

    uint64_t crev;
    if (kvStore_PutString(&crev, bus->cancels, task_id, "1") != NATS_OK) {
        jt_gw_reply_nats_down(req);
        json_decref(rec);
        return;
    }
    if (jt_bus_task_subject(subject, sizeof subject, JT_SUBJECT_CANCEL_PREFIX, task_id))
        natsConnection_Publish(bus->nc, subject, NULL, 0);

    if (st != JT_TASK_QUEUED) {
        reply_cancel(req, task_id, "cancelling"); /* its worker kills it and writes the record */
        json_decref(rec);
        return;
    }
    jt_task_record_set_status(rec, JT_TASK_CANCELLED);
    json_object_set_new(rec, "stage", json_string("cancelled"));
    json_object_set_new(rec, "error_type", json_string("cancelled"));
    json_object_set_new(rec, "error", json_string("cancelled by request before it started"));
    if (jt_task_put(bus->tasks, task_id, rec, rev, NULL, &err) == JT_OK) {
        publish_record(bus, JT_SUBJECT_PROGRESS_PREFIX, task_id, rec);
        publish_record(bus, JT_SUBJECT_RESULT_PREFIX, task_id, rec);
        jt_log(JT_LOG_INFO, task_id, "cancelled while queued");
        queue_cancel_webhook(bus, task_id, rec);
        reply_cancel(req, task_id, "cancelled");
        json_decref(rec);
        return;
    }
    json_decref(rec);
    rec = NULL;
    /* A worker moved the task on meanwhile: it sees the cancel flag itself. */
    if (jt_task_get(bus->tasks, task_id, &rec, NULL, &err) == JT_OK) {
        status = json_string_value(json_object_get(rec, "status"));
        st = jt_task_status_parse(status);
        if (st >= 0 && jt_task_status_final((jt_task_status_t)st) && st != JT_TASK_CANCELLED)
            reply_final(req, task_id, status);
        else
            reply_cancel(req, task_id, st == JT_TASK_CANCELLED ? "cancelled" : "cancelling");
    } else {
        reply_cancel(req, task_id, "cancelling");
    }
    json_decref(rec);
}
