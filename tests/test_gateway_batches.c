/* test_gateway_batches.c -- end-to-end tests of the gateway's batch and compare routes: real
 * nats-server, real gateway, libcurl; the test's own NATS connection plays the worker. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit_main.h"

#include "batch.h"
#include "batch_state.h"
#include "bus_names.h"
#include "gateway_fixture.h"
#include "gateway_http.h"
#include "gateway_worker.h"
#include "job_msgpack.h"
#include "task_state.h"
#include "temp_dir.h"
#include "text_builder.h"
#include "webhook_queue.h"

#define IDEMPOTENCY_KEY_MAX 256 /* gateway/ids.h JT_IDEMPOTENCY_KEY_MAX */
#define BATCHES "/api/v1/batches"
#define COMPARE "/api/v1/compare"
#define PROBLEM                                                                                    \
    "\"function_name\":\"solve\",\"test_cases\":[{\"inputs\":[2],\"expected_output\":4}],"         \
    "\"energy_measurement_trials\":3"
#define SQUARE "def solve(x):\\n  return x * x\\n"
#define CAND(id, code) "{\"candidate_id\":\"" id "\",\"candidate_code\":\"" code "\"}"
/* Three candidates and a reference: four gates. */
#define GOOD_BATCH                                                                                 \
    "{" PROBLEM ",\"problem_name\":\"square\",\"candidates\":[" CAND("c0", SQUARE) "," CAND(       \
        "c1",                                                                                      \
        "def "                                                                                     \
        "solve(x):"                                                                                \
        "\\n  "                                                                                    \
        "return x "                                                                                \
        "** 2\\n") "," CAND("c2",                                                                  \
                            "def solve(x):\\n  return x\\n") "],\"reference\":" CAND("ref",        \
                                                                                     "def "        \
                                                                                     "solve(x):"   \
                                                                                     "\\n  "       \
                                                                                     "return "     \
                                                                                     "x*x\\n") "}"
#define GOOD_COMPARE                                                                               \
    "{" PROBLEM ",\"a\":{\"candidate_code\":\"" SQUARE "\"},\"b\":{\"candidate_id\":\"pow\","      \
    "\"candidate_code\":\"def solve(x):\\n  return pow(x, "                                        \
    "2)\\n\"},\"max_measurement_seconds\":60}"

/* ---- helpers ------------------------------------------------------------------------------ */

/* POST body to path until the view has seen a heartbeat: 202 (or fail after 5 s). */
static void post_ok(fx_t *fx, const char *path, const char *body, const char *const *hdrs,
                    jt_curl_resp_t *r)
{
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "POST", path, body, -1, hdrs, r), 0);
        if (r->status != 503 || jt_nats_now() > deadline)
            break;
        jt_curl_resp_free(r);
        jt_nats_sleep_ms(50);
    }
    if (r->status != 202)
        fail_msg("POST %s gave %ld: %s", path, r->status, r->body);
}

/* How many messages the jobs stream holds, and how many of them are gates. */
static uint64_t stream_msgs(fx_t *fx, uint64_t *gates)
{
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, fx->bus.js, JT_STREAM_JOBS, NULL, NULL), NATS_OK);
    uint64_t n = si->State.Msgs, first = si->State.FirstSeq, last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    *gates = 0;
    for (uint64_t seq = first; n > 0 && seq <= last; seq++) {
        natsMsg *m = NULL;
        if (js_GetMsg(&m, fx->bus.js, JT_STREAM_JOBS, seq, NULL, NULL) != NATS_OK)
            continue;
        *gates += strcmp(natsMsg_GetSubject(m), JT_SUBJECT_BATCH_GATE) == 0;
        natsMsg_Destroy(m);
    }
    return n;
}

/* The bytes stored under key in the batches bucket ("" when absent), malloc'd. */
static char *kv_text(fx_t *fx, const char *key, size_t *len)
{
    kvEntry *e = NULL;
    if (kvStore_Get(&e, fx->bus.batches, key) != NATS_OK) {
        *len = 0;
        return strdup("");
    }
    *len = (size_t)kvEntry_ValueLen(e);
    char *s = malloc(*len + 1);
    memcpy(s, kvEntry_Value(e), *len);
    s[*len] = '\0';
    kvEntry_Destroy(e);
    return s;
}

