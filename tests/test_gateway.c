/* test_gateway.c -- end-to-end tests of jouletrace-gateway: real nats-server, real gateway,
 * libcurl. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.h"
#include "bus_names.h"
#include "curl_client.h"
#include "nats_server.h"
#include "process_harness.h"
#include "task_state.h"
#include "unit_main.h"
#include "value.h"

/* Every case (argv[1]) is one ctest entry (tests/gateway.cmake). Each starts its
 * own nats-server and gateway on free 127.0.0.1 ports and talks HTTP with libcurl;
 * the test's own NATS connection plays the worker (heartbeats, progress, replies). */

#define GOOD_JOB                                                                                   \
    "{\"candidate_code\":\"def solve(x):\\n  return x * x\\n\",\"function_name\":\"solve\","       \
    "\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[2],\"expected_output\":4}],"                  \
    "\"energy_measurement_trials\":3,\"timeout_seconds\":20}"
#define MEASURE "/api/v1/measure-socket0"
#define VIEW_REFRESH_MS 250 /* gateway/view.h JT_VIEW_REFRESH_MS */

typedef struct {
    jt_nats_server_t nats;
    jt_bus_t bus;
    jt_proc_t gw;
    int port;
} fx_t;

/* ---- processes ------------------------------------------------------------------------- */

static void dump_gateway_log(const fx_t *fx)
{
    jt_proc_dump_log("gateway", fx->gw.log, 6000);
}

/* Start the gateway with extra "NAME=value" settings (NULL-terminated, may be NULL). */
static void spawn_gateway(fx_t *fx, const char *const *extra)
{
    static char vars[8][320];
    char *envp[64];
    size_t k = 0;
    fx->port = jt_proc_free_port();
    assert_true(fx->port > 0);
    snprintf(vars[0], sizeof vars[0], "JOULETRACE_NATS_URL=%s", fx->nats.url);
    snprintf(vars[1], sizeof vars[1], "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", fx->port);
    snprintf(vars[2], sizeof vars[2], "JOULETRACE_HTTP_THREADS=8");
    snprintf(vars[3], sizeof vars[3], "JOULETRACE_CALIBRATION=%s/none.json", fx->nats.dir);
    snprintf(vars[4], sizeof vars[4], "PATH=/usr/bin:/bin");
    for (int i = 0; i < 5; i++)
        envp[k++] = vars[i];
    for (char **e = environ; *e != NULL && k < 40; e++)
        if (strncmp(*e, "ASAN_", 5) == 0 || strncmp(*e, "UBSAN_", 6) == 0 ||
            strncmp(*e, "LSAN_", 5) == 0)
            envp[k++] = *e;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 63; i++)
        envp[k++] = (char *)extra[i];
    envp[k] = NULL;
    char *argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    snprintf(fx->gw.id, sizeof fx->gw.id, "gateway");
    snprintf(fx->gw.log, sizeof fx->gw.log, "%s/gateway.log", fx->nats.dir);
    fx->gw.pid = jt_proc_spawn(argv, envp, fx->gw.log, SIGKILL, false);
    assert_true(fx->gw.pid > 0);
}

/* One request to the gateway, answered within 20 s; blen < 0 means
 * strlen(body). Returns 0 when an answer came (see jt_curl_request). */
static int http(fx_t *fx, const char *method, const char *path, const char *body, long blen,
                const char *const *hdrs, jt_curl_resp_t *r)
{
    return jt_curl_request(fx->port, method, path, body, blen, hdrs, 20, r);
}

/* Wait until the gateway answers and has connected to NATS. */
static void wait_gateway_ready(fx_t *fx)
{
    double deadline = jt_nats_now() + 15.0;
    while (jt_nats_now() < deadline) {
        jt_curl_resp_t r;
        if (http(fx, "GET", "/api/v1/health", NULL, 0, NULL, &r) == 0 && r.json != NULL &&
            json_is_true(json_object_get(json_object_get(json_object_get(r.json, "checks"), "nats"),
                                         "connected"))) {
            jt_curl_resp_free(&r);
            return;
        }
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    }
    dump_gateway_log(fx);
    fail_msg("gateway not ready within 15 s");
}

