/* sse.c -- records as Server-Sent Events until final (sse.h); GET /api/v1/tasks/{id}/events.
 *
 * Runs on the civetweb worker thread of the request, which the stream holds
 * until the record is final, the client leaves (a failed write) or the gateway
 * stops. Order: subscribe to the record's subjects first, then read the KV
 * record, so no update can slip between the two. Events:
 *   id: <1, 2, ...>
 *   event: progress | result      (result = the final record, then the stream ends)
 *   data: <record JSON on one line>
 * A comment line every JT_SSE_HEARTBEAT_SECONDS keeps proxies from closing an
 * idle stream and detects clients that left. Progress travels on core NATS
 * (at most once), so the KV record is re-read whenever the subject was quiet
 * for KV_RECHECK_SECONDS: a lost final message cannot leave a stream open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "bus_names.h"
#include "clock.h"
#include "gateway.h"
#include "json_text.h"
#include "sse.h"
#include "subscription.h"
#include "task_state.h"
#include "unpack.h"
#include "value.h"

#define KV_RECHECK_SECONDS 5.0
#define NEXT_MSG_WAIT_MS 500

typedef struct {
    jt_req_t *req;
    long next_id;
    json_t *last;      /* last record sent (owned) */
    double last_write; /* monotonic seconds */
} stream_t;

static bool record_final(const json_t *rec)
{
    int st = jt_task_status_parse(json_string_value(json_object_get(rec, "status")));
    return st >= 0 && jt_task_status_final((jt_task_status_t)st);
}

/* Whether rec adds nothing to what the client saw: equal to the last record,
 * or older (updated_at, ISO 8601 UTC, compares as text). */
static bool record_stale(const stream_t *s, const json_t *rec)
{
    if (s->last == NULL)
        return false;
    if (json_equal(s->last, rec))
        return true;
    const char *a = json_string_value(json_object_get(s->last, "updated_at"));
    const char *b = json_string_value(json_object_get(rec, "updated_at"));
    return a != NULL && b != NULL && strcmp(b, a) < 0 && !record_final(rec);
}

/* Send rec as the next event (takes a reference). Returns 0, or -1 when the client is gone. */
static int send_record(stream_t *s, json_t *rec)
{
    bool final = record_final(rec);
    char *data = jt_json_dumps(rec, JSON_COMPACT);
    if (data == NULL) {
        json_decref(rec);
        return 0;
    }
    size_t dlen = strlen(data);
    size_t cap = dlen + 96;
    char *ev = malloc(cap);
    int rc = -1;
    if (ev != NULL) {
        int n = snprintf(ev, cap, "id: %ld\nevent: %s\ndata: ", s->next_id,
                         final ? "result" : "progress");
        memcpy(ev + n, data, dlen);
        memcpy(ev + n + dlen, "\n\n", 2);
        rc = mg_send_chunk(s->req->conn, ev, (unsigned)(n + dlen + 2)) > 0 ? 0 : -1;
        free(ev);
    }
    free(data);
    s->next_id++;
    s->last_write = jt_clock_now();
    json_decref(s->last);
    s->last = rec;
    return rc;
}

/* Decode a msgpack progress record; NULL when it is not a JSON object. */
static json_t *decode_record(natsMsg *msg)
{
    msgpack_zone zone;
    msgpack_object obj;
    jt_error_t err;
    json_t *rec = NULL;
    msgpack_zone_init(&zone, 4096);
    if (jt_unpack_value((const uint8_t *)natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
                        &zone, &obj, &err) == JT_OK)
        rec = jt_value_to_json(&obj, &err);
    msgpack_zone_destroy(&zone);
    if (rec != NULL && !json_is_object(rec)) {
        json_decref(rec);
        rec = NULL;
    }
    return rec;
}

static void send_headers(jt_req_t *req)
{
    struct mg_connection *c = req->conn;
    req->status = 200;
    mg_response_header_start(c, 200);
    mg_response_header_add(c, "Content-Type", "text/event-stream", -1);
    mg_response_header_add(c, "Cache-Control", "no-store", -1);
    mg_response_header_add(c, "X-Accel-Buffering", "no", -1);
    mg_response_header_add(c, "X-Request-Id", req->request_id, -1);
    mg_response_header_add(c, "Transfer-Encoding", "chunked", -1);
    if (req->cors_origin != NULL && req->cors_origin[0] != '\0') {
        mg_response_header_add(c, "Access-Control-Allow-Origin", req->cors_origin, -1);
        mg_response_header_add(c, "Vary", "Origin", -1);
    }
    mg_response_header_send(c);
    mg_send_chunk(c, "retry: 3000\n\n", 13);
}

/* Whether msg came on one of the source's subjects. */
static bool subject_taken(const jt_sse_source_t *src, natsMsg *msg)
{
    const char *subject = natsMsg_GetSubject(msg);
    for (int i = 0; i < JT_SSE_MAX_SUBJECTS && src->subjects[i] != NULL; i++) {
        if (subject != NULL && strcmp(subject, src->subjects[i]) == 0)
            return true;
    }
    return false;
}