/* GET the path formatted from fmt: its JSON body (new reference) when the status is want. */
static json_t *get_json(fx_t *fx, long want_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *get_json(fx_t *fx, long want_status, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    jt_curl_resp_t r;
    assert_int_equal(http(fx, "GET", path, NULL, 0, NULL, &r), 0);
    if (r.status != want_status)
        fail_msg("GET %s gave %ld: %s", path, r.status, r.body);
    json_t *j = json_incref(r.json);
    jt_curl_resp_free(&r);
    return j;
}

/* ---- submission --------------------------------------------------------------------------- */

static void submit_queues_every_gate(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    char path[160], key[192];
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_ok(fx, BATCHES, GOOD_BATCH, NULL, &r);
    const char *id = jstr(r.json, "batch_id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    assert_string_equal(jstr(r.json, "status"), "validating");
    assert_int_equal(json_integer_value(json_object_get(r.json, "n_candidates")), 4);
    assert_string_equal(jstr(r.json, "reference"), "ref");
    assert_non_null(jstr(r.json, "request_id"));
    snprintf(path, sizeof path, BATCHES "/%s", id);
    assert_string_equal(jstr(r.json, "poll_url"), path);
    assert_non_null(strstr(jstr(r.json, "events_url"), "/events"));
    assert_true(json_is_number(json_object_get(r.json, "estimated_completion_seconds")));
    assert_non_null(strcasestr(r.headers, "\nLocation: /api/v1/batches/"));

    /* One gate message per candidate, deduplicated by its id, and nothing else. */
    uint64_t gates;
    assert_int_equal(stream_msgs(fx, &gates), 4);
    assert_int_equal(gates, 4);
    natsMsg *m = NULL;
    const char *msgid = NULL;
    assert_int_equal(js_GetMsg(&m, fx->bus.js, JT_STREAM_JOBS, 1, NULL, NULL), NATS_OK);
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Msg-Id", &msgid), NATS_OK);
    snprintf(key, sizeof key, "%s.gate.0", id);
    assert_string_equal(msgid, key);
    natsMsg_Destroy(m);

    /* The problem (a job without code) and every candidate's code, the reference last. */
    size_t len;
    snprintf(key, sizeof key, "%s.problem", id);
    char *problem = kv_text(fx, key, &len);
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    assert_int_equal(jt_job_from_msgpack(&job, (const uint8_t *)problem, len, &err), JT_OK);
    assert_string_equal(job.candidate_code, "");
    assert_int_equal(job.energy_measurement_trials, 3);
    jt_job_cleanup(&job);
    free(problem);
    snprintf(key, sizeof key, "%s.code.3", id);
    char *code = kv_text(fx, key, &len);
    assert_string_equal(code, "def solve(x):\n  return x*x\n");
    free(code);

    /* The record: validating, four candidates queued, the submitting request's id. */
    json_t *g = get_json(fx, 200, "%s", path);
    assert_string_equal(jstr(g, "batch_id"), id);
    assert_string_equal(jstr(g, "status"), "validating");
    assert_string_equal(jstr(g, "request_id"), jstr(r.json, "request_id"));
    assert_string_equal(jstr(g, "problem_name"), "square");
    assert_int_equal(json_integer_value(json_object_get(g, "n_candidates")), 4);
    json_t *cands = json_object_get(g, "candidates");
    assert_int_equal(json_array_size(cands), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(jstr(json_array_get(cands, i), "state"), "queued");
    assert_string_equal(jstr(json_array_get(cands, 3), "candidate_id"), "ref");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(g, "counts"), "queued")),
                     4);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(g, "details"), "failed")),
                     0);
    json_decref(g);
    jt_curl_resp_free(&r);
}