static int setup_with(void **state, const char *const *extra)
{
    jt_topology_opts_t topo;
    jt_error_t err;
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    *state = fx;
    assert_int_equal(jt_nats_server_start(&fx->nats), 0);
    jt_topology_opts_init(&topo);
    assert_int_equal(jt_bus_connect(fx->nats.url, "test-gateway", &topo, &fx->bus, &err), JT_OK);
    spawn_gateway(fx, extra);
    wait_gateway_ready(fx);
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_small_queue(void **state)
{
    static const char *const extra[] = {"JOULETRACE_MAX_PENDING_JOBS=1", NULL};
    return setup_with(state, extra);
}

/* SIGTERM the gateway (SIGKILL after 10 s); its wait status, -1 when it was not running. */
static int stop_gateway(fx_t *fx)
{
    return jt_proc_stop(&fx->gw.pid, SIGTERM, 10.0, false);
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    int rc = 0;
    if (fx == NULL)
        return 0;
    /* Every case ends with a clean stop: a sanitizer report or a crash fails it. */
    bool running = fx->gw.pid > 0;
    int status = stop_gateway(fx);
    if (running && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "gateway did not exit 0 on SIGTERM (status 0x%x)\n", (unsigned)status);
        dump_gateway_log(fx);
        rc = -1;
    }
    jt_bus_close(&fx->bus);
    jt_nats_server_stop(&fx->nats);
    free(fx);
    return rc;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The reply is the error envelope with this code (and field, when not NULL),
 * and its request_id is the X-Request-Id header. */
static void check_envelope(const jt_curl_resp_t *r, const char *error, const char *field)
{
    char hdr[128];
    if (r->json == NULL)
        fail_msg("not JSON: %s", r->body != NULL ? r->body : "(no body)");
    assert_string_equal(jstr(r->json, "error"), error);
    assert_non_null(jstr(r->json, "message"));
    assert_true(json_is_object(json_object_get(r->json, "details")));
    const char *rid = jstr(r->json, "request_id");
    assert_non_null(rid);
    snprintf(hdr, sizeof hdr, "X-Request-Id: %s", rid);
    assert_non_null(strcasestr(r->headers, hdr));
    if (field != NULL)
        assert_string_equal(jstr(json_object_get(r->json, "details"), "field"), field);
}

/* ---- the fake worker -------------------------------------------------------------------- */

static void put_heartbeat(fx_t *fx, const char *id, bool calibrated, const char *meter)
{
    uint64_t rev;
    json_t *hb = json_pack("{s:s, s:s, s:i, s:s, s:n, s:s, s:b, s:b, s:i, s:i}", "worker_id", id,
                           "host", "testhost", "pid", 1, "state", "idle", "task_id", "meter_type",
                           meter, "energy_is_estimated", strcmp(meter, "estimate") == 0,
                           "calibrated", calibrated, "measurement_core", 1, "socket", 0);
    char *text = json_dumps(hb, JSON_COMPACT);
    assert_int_equal(kvStore_PutString(&rev, fx->bus.workers, id, text), NATS_OK);
    free(text);
    json_decref(hb);
}

/* POST GOOD_JOB until the view has seen the heartbeat: 202 (or fail after 5 s). */
static void post_accepted(fx_t *fx, const char *const *hdrs, jt_curl_resp_t *r)
{
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, hdrs, r), 0);
        if (r->status == 202 || jt_nats_now() > deadline)
            break;
        assert_int_equal(r->status, 503); /* not calibrated yet */
        jt_curl_resp_free(r);
        jt_nats_sleep_ms(50);
    }
    if (r->status != 202)
        fail_msg("POST gave %ld: %s", r->status, r->body);
}

static uint64_t stream_msgs(fx_t *fx)
{
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, fx->bus.js, JT_STREAM_JOBS, NULL, NULL), NATS_OK);
    uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

/* Publish a record as the worker does: msgpack on prefix<task_id>. */
static void publish_record(fx_t *fx, const char *prefix, const char *task_id, json_t *rec)
{
    char subject[256];
    jt_blob_t mp = {NULL, 0};
    assert_true(jt_bus_task_subject(subject, sizeof subject, prefix, task_id));
    assert_int_equal(jt_value_from_json(rec, "", &mp, NULL), JT_OK);
    assert_int_equal(natsConnection_Publish(fx->bus.nc, subject, mp.data, (int)mp.len), NATS_OK);
    natsConnection_Flush(fx->bus.nc);
    jt_blob_free(&mp);
}