/* Follow the record until it is final. Returns when the stream should close. */
static void follow(jt_gw_t *gw, stream_t *s, jt_bus_t *bus, natsSubscription *sub,
                   const jt_sse_source_t *src, uint64_t rev)
{
    double quiet_since = jt_clock_now();
    while (!atomic_load(&gw->stopping)) {
        natsMsg *msg = NULL;
        natsStatus ns = natsSubscription_NextMsg(&msg, sub, NEXT_MSG_WAIT_MS);
        if (ns == NATS_OK) {
            json_t *rec = subject_taken(src, msg) ? decode_record(msg) : NULL;
            natsMsg_Destroy(msg);
            quiet_since = jt_clock_now();
            if (rec == NULL || record_stale(s, rec)) {
                json_decref(rec);
                continue;
            }
            bool final = record_final(rec);
            if (send_record(s, rec) != 0 || final)
                return;
            continue;
        }
        if (ns != NATS_TIMEOUT && ns != NATS_SLOW_CONSUMER)
            return; /* subscription or connection closed */
        double now = jt_clock_now();
        if (now - quiet_since >= KV_RECHECK_SECONDS) {
            json_t *rec = NULL;
            uint64_t r = 0;
            quiet_since = now;
            if (src->get(bus, src->id, &rec, &r, NULL) == JT_OK && r != rev) {
                rev = r;
                if (!record_stale(s, rec)) {
                    bool final = record_final(rec);
                    if (send_record(s, rec) != 0 || final)
                        return;
                    rec = NULL;
                }
            }
            json_decref(rec);
        }
        if (now - s->last_write >= JT_SSE_HEARTBEAT_SECONDS) {
            if (mg_send_chunk(s->req->conn, ": heartbeat\n\n", 13) <= 0)
                return;
            s->last_write = now;
        }
    }
}

void jt_sse_stream(jt_gw_t *gw, jt_req_t *req, const jt_sse_source_t *src)
{
    natsSubscription *sub = NULL;
    json_t *rec = NULL;
    uint64_t rev = 0;
    jt_error_t err;
    stream_t s = {req, 1, NULL, 0};

    jt_bus_t *bus = jt_view_bus_connected(gw->view);
    if (bus == NULL) {
        jt_gw_reply_nats_down(req);
        return;
    }
    if (atomic_fetch_add(&gw->sse_open, 1) >= gw->sse_max) {
        atomic_fetch_sub(&gw->sse_open, 1);
        jt_http_reply_errorf(req, 429, "too_many_streams", NULL,
                             json_pack("{s:i}", "max_streams", gw->sse_max),
                             "at most %d event streams may be open at once; poll "
                             "GET /api/v1/%ss/{id} instead",
                             gw->sse_max, src->noun);
        return;
    }
    if (natsConnection_SubscribeSync(&sub, bus->nc, src->pattern) != NATS_OK) {
        jt_gw_reply_nats_down(req);
        goto out;
    }
    natsSubscription_SetPendingLimits(sub, 4096, 256 * 1024 * 1024);
    if (src->get(bus, src->id, &rec, &rev, &err) != JT_OK) {
        char code[48], field[48];
        snprintf(code, sizeof code, "%s_not_found", src->noun);
        snprintf(field, sizeof field, "%s_id", src->noun);
        if (err.code == JT_ERR_MISSING)
            jt_http_reply_errorf(req, 404, code, field, json_pack("{s:s}", field, src->id),
                                 "unknown %s %s (never submitted, or expired)", src->noun, src->id);
        else
            jt_gw_reply_nats_down(req);
        goto out;
    }
    send_headers(req);
    bool final = record_final(rec);
    if (send_record(&s, rec) == 0 && !final)
        follow(gw, &s, bus, sub, src, rev);
    mg_send_chunk(req->conn, "", 0); /* last chunk: the stream ends cleanly */

out:
    json_decref(s.last);
    jt_subscription_retire(bus->nc, sub);
    atomic_fetch_sub(&gw->sse_open, 1);
}

static jt_status_t task_record_get(jt_bus_t *bus, const char *task_id, json_t **record,
                                   uint64_t *rev, jt_error_t *err)
{
    return jt_task_get(bus->tasks, task_id, record, rev, err);
}

void jt_route_task_events(jt_gw_t *gw, jt_req_t *req, const char *task_id)
{
    char subject[256];
    if (!jt_bus_task_subject(subject, sizeof subject, JT_SUBJECT_PROGRESS_PREFIX, task_id)) {
        jt_gw_reply_nats_down(req); /* not reached: the router checked the id */
        return;
    }
    const jt_sse_source_t src = {"task", task_id, subject, {subject, NULL}, task_record_get};
    jt_sse_stream(gw, req, &src);
}