static void not_calibrated(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    uint64_t gates;
    assert_int_equal(http(fx, "POST", BATCHES, GOOD_BATCH, -1, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    check_envelope(&r, "not_calibrated", NULL);
    jt_curl_resp_free(&r);
    assert_int_equal(stream_msgs(fx, &gates), 0);
}

static void idempotency(void **state)
{
    fx_t *fx = *state;
    const char *hdrs[] = {"Idempotency-Key: rank-run-7", NULL};
    jt_curl_resp_t a, b, t;
    uint64_t gates;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_ok(fx, BATCHES, GOOD_BATCH, hdrs, &a);
    assert_int_equal(http(fx, "POST", BATCHES, GOOD_BATCH, -1, hdrs, &b), 0);
    assert_int_equal(b.status, 202);
    assert_string_equal(jstr(a.json, "batch_id"), jstr(b.json, "batch_id"));
    assert_string_equal(jstr(b.json, "status"), "validating");
    assert_non_null(strcasestr(b.headers, "Idempotent-Replayed: true"));
    assert_int_equal(stream_msgs(fx, &gates), 4);
    /* The same key on a task names another thing: a new task, not the batch. */
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, hdrs, &t), 0);
    assert_int_equal(t.status, 202);
    assert_null(strcasestr(t.headers, "Idempotent-Replayed"));
    assert_string_not_equal(jstr(t.json, "task_id"), jstr(a.json, "batch_id"));
    assert_int_equal(stream_msgs(fx, &gates), 5);
    /* The batch's key with another body (here a comparison): 422, no gate published. */
    jt_curl_resp_t c;
    assert_int_equal(http(fx, "POST", COMPARE, GOOD_COMPARE, -1, hdrs, &c), 0);
    check_key_reused(&c, jstr(a.json, "batch_id"));
    assert_int_equal(stream_msgs(fx, &gates), 5);
    jt_curl_resp_free(&c);
    jt_curl_resp_free(&a);
    jt_curl_resp_free(&b);
    jt_curl_resp_free(&t);
}