/* ---- cases ------------------------------------------------------------------------------- */

typedef struct {
    const char *method, *path, *body, *header;
    long status;
    const char *error, *field;
} bad_t;

static void bad_requests(void **state)
{
    fx_t *fx = *state;
    static char deep[400], long_key[320], long_id[200], big_path[256], big_header[20100];
    memset(deep, 0, sizeof deep);
    strcpy(deep, "{\"candidate_code\":\"x\",\"test_cases\":[{\"expected_output\":1,\"inputs\":");
    size_t n = strlen(deep);
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    strcat(deep, "}]}");
    snprintf(long_key, sizeof long_key, "Idempotency-Key: %0300d", 7);
    snprintf(big_header, sizeof big_header, "X-Big: %020000d", 1); /* above civetweb's 16 KiB */
    memset(long_id, 'a', 129);
    snprintf(big_path, sizeof big_path, "/api/v1/tasks/%s", long_id);
    const bad_t table[] = {
        {"POST", MEASURE, "{bad", NULL, 400, "invalid_json", ""},
        {"POST", MEASURE, "", NULL, 400, "invalid_json", ""},
        {"POST", MEASURE, "{\"a\":1,\"a\":2}", NULL, 400, "invalid_json", ""},
        {"POST", MEASURE, "{\"candidate_code\":\"\xff\"}", NULL, 400, "invalid_json", ""},
        {"POST", MEASURE, "[1,2]", NULL, 422, "validation_error", ""},
        {"POST", MEASURE, "{\"test_cases\":[{\"inputs\":1,\"expected_output\":1}]}", NULL, 422,
         "validation_error", "candidate_code"},
        {"POST", MEASURE, "{\"candidate_code\":5,\"test_cases\":[]}", NULL, 422, "validation_error",
         "candidate_code"},
        {"POST", MEASURE, "{\"candidate_code\":\"x\",\"test_cases\":[]}", NULL, 422,
         "validation_error", "test_cases"},
        {"POST", MEASURE, "{\"candidate_code\":\"x\",\"test_cases\":{}}", NULL, 422,
         "validation_error", "test_cases"},
        {"POST", MEASURE, "{\"candidate_code\":\"x\",\"test_cases\":[{\"expected_output\":1}]}",
         NULL, 422, "validation_error", "test_cases[0].inputs"},
        {"POST", "/api/v1/measure",
         "{\"candidate_code\":\"x\",\"test_cases\":[{\"inputs\":1,\"expected_output\":1}],"
         "\"bogus\":1}",
         NULL, 422, "validation_error", "bogus"},
        {"POST", MEASURE,
         "{\"candidate_code\":\"x\",\"test_cases\":[{\"inputs\":1,\"expected_output\":1}],"
         "\"timeout_seconds\":0}",
         NULL, 422, "validation_error", "timeout_seconds"},
        {"POST", MEASURE,
         "{\"candidate_code\":\"x\",\"test_cases\":[{\"inputs\":1,\"expected_output\":1}],"
         "\"energy_measurement_trials\":\"5\"}",
         NULL, 422, "validation_error", "energy_measurement_trials"},
        {"POST", MEASURE,
         "{\"candidate_code\":\"x\",\"test_cases\":[{\"inputs\":1,\"expected_output\":1}],"
         "\"task_id\":\"mine\"}",
         NULL, 422, "validation_error", "task_id"},
        {"POST", MEASURE, deep, NULL, 422, "validation_error", NULL},
        {"POST", MEASURE, GOOD_JOB, long_key, 400, "invalid_idempotency_key", "Idempotency-Key"},
        {"POST", MEASURE, GOOD_JOB, "Idempotency-Key: caf\xc3\xa9", 400, "invalid_idempotency_key",
         "Idempotency-Key"},
        {"POST", "/api/v1/validate", "{bad", NULL, 400, "invalid_json", ""},
        {"GET", "/api/v1/tasks/bad.id", NULL, NULL, 404, "task_not_found", "task_id"},
        {"GET", big_path, NULL, NULL, 404, "task_not_found", "task_id"},
        {"GET", "/api/v1/tasks/0123456789abcdef0123456789abcdef", NULL, NULL, 404, "task_not_found",
         "task_id"},
        {"DELETE", "/api/v1/tasks/nosuchtask", NULL, NULL, 404, "task_not_found", "task_id"},
        {"GET", "/api/v1/tasks/nosuchtask/events", NULL, NULL, 404, "task_not_found", "task_id"},
        {"GET", "/api/v1/tasks/x/other", NULL, NULL, 404, "not_found", NULL},
        {"GET", "/api/v1/nope", NULL, NULL, 404, "not_found", NULL},
        {"GET", MEASURE, NULL, NULL, 405, "method_not_allowed", NULL},
        {"PUT", "/api/v1/tasks/abc", "{}", NULL, 405, "method_not_allowed", NULL},
        {"POST", "/ping", "{}", NULL, 405, "method_not_allowed", NULL},
        {"DELETE", "/api/v1/health", NULL, NULL, 405, "method_not_allowed", NULL},
        {"GET", "/ping", NULL, big_header, 400, "bad_request", NULL},
        {"FROB", "/ping", NULL, NULL, 400, "bad_request", NULL},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const bad_t *b = &table[i];
        const char *hdrs[] = {b->header, NULL};
        jt_curl_resp_t r;
        assert_int_equal(http(fx, b->method, b->path, b->body, -1, hdrs, &r), 0);
        if (r.status != b->status)
            fail_msg("case %zu (%s %s): status %ld, want %ld: %s", i, b->method, b->path, r.status,
                     b->status, r.body);
        check_envelope(&r, b->error, b->field);
        if (b->status == 405)
            assert_non_null(strcasestr(r.headers, "\nAllow: "));
        jt_curl_resp_free(&r);
    }
    /* Over 4 MiB: 413, and the gateway is still fine afterwards. */
    size_t big = 4u * 1024 * 1024 + 10;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    jt_curl_resp_t r;
    assert_int_equal(http(fx, "POST", MEASURE, body, (long)big, NULL, &r), 0);
    assert_int_equal(r.status, 413);
    check_envelope(&r, "payload_too_large", "");
    jt_curl_resp_free(&r);
    free(body);
    assert_int_equal(http(fx, "GET", "/ping", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    jt_curl_resp_free(&r);
}

static void not_calibrated(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    check_envelope(&r, "not_calibrated", NULL);
    assert_string_equal(jstr(r.json, "message"), "Socket 0 not calibrated");
    jt_curl_resp_free(&r);
    /* A live but uncalibrated worker does not help. */
    put_heartbeat(fx, "w0", false, "rapl-sysfs");
    jt_nats_sleep_ms(3 * VIEW_REFRESH_MS);
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    check_envelope(&r, "not_calibrated", NULL);
    jt_curl_resp_free(&r);
    assert_int_equal(stream_msgs(fx), 0);
}

static void accepted_in_stream(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, NULL, &r);
    const char *id = jstr(r.json, "task_id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    assert_string_equal(jstr(r.json, "status"), "queued");
    assert_non_null(jstr(r.json, "request_id"));
    assert_non_null(strstr(jstr(r.json, "poll_url"), id));
    assert_non_null(strstr(jstr(r.json, "events_url"), "/events"));
    assert_true(json_is_number(json_object_get(r.json, "estimated_completion_seconds")));
    assert_int_equal(stream_msgs(fx), 1);
    natsMsg *m = NULL;
    assert_int_equal(js_GetMsg(&m, fx->bus.js, JT_STREAM_JOBS, 1, NULL, NULL), NATS_OK);
    const char *msgid = NULL;
    assert_int_equal(natsMsgHeader_Get(m, "Nats-Msg-Id", &msgid), NATS_OK);
    assert_string_equal(msgid, id);
    assert_string_equal(natsMsg_GetSubject(m), JT_SUBJECT_JOBS);
    natsMsg_Destroy(m);
    jt_curl_resp_free(&r);
}

static void get_queued_record(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r, g;
    char path[128];
    put_heartbeat(fx, "w1", false, "estimate"); /* the estimate meter is enough */
    post_accepted(fx, NULL, &r);
    snprintf(path, sizeof path, "/api/v1/tasks/%s", jstr(r.json, "task_id"));
    assert_int_equal(http(fx, "GET", path, NULL, 0, NULL, &g), 0);
    assert_int_equal(g.status, 200);
    assert_string_equal(jstr(g.json, "task_id"), jstr(r.json, "task_id"));
    assert_string_equal(jstr(g.json, "status"), "queued");
    assert_string_equal(jstr(g.json, "request_id"), jstr(r.json, "request_id"));
    assert_int_equal(json_integer_value(json_object_get(g.json, "trials_total")), 3);
    assert_non_null(jstr(g.json, "created_at"));
    jt_curl_resp_free(&g);
    jt_curl_resp_free(&r);
}

static void idempotency(void **state)
{
    fx_t *fx = *state;
    const char *hdrs[] = {"Idempotency-Key: retry-me-42", NULL};
    const char *other[] = {"Idempotency-Key: another", NULL};
    jt_curl_resp_t a, b, c;
    put_heartbeat(fx, "w1", true, "rapl-perf");
    post_accepted(fx, hdrs, &a);
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, hdrs, &b), 0);
    assert_int_equal(b.status, 202);
    assert_string_equal(jstr(a.json, "task_id"), jstr(b.json, "task_id"));
    assert_non_null(strcasestr(b.headers, "Idempotent-Replayed: true"));
    assert_int_equal(stream_msgs(fx), 1);
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, other, &c), 0);
    assert_int_equal(c.status, 202);
    assert_string_not_equal(jstr(a.json, "task_id"), jstr(c.json, "task_id"));
    assert_int_equal(stream_msgs(fx), 2);
    jt_curl_resp_free(&a);
    jt_curl_resp_free(&b);
    jt_curl_resp_free(&c);
}

static void cancel_queued(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r, d, g;
    char path[128];
    kvEntry *e = NULL;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, NULL, &r);
    const char *id = jstr(r.json, "task_id");
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    assert_int_equal(http(fx, "DELETE", path, NULL, 0, NULL, &d), 0);
    assert_int_equal(d.status, 202);
    assert_string_equal(jstr(d.json, "task_id"), id);
    assert_string_equal(jstr(d.json, "status"), "cancelled");
    assert_int_equal(http(fx, "GET", path, NULL, 0, NULL, &g), 0);
    assert_string_equal(jstr(g.json, "status"), "cancelled");
    assert_string_equal(jstr(g.json, "error_type"), "cancelled");
    jt_curl_resp_free(&g);
    assert_int_equal(kvStore_Get(&e, fx->bus.cancels, id), NATS_OK);
    assert_string_equal(kvEntry_ValueString(e), "1");
    kvEntry_Destroy(e);
    jt_curl_resp_free(&d);
    assert_int_equal(http(fx, "DELETE", path, NULL, 0, NULL, &d), 0);
    assert_int_equal(d.status, 409);
    check_envelope(&d, "task_already_final", "task_id");
    jt_curl_resp_free(&d);
    jt_curl_resp_free(&r);
}

/* Read from fd until needle appears in *acc (or timeout). */
static bool read_until(int fd, char *acc, size_t cap, size_t *len, const char *needle, double secs)
{
    double deadline = jt_nats_now() + secs;
    while (strstr(acc, needle) == NULL) {
        if (jt_nats_now() > deadline || *len + 1 >= cap)
            return false;
        ssize_t k = recv(fd, acc + *len, cap - 1 - *len, 0);
        if (k == 0)
            return strstr(acc, needle) != NULL;
        if (k > 0) {
            *len += (size_t)k;
            acc[*len] = '\0';
        }
    }
    return true;
}