/* Every refusal: its status, error code and field path; nothing reaches the stream. */
static void refusals(void **state)
{
    fx_t *fx = *state;
    static char long_key[320];
    static const char *const bad_key[] = {long_key, NULL};
    static const struct {
        const char *path, *body;
        const char *const *hdrs;
        long status;
        const char *error, *field;
    } rows[] = {
        {BATCHES, "{\"candidates\":", NULL, 400, "invalid_json", ""},
        {BATCHES, "[1]", NULL, 422, "validation_error", ""},
        {BATCHES, "{" PROBLEM ",\"candidates\":[]}", NULL, 422, "validation_error", "candidates"},
        {BATCHES, "{" PROBLEM "}", NULL, 422, "validation_error", "candidates"},
        {BATCHES, "{" PROBLEM ",\"candidates\":[" CAND("x", "") "," CAND("x", "") "]}", NULL, 422,
         "validation_error", "candidates[1].candidate_id"},
        {BATCHES,
         "{" PROBLEM ",\"candidates\":[" CAND("x", "") "],\"reference\":" CAND("x", "") "}", NULL,
         422, "validation_error", "reference.candidate_id"},
        {BATCHES, "{" PROBLEM ",\"candidates\":[{\"candidate_id\":\"x\"}]}", NULL, 422,
         "validation_error", "candidates[0].candidate_code"},
        {BATCHES, "{" PROBLEM ",\"candidates\":[" CAND("a b", "") "]}", NULL, 422,
         "validation_error", "candidates[0].candidate_id"},
        {BATCHES, "{" PROBLEM ",\"task_id\":\"t\",\"candidates\":[" CAND("x", "") "]}", NULL, 422,
         "validation_error", "task_id"},
        {BATCHES, "{" PROBLEM ",\"candidate_code\":\"\",\"candidates\":[" CAND("x", "") "]}", NULL,
         422, "validation_error", "candidate_code"},
        {BATCHES, "{" PROBLEM ",\"batch_id\":\"mine\",\"candidates\":[" CAND("x", "") "]}", NULL,
         422, "validation_error", "batch_id"},
        {BATCHES, "{\"test_cases\":[{\"inputs\":[1]}],\"candidates\":[" CAND("x", "") "]}", NULL,
         422, "validation_error", "test_cases[0].expected_output"},
        {BATCHES,
         "{\"test_cases\":[{\"test_id\":\"t2\",\"inputs\":[1],\"expected_output\":1},{\"inputs\":["
         "2],"
         "\"expected_output\":4}],\"candidates\":[" CAND("x", "") "]}",
         NULL, 422, "validation_error", "test_cases[1].test_id"},
        {BATCHES, "{" PROBLEM ",\"candidates\":[" CAND("x", "") "],\"colour\":1}", NULL, 422,
         "validation_error", "colour"},
        {BATCHES, "{" PROBLEM ",\"candidates\":[" CAND("x", "") "],\"max_measurement_seconds\":0}",
         NULL, 422, "validation_error", "max_measurement_seconds"},
        {BATCHES,
         "{" PROBLEM ",\"candidates\":[" CAND("x", "") "],\"target_precision_percent\":101}", NULL,
         422, "validation_error", "target_precision_percent"},
        {BATCHES, "{" PROBLEM ",\"candidates\":[" CAND("x", "") "],\"callback_url\":\"ftp://h/\"}",
         NULL, 422, "validation_error", "callback_url"},
        /* Well formed, but no JOULETRACE_CALLBACK_ALLOW allows it. */
        {BATCHES,
         "{" PROBLEM ",\"candidates\":[" CAND("x", "") "],\"callback_url\":\"http://127.0.0.1/h\"}",
         NULL, 422, "validation_error", "callback_url"},
        {BATCHES, "{" PROBLEM ",\"candidates\":[" CAND("x", "") "]}", bad_key, 400,
         "invalid_idempotency_key", "Idempotency-Key"},
        {COMPARE, "{" PROBLEM ",\"a\":{\"candidate_code\":\"\"}}", NULL, 422, "validation_error",
         "b"},
        {COMPARE, "{" PROBLEM ",\"a\":{},\"b\":{\"candidate_code\":\"\"}}", NULL, 422,
         "validation_error", "a.candidate_code"},
        {COMPARE,
         "{" PROBLEM ",\"candidates\":[],\"a\":{\"candidate_code\":\"\"},"
         "\"b\":{\"candidate_code\":\"\"}}",
         NULL, 422, "validation_error", "candidates"},
        {BATCHES "/bad%20id", NULL, NULL, 400, "invalid_batch_id", "batch_id"},
        {BATCHES "/nosuchbatch", NULL, NULL, 404, "batch_not_found", "batch_id"},
        {BATCHES "/nosuchbatch/events", NULL, NULL, 404, "batch_not_found", "batch_id"},
        {BATCHES "/nosuchbatch/candidates/c0", NULL, NULL, 404, "batch_not_found", "batch_id"},
        {BATCHES "/b1/candidates/c%2F0", NULL, NULL, 400, "invalid_candidate_id", "candidate_id"},
        {BATCHES "/b1/nope", NULL, NULL, 404, "not_found", NULL},
    };
    snprintf(long_key, sizeof long_key, "Idempotency-Key: %0*d", IDEMPOTENCY_KEY_MAX + 1, 7);
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    jt_curl_resp_t r;
    post_ok(fx, MEASURE, GOOD_JOB, NULL, &r); /* the view has seen the worker */
    jt_curl_resp_free(&r);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *method = rows[i].body != NULL ? "POST" : "GET";
        assert_int_equal(http(fx, method, rows[i].path, rows[i].body, -1, rows[i].hdrs, &r), 0);
        if (r.status != rows[i].status)
            fail_msg("row %zu: %s %s gave %ld: %s", i, method, rows[i].path, r.status, r.body);
        check_envelope(&r, rows[i].error, rows[i].field);
        jt_curl_resp_free(&r);
    }
    /* Only JSON bodies are read (the door's rule holds for the new routes). */
    static const char text_plain[] = "POST " COMPARE " HTTP/1.1\r\nHost: t\r\n"
                                     "Content-Type: text/plain\r\nContent-Length: 2\r\n"
                                     "Connection: close\r\n\r\n{}";
    char out[4096];
    assert_int_equal(raw_http(fx, text_plain, sizeof text_plain - 1, out, sizeof out), 415);
    assert_non_null(strstr(out, "\"unsupported_media_type\""));
    /* Methods: PUT is no batch method; events take GET only. */
    assert_int_equal(http(fx, "PUT", BATCHES "/b1", "{}", -1, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    assert_non_null(strcasestr(r.headers, "Allow: GET, HEAD, DELETE"));
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "DELETE", BATCHES "/b1/events", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "GET", BATCHES, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    jt_curl_resp_free(&r);
    uint64_t gates;
    assert_int_equal(stream_msgs(fx, &gates), 1); /* the one task */
    assert_int_equal(gates, 0);
}

/* A batch body may exceed a job's 4 MiB, up to 64 MiB; a compare body only 4.5 MiB. */
static void body_bounds(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    char req[512], out[4096];
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    /* 24 candidates of 200 KiB: 4.7 MiB. */
    text_t t = {0};
    char *code = malloc(200 * 1024 + 1);
    memset(code, '#', 200 * 1024);
    code[200 * 1024] = '\0';
    text_cat(&t, "{" PROBLEM ",\"candidates\":[");
    for (int i = 0; i < 24; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s{\"candidate_id\":\"c%d\",\"candidate_code\":\"",
                 i ? "," : "", i);
        text_cat(&t, head);
        text_cat(&t, code);
        text_cat(&t, "\"}");
    }
    text_cat(&t, "]}");
    free(code);
    assert_true(t.len > JT_MAX_BODY_BYTES);
    post_ok(fx, BATCHES, t.p, NULL, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "n_candidates")), 24);
    jt_curl_resp_free(&r);
    /* The same bytes on the task route: 413 (the larger bound is the batch route's alone). */
    assert_int_equal(http(fx, "POST", MEASURE, t.p, (long)t.len, NULL, &r), 0);
    assert_int_equal(r.status, 413);
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "POST", COMPARE, t.p, (long)t.len, NULL, &r), 0);
    assert_int_equal(r.status, 413);
    check_envelope(&r, "payload_too_large", "");
    jt_curl_resp_free(&r);
    free(t.p);
    /* Announced over 64 MiB: refused before a byte of the body is read. */
    int n = snprintf(req, sizeof req,
                     "POST " BATCHES " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     "Content-Length: %u\r\nConnection: close\r\n\r\n",
                     JT_MAX_BATCH_BODY_BYTES + 1);
    assert_int_equal(raw_http(fx, req, (size_t)n, out, sizeof out), 413);
    assert_non_null(strstr(out, "\"payload_too_large\""));
    assert_non_null(strstr(out, "(64 MiB)"));
    uint64_t gates;
    assert_int_equal(stream_msgs(fx, &gates), 24);
}