static void sse_progress(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    char req[256];
    static char acc[65536];
    size_t len = 0;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, NULL, &r);
    const char *id = jstr(r.json, "task_id");

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)fx->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    int n =
        snprintf(req, sizeof req, "GET /api/v1/tasks/%s/events HTTP/1.1\r\nHost: t\r\n\r\n", id);
    assert_int_equal(write(fd, req, (size_t)n), n);
    acc[0] = '\0';
    assert_true(read_until(fd, acc, sizeof acc, &len, "\"status\":\"queued\"", 5.0));
    assert_non_null(strstr(acc, "text/event-stream"));
    assert_non_null(strstr(acc, "id: 1\nevent: progress\ndata: {"));

    json_t *rec = jt_task_record_new(id, JT_TASK_MEASURING);
    json_object_set_new(rec, "trial", json_integer(2));
    publish_record(fx, JT_SUBJECT_PROGRESS_PREFIX, id, rec);
    assert_true(read_until(fd, acc, sizeof acc, &len, "\"status\":\"measuring\"", 5.0));
    assert_non_null(strstr(acc, "id: 2\nevent: progress\n"));
    json_decref(rec);

    rec = jt_task_record_new(id, JT_TASK_COMPLETED);
    publish_record(fx, JT_SUBJECT_PROGRESS_PREFIX, id, rec);
    assert_true(read_until(fd, acc, sizeof acc, &len, "\r\n0\r\n\r\n", 5.0));
    assert_non_null(strstr(acc, "id: 3\nevent: result\n"));
    json_decref(rec);
    close(fd);
    jt_curl_resp_free(&r);
}