static void queue_full(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    uint64_t gates;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_ok(fx, BATCHES, GOOD_BATCH, NULL, &r); /* pending 0 -> 4 of 5: fits */
    jt_curl_resp_free(&r);
    /* 4 waiting + 4 gates, and 4 + 2, are over 5: refused whole, not half queued */
    assert_int_equal(http(fx, "POST", BATCHES, GOOD_BATCH, -1, NULL, &r), 0);
    assert_int_equal(r.status, 429);
    check_envelope(&r, "queue_full", NULL);
    /* when to come back: the header and the envelope */
    assert_non_null(strcasestr(r.headers, "Retry-After: 1\r\n"));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "details"), "retry_after_seconds")),
        1);
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "POST", COMPARE, GOOD_COMPARE, -1, NULL, &r), 0);
    assert_int_equal(r.status, 429);
    jt_curl_resp_free(&r);
    assert_int_equal(stream_msgs(fx, &gates), 4);
}

static void compare_is_a_batch_of_two(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    char key[192];
    uint64_t gates;
    put_heartbeat(fx, "w1", true, "estimate");
    post_ok(fx, COMPARE, GOOD_COMPARE, NULL, &r);
    const char *id = jstr(r.json, "batch_id");
    assert_int_equal(json_integer_value(json_object_get(r.json, "n_candidates")), 2);
    assert_string_equal(jstr(r.json, "reference"), "a");
    assert_non_null(strstr(jstr(r.json, "poll_url"), "/api/v1/batches/"));
    assert_int_equal(stream_msgs(fx, &gates), 2);
    assert_int_equal(gates, 2);
    json_t *g = get_json(fx, 200, BATCHES "/%s", id);
    assert_string_equal(jstr(g, "reference"), "a");
    assert_true(json_real_value(json_object_get(g, "max_measurement_seconds")) == 60.0);
    json_t *cands = json_object_get(g, "candidates");
    assert_string_equal(jstr(json_array_get(cands, 0), "candidate_id"), "pow");
    assert_string_equal(jstr(json_array_get(cands, 1), "candidate_id"), "a");
    json_decref(g);
    size_t len;
    snprintf(key, sizeof key, "%s.code.1", id); /* A, the reference, is the last one */
    char *code = kv_text(fx, key, &len);
    assert_string_equal(code, "def solve(x):\n  return x * x\n");
    free(code);
    jt_curl_resp_free(&r);
}