static void metrics_counts(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(http(fx, "GET", "/ping", NULL, 0, NULL, &r), 0);
        jt_curl_resp_free(&r);
    }
    assert_int_equal(http(fx, "GET", "/nope", NULL, 0, NULL, &r), 0);
    jt_curl_resp_free(&r);
    json_t *rec = jt_task_record_new("t1", JT_TASK_COMPLETED);
    json_object_set_new(rec, "trials", json_pack("[{s:f},{s:f}]", "seconds", 0.5, "seconds", 1.0));
    publish_record(fx, JT_SUBJECT_RESULT_PREFIX, "t1", rec);
    json_decref(rec);
    jt_nats_sleep_ms(200);
    assert_int_equal(http(fx, "GET", "/metrics", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "text/plain"));
    assert_non_null(
        strstr(r.body, "jouletrace_http_requests_total{route=\"ping\",status=\"200\"} 3\n"));
    assert_non_null(strstr(r.body, "{route=\"unknown\",status=\"404\"} 1\n"));
    assert_non_null(strstr(r.body, "jouletrace_tasks_total{outcome=\"completed\"} 1\n"));
    assert_non_null(strstr(r.body, "jouletrace_measurement_seconds_total 1.5"));
    assert_non_null(strstr(r.body, "jouletrace_live_workers 0\n"));
    assert_non_null(strstr(r.body, "jouletrace_pending_jobs 0\n"));
    jt_curl_resp_free(&r);
}

static void ping(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    const char *hdrs[] = {"X-Request-Id: client-id-1", NULL};
    assert_int_equal(http(fx, "GET", "/ping", NULL, 0, hdrs, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "ok");
    assert_string_equal(jstr(r.json, "request_id"), "client-id-1");
    assert_non_null(strcasestr(r.headers, "X-Request-Id: client-id-1"));
    assert_null(strcasestr(r.headers, "Access-Control-Allow-Origin")); /* never "*" by default */
    assert_non_null(strcasestr(r.headers, "Connection: keep-alive"));
    jt_curl_resp_free(&r);
}

static void health_degraded(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    assert_int_equal(http(fx, "GET", "/api/v1/health", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "degraded");
    assert_true(json_array_size(json_object_get(r.json, "reasons")) >= 1);
    jt_curl_resp_free(&r);
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "GET", "/api/v1/health", NULL, 0, NULL, &r), 0);
        if (strcmp(jstr(r.json, "status"), "healthy") == 0 || jt_nats_now() > deadline)
            break;
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    }
    assert_string_equal(jstr(r.json, "status"), "healthy");
    jt_curl_resp_free(&r);
}

static void nats_down(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, NULL, &r);
    jt_curl_resp_free(&r);
    jt_nats_server_kill(&fx->nats);
    double deadline = jt_nats_now() + 10.0;
    for (;;) {
        assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, NULL, &r), 0);
        if (r.status == 503 || jt_nats_now() > deadline)
            break;
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    }
    assert_int_equal(r.status, 503);
    check_envelope(&r, "nats_unavailable", NULL);
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "GET", "/api/v1/health", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(jstr(r.json, "status"), "unhealthy");
    jt_curl_resp_free(&r);
    /* Bad input stays 4xx even now. */
    assert_int_equal(http(fx, "POST", MEASURE, "{bad", -1, NULL, &r), 0);
    assert_int_equal(r.status, 400);
    jt_curl_resp_free(&r);
}

static void queue_full(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, NULL, &r); /* pending 0 -> 1 */
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, NULL, &r), 0); /* 1, not above 1 */
    assert_int_equal(r.status, 202);
    jt_curl_resp_free(&r);
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, NULL, &r), 0);
    assert_int_equal(r.status, 429);
    check_envelope(&r, "queue_full", NULL);
    jt_curl_resp_free(&r);
    assert_int_equal(stream_msgs(fx), 2);
}

static void validate_no_workers(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    assert_int_equal(http(fx, "POST", "/api/v1/validate", GOOD_JOB, -1, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    check_envelope(&r, "no_workers", NULL);
    jt_curl_resp_free(&r);
}

static void on_validate(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    static const char reply[] = "{\"validation\":{\"is_correct\":true,\"passed_tests\":1,"
                                "\"total_tests\":1},\"processing_time_seconds\":0.01}";
    (void)sub;
    (void)closure;
    natsConnection_Publish(nc, natsMsg_GetReply(msg), reply, (int)strlen(reply));
    natsMsg_Destroy(msg);
}

static void validate_relay(void **state)
{
    fx_t *fx = *state;
    natsSubscription *sub = NULL;
    jt_curl_resp_t r;
    assert_int_equal(natsConnection_QueueSubscribe(&sub, fx->bus.nc, JT_SUBJECT_VALIDATE,
                                                   JT_QUEUE_WORKERS, on_validate, NULL),
                     NATS_OK);
    natsConnection_Flush(fx->bus.nc);
    assert_int_equal(http(fx, "POST", "/api/v1/validate", GOOD_JOB, -1, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "validation"), "is_correct")));
    assert_non_null(jstr(r.json, "request_id"));
    jt_curl_resp_free(&r);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
}

static void socket0_status(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    uint64_t rev;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    assert_int_equal(kvStore_PutString(&rev, fx->bus.leases, "testhost.socket0",
                                       "{\"holder\":\"w1\",\"task_id\":\"t9\"}"),
                     NATS_OK);
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "GET", "/api/v1/socket0/status", NULL, 0, NULL, &r), 0);
        if (json_is_true(json_object_get(r.json, "calibrated")) || jt_nats_now() > deadline)
            break;
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    }
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "calibrated")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "measurement_core")), 1);
    json_t *lease = json_object_get(r.json, "lease");
    assert_true(json_is_true(json_object_get(lease, "held")));
    assert_string_equal(jstr(json_array_get(json_object_get(lease, "holders"), 0), "holder"), "w1");
    json_t *iso = json_object_get(r.json, "isolation");
    assert_true(json_is_boolean(json_object_get(iso, "measurement_core_isolated")));
    json_t *local = json_object_get(json_object_get(r.json, "calibration"), "local_file");
    assert_true(json_is_false(json_object_get(local, "fresh")));
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "nats"), "connected")));
    jt_curl_resp_free(&r);
}