/* A callback_url the allowlist names is taken and kept in the record. */
static void callback_allowed(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_ok(fx, BATCHES,
            "{" PROBLEM
            ",\"candidates\":[" CAND("x", "") "],"
                                              "\"callback_url\":\"http://127.0.0.1:9/hooks/jt\"}",
            NULL, &r);
    char id[64], path[160];
    snprintf(id, sizeof id, "%s", jstr(r.json, "batch_id"));
    jt_curl_resp_free(&r);
    json_t *g = get_json(fx, 200, BATCHES "/%s", id);
    assert_string_equal(jstr(g, "callback_url"), "http://127.0.0.1:9/hooks/jt");
    assert_null(json_object_get(g, "callback")); /* no delivery before the end */
    json_decref(g);
    /* Cancelled by the gateway: no worker ends the batch, so its webhook is queued here. */
    snprintf(path, sizeof path, BATCHES "/%s", id);
    assert_int_equal(http(fx, "DELETE", path, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 202);
    jt_curl_resp_free(&r);
    json_t *hook = jt_webhook_state_get(&fx->bus, JT_WEBHOOK_KIND_BATCH, id);
    assert_non_null(hook);
    assert_string_equal(jstr(hook, "event"), "cancelled");
    assert_string_equal(jstr(hook, "url"), "http://127.0.0.1:9/hooks/jt");
    json_decref(hook);
    g = get_json(fx, 200, "%s", path);
    assert_string_equal(jstr(json_object_get(g, "callback"), "event"), "cancelled");
    json_decref(g);
    assert_int_equal(http(fx, "POST", BATCHES,
                          "{" PROBLEM ",\"candidates\":[" CAND(
                              "x", "") "],"
                                       "\"callback_url\":\"http://127.0.0.1:10/hooks/jt\"}",
                          -1, NULL, &r),
                     0);
    assert_int_equal(r.status, 422);
    check_envelope(&r, "validation_error", "callback_url");
    jt_curl_resp_free(&r);
}

/* ---- reads and cancellation --------------------------------------------------------------- */

static void cancel(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r, d;
    char path[160], key[192];
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_ok(fx, BATCHES, GOOD_BATCH, NULL, &r);
    const char *id = jstr(r.json, "batch_id");
    snprintf(path, sizeof path, BATCHES "/%s", id);
    assert_int_equal(http(fx, "DELETE", path, NULL, 0, NULL, &d), 0);
    assert_int_equal(d.status, 202);
    assert_string_equal(jstr(d.json, "batch_id"), id);
    assert_string_equal(jstr(d.json, "status"), "cancelled");
    jt_curl_resp_free(&d);
    json_t *g = get_json(fx, 200, "%s", path);
    assert_string_equal(jstr(g, "status"), "cancelled");
    assert_null(json_object_get(g, "callback")); /* none asked for */
    json_decref(g);
    kvEntry *e = NULL;
    snprintf(key, sizeof key, "batch.%s", id);
    assert_int_equal(kvStore_Get(&e, fx->bus.cancels, key), NATS_OK);
    assert_string_equal(kvEntry_ValueString(e), "1");
    kvEntry_Destroy(e);
    assert_int_equal(http(fx, "DELETE", path, NULL, 0, NULL, &d), 0);
    assert_int_equal(d.status, 409);
    check_envelope(&d, "batch_already_final", "batch_id");
    jt_curl_resp_free(&d);
    assert_int_equal(http(fx, "DELETE", BATCHES "/nosuchbatch", NULL, 0, NULL, &d), 0);
    assert_int_equal(d.status, 404);
    jt_curl_resp_free(&d);
    jt_curl_resp_free(&r);
}

/* What a worker leaves behind: c2 failed its gate, the others ranked, the batch completed. */
static int finish_batch(json_t *rec, void *ctx)
{
    (void)ctx;
    json_t *cands = json_object_get(rec, "candidates");
    for (size_t i = 0; i < json_array_size(cands); i++)
        json_object_set_new(json_array_get(cands, i), "state",
                            json_string(i == 2 ? "failed" : "correct"));
    json_object_set_new(rec, "status", json_string("completed"));
    return 1;
}

static void completed_with_details(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    char path[256];
    jt_error_t err;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_ok(fx, BATCHES, GOOD_BATCH, NULL, &r);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(r.json, "batch_id"));
    jt_curl_resp_free(&r);
    json_t *gate = json_pack("{s:{s:b, s:i, s:i}, s:[{s:s, s:b}]}", "validation", "is_correct", 0,
                             "passed_tests", 0, "total_tests", 1, "test_results", "test_id", "t1",
                             "passed", 0);
    assert_int_equal(jt_batch_json_put(&fx->bus, id, "gate", 2, gate, false, &err), JT_OK);
    json_t *result =
        json_pack("{s:[{s:s, s:s}], s:[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}], "
                  "s:{s:s}}",
                  "failed", "candidate_id", "c2", "stage", "validation", "ranking", "candidate_id",
                  "c0", "rank", 1, "candidate_id", "ref", "rank", 1, "candidate_id", "c1", "rank",
                  3, "method", "stop_reason", "separated");
    assert_int_equal(jt_batch_json_put(&fx->bus, id, "result", 0, result, false, &err), JT_OK);
    assert_int_equal(jt_batch_record_update(&fx->bus, id, finish_batch, NULL, NULL, &err), JT_OK);

    json_t *g = get_json(fx, 200, BATCHES "/%s", id);
    assert_string_equal(jstr(g, "status"), "completed");
    assert_true(json_equal(json_object_get(g, "ranking"), json_object_get(result, "ranking")));
    assert_true(json_equal(json_object_get(g, "failed"), json_object_get(result, "failed")));
    assert_string_equal(jstr(json_object_get(g, "method"), "stop_reason"), "separated");
    json_t *cands = json_object_get(g, "candidates");
    assert_true(json_equal(json_object_get(json_array_get(cands, 2), "gate"), gate));
    assert_null(json_object_get(json_array_get(cands, 0), "gate"));
    json_t *details = json_object_get(g, "details");
    assert_int_equal(json_integer_value(json_object_get(details, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(details, "gate_records")), 1);
    json_decref(g);
    g = get_json(fx, 200, BATCHES "/%s?details=none", id);
    assert_null(json_object_get(json_array_get(json_object_get(g, "candidates"), 2), "gate"));
    assert_null(json_object_get(g, "details"));
    json_decref(g);
    g = get_json(fx, 400, BATCHES "/%s?details=all", id);
    assert_string_equal(jstr(g, "error"), "invalid_query");
    json_decref(g);

    /* One candidate: its state, gate record and ranking entry. */
    g = get_json(fx, 200, BATCHES "/%s/candidates/c2", id);
    assert_string_equal(jstr(g, "batch_status"), "completed");
    assert_int_equal(json_integer_value(json_object_get(g, "index")), 2);
    assert_string_equal(jstr(json_object_get(g, "candidate"), "state"), "failed");
    assert_true(json_equal(json_object_get(g, "gate"), gate));
    assert_true(json_is_null(json_object_get(g, "ranking")));
    assert_string_equal(jstr(json_object_get(g, "failure"), "stage"), "validation");
    json_decref(g);
    g = get_json(fx, 200, BATCHES "/%s/candidates/ref", id);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(g, "ranking"), "rank")), 1);
    assert_true(json_is_null(json_object_get(g, "gate")));
    assert_true(json_is_null(json_object_get(g, "failure")));
    json_decref(g);
    g = get_json(fx, 404, BATCHES "/%s/candidates/nobody", id);
    assert_string_equal(jstr(g, "error"), "candidate_not_found");
    json_decref(g);
    /* A completed batch cannot be cancelled. */
    snprintf(path, sizeof path, BATCHES "/%s", id);
    assert_int_equal(http(fx, "DELETE", path, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 409);
    jt_curl_resp_free(&r);
    json_decref(gate);
    json_decref(result);
}