static void capabilities(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    assert_int_equal(http(fx, "GET", "/api/v1/capabilities", NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *limits = json_object_get(r.json, "limits");
    assert_int_equal(json_integer_value(json_object_get(limits, "max_body_bytes")), 4194304);
    assert_true(json_array_size(json_object_get(r.json, "routes")) >= 11);
    assert_string_equal(jstr(json_object_get(r.json, "nats"), "jobs_subject"), JT_SUBJECT_JOBS);
    jt_curl_resp_free(&r);
}

/* n POSTs at once on n connections (curl multi), each with hdr (may be NULL);
 * the task ids of the 202 answers into ids[] (caller frees). Returns the 202 count. */
static int post_concurrently(fx_t *fx, int n, const char *hdr, char **ids)
{
    const char *bodies[64];
    jt_curl_resp_t r[64];
    assert_true(n <= 64);
    for (int i = 0; i < n; i++)
        bodies[i] = GOOD_JOB;
    assert_int_equal(jt_curl_post_all(fx->port, MEASURE, n, bodies, hdr, 20, r), 0);
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        const char *id = jstr(r[i].json, "task_id");
        ids[i] = r[i].status == 202 && id != NULL ? strdup(id) : NULL;
        accepted += ids[i] != NULL;
        jt_curl_resp_free(&r[i]);
    }
    return accepted;
}

/* Many submissions share publisher batches: every one is stored, record first. */
static void concurrent_posts(void **state)
{
    fx_t *fx = *state;
    char *ids[64];
    jt_curl_resp_t r;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    post_accepted(fx, NULL, &r);
    jt_curl_resp_free(&r);
    assert_int_equal(post_concurrently(fx, 48, NULL, ids), 48);
    assert_int_equal(stream_msgs(fx), 49);
    for (int i = 0; i < 48; i++) {
        json_t *rec = NULL;
        assert_int_equal(jt_task_get(fx->bus.tasks, ids[i], &rec, NULL, NULL), JT_OK);
        assert_string_equal(jstr(rec, "status"), "queued");
        for (int k = 0; k < i; k++)
            assert_string_not_equal(ids[k], ids[i]);
        json_decref(rec);
    }
    for (int i = 0; i < 48; i++)
        free(ids[i]);
    /* One Idempotency-Key sent 16 times at once: one task, one job. */
    assert_int_equal(post_concurrently(fx, 16, "Idempotency-Key: same-for-all", ids), 16);
    for (int i = 0; i < 16; i++) {
        assert_string_equal(ids[i], ids[0]);
    }
    for (int i = 0; i < 16; i++)
        free(ids[i]);
    assert_int_equal(stream_msgs(fx), 50);
}

static void cancel_running(void **state)
{
    fx_t *fx = *state;
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    jt_curl_resp_t d;
    const char *id = "running-task-1";
    json_t *rec = jt_task_record_new(id, JT_TASK_MEASURING);
    assert_int_equal(jt_task_put(fx->bus.tasks, id, rec, 0, NULL, NULL), JT_OK);
    json_decref(rec);
    assert_int_equal(natsConnection_SubscribeSync(&sub, fx->bus.nc, JT_SUBJECT_CANCEL_PREFIX "*"),
                     NATS_OK);
    natsConnection_Flush(fx->bus.nc);
    assert_int_equal(http(fx, "DELETE", "/api/v1/tasks/running-task-1", NULL, 0, NULL, &d), 0);
    assert_int_equal(d.status, 202);
    assert_string_equal(jstr(d.json, "status"), "cancelling");
    jt_curl_resp_free(&d);
    assert_int_equal(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), JT_SUBJECT_CANCEL_PREFIX "running-task-1");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    /* The record is the worker's to finish: still measuring. */
    assert_int_equal(jt_task_get(fx->bus.tasks, id, &rec, NULL, NULL), JT_OK);
    assert_string_equal(jstr(rec, "status"), "measuring");
    json_decref(rec);
}

static void sigterm_exit_0(void **state)
{
    fx_t *fx = *state;
    int status = stop_gateway(fx);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(bad_requests, setup, teardown),
    cmocka_unit_test_setup_teardown(not_calibrated, setup, teardown),
    cmocka_unit_test_setup_teardown(accepted_in_stream, setup, teardown),
    cmocka_unit_test_setup_teardown(get_queued_record, setup, teardown),
    cmocka_unit_test_setup_teardown(idempotency, setup, teardown),
    cmocka_unit_test_setup_teardown(cancel_queued, setup, teardown),
    cmocka_unit_test_setup_teardown(sse_progress, setup, teardown),
    cmocka_unit_test_setup_teardown(metrics_counts, setup, teardown),
    cmocka_unit_test_setup_teardown(ping, setup, teardown),
    cmocka_unit_test_setup_teardown(health_degraded, setup, teardown),
    cmocka_unit_test_setup_teardown(nats_down, setup, teardown),
    cmocka_unit_test_setup_teardown(queue_full, setup_small_queue, teardown),
    cmocka_unit_test_setup_teardown(validate_no_workers, setup, teardown),
    cmocka_unit_test_setup_teardown(validate_relay, setup, teardown),
    cmocka_unit_test_setup_teardown(socket0_status, setup, teardown),
    cmocka_unit_test_setup_teardown(capabilities, setup, teardown),
    cmocka_unit_test_setup_teardown(concurrent_posts, setup, teardown),
    cmocka_unit_test_setup_teardown(cancel_running, setup, teardown),
    cmocka_unit_test_setup_teardown(sigterm_exit_0, setup, teardown),
};

JT_UNIT_MAIN(tests)