/* Read from fd into acc[*len..cap) until needle appears (true) or secs pass (false). */
static bool await_text(int fd, char *acc, size_t cap, size_t *len, const char *needle, double secs)
{
    double deadline = jt_nats_now() + secs;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (strstr(acc, needle) == NULL && *len + 1 < cap && jt_nats_now() < deadline) {
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = recv(fd, acc + *len, cap - 1 - *len, 0);
        if (k <= 0)
            break;
        *len += (size_t)k;
        acc[*len] = '\0';
    }
    return strstr(acc, needle) != NULL;
}

static void events_stream(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    char req[256];
    static char acc[65536];
    size_t len = 0;
    jt_error_t err;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_ok(fx, BATCHES, GOOD_BATCH, NULL, &r);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(r.json, "batch_id"));
    jt_curl_resp_free(&r);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    int n = snprintf(req, sizeof req, "GET " BATCHES "/%s/events HTTP/1.1\r\nHost: t\r\n\r\n", id);
    assert_int_equal(write(fd, req, (size_t)n), n);
    acc[0] = '\0';
    /* First the stored record. */
    assert_true(await_text(fd, acc, sizeof acc, &len, "\"status\":\"validating\"", 5.0));
    assert_non_null(strstr(acc, "text/event-stream"));
    assert_non_null(strstr(acc, "id: 1\nevent: progress\ndata: {"));
    assert_non_null(strstr(acc, id));

    /* A progress record, as a worker publishes it. */
    json_t *rec = NULL;
    assert_int_equal(jt_batch_record_get(&fx->bus, id, &rec, NULL, &err), JT_OK);
    json_object_set_new(rec, "status", json_string("measuring"));
    json_object_set_new(rec, "updated_at", json_string("2999-01-01T00:00:00Z"));
    json_object_set_new(rec, "blocks", json_integer(3));
    publish_record(fx, JT_SUBJECT_BATCH_PROGRESS_PREFIX, id, rec);
    assert_true(await_text(fd, acc, sizeof acc, &len, "\"status\":\"measuring\"", 5.0));
    assert_non_null(strstr(acc, "id: 2\nevent: progress\n"));
    assert_non_null(strstr(acc, "\"blocks\":3"));
    /* Records of another batch, or on another subject of this one, are not this stream's. */
    json_object_set_new(rec, "status", json_string("failed"));
    publish_record(fx, JT_SUBJECT_BATCH_RESULT_PREFIX, "another-batch", rec);
    publish_record(fx, "jouletrace.batch.elsewhere.", id, rec);
    /* The final record on the result subject ends the stream. */
    json_object_set_new(rec, "status", json_string("completed"));
    json_object_set_new(rec, "updated_at", json_string("2999-01-01T00:00:01Z"));
    publish_record(fx, JT_SUBJECT_BATCH_RESULT_PREFIX, id, rec);
    assert_true(await_text(fd, acc, sizeof acc, &len, "\r\n0\r\n\r\n", 5.0));
    assert_non_null(strstr(acc, "id: 3\nevent: result\n"));
    assert_non_null(strstr(acc, "\"status\":\"completed\""));
    assert_null(strstr(acc, "\"status\":\"failed\""));
    assert_null(strstr(acc, "id: 4\n"));
    json_decref(rec);
    close(fd);
}

static void capabilities(void **state)
{
    fx_t *fx = *state;
    json_t *c = get_json(fx, 200, "/api/v1/capabilities");
    json_t *b = json_object_get(c, "batches");
    assert_int_equal(json_integer_value(json_object_get(b, "max_candidates")),
                     JT_MAX_BATCH_CANDIDATES);
    assert_int_equal(json_integer_value(json_object_get(b, "max_body_bytes")),
                     JT_MAX_BATCH_BODY_BYTES);
    assert_string_equal(jstr(json_object_get(b, "nats"), "batches_subject"), JT_SUBJECT_BATCHES);
    int found = 0;
    size_t i;
    json_t *route;
    json_array_foreach(json_object_get(c, "routes"), i, route)
    {
        found +=
            strcmp(jstr(route, "path"), BATCHES) == 0 || strcmp(jstr(route, "path"), COMPARE) == 0;
    }
    assert_int_equal(found, 2);
    json_decref(c);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static int setup_small_queue(void **state)
{
    static const char *const extra[] = {"JOULETRACE_MAX_PENDING_JOBS=5", NULL};
    return gateway_setup_with(state, extra);
}

static char secret_dir[128];

/* Callbacks to 127.0.0.1:9/hooks allowed, signed with a secret file of mode 600. */
static int setup_callbacks(void **state)
{
    static char secret_setting[256];
    static const char *extra[] = {"JOULETRACE_CALLBACK_ALLOW=http://127.0.0.1:9/hooks",
                                  secret_setting, NULL};
    if (jt_temp_dir_make(secret_dir, sizeof secret_dir, "jt-batches") != 0)
        return -1;
    snprintf(secret_setting, sizeof secret_setting, "JOULETRACE_CALLBACK_SECRET_FILE=%s/secret",
             secret_dir);
    char file[192];
    snprintf(file, sizeof file, "%s/secret", secret_dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, "0123456789abcdef0123456789abcdef", 32) != 32) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return gateway_setup_with(state, extra);
}

static int teardown_callbacks(void **state)
{
    int rc = gateway_teardown(state);
    jt_temp_dir_remove(secret_dir);
    return rc;
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, gateway_setup, gateway_teardown)

static const struct CMUnitTest tests[] = {
    CASE(submit_queues_every_gate),
    CASE(not_calibrated),
    CASE(idempotency),
    CASE(refusals),
    CASE(body_bounds),
    cmocka_unit_test_setup_teardown(queue_full, setup_small_queue, gateway_teardown),
    CASE(compare_is_a_batch_of_two),
    cmocka_unit_test_setup_teardown(callback_allowed, setup_callbacks, teardown_callbacks),
    CASE(cancel),
    CASE(completed_with_details),
    CASE(events_stream),
    CASE(capabilities),
};

JT_UNIT_MAIN(tests)
