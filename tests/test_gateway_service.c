/* test_gateway_service.c -- end-to-end tests of jouletrace-gateway as a service: ping, health,
 * metrics, validate, status, refused requests, NATS down, SIGTERM; real nats-server and gateway. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "unit_main.h"

#include "bus_names.h"
#include "gateway_fixture.h"
#include "gateway_http.h"
#include "gateway_worker.h"
#include "task_state.h"
#include "value.h"

/* Every case (argv[1]) is one ctest entry (tests/gateway.cmake) with the
 * fixture of support/gateway_fixture.h. Tasks (submit, read, cancel, stream) are in
 * test_gateway.c. */

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
        {"POST", MEASURE,
         "{\"candidate_code\":\"x\",\"test_cases\":[{\"test_id\":\"a\",\"inputs\":1,"
         "\"expected_output\":1},{\"test_id\":\"a\",\"inputs\":2,\"expected_output\":2}]}",
         NULL, 422, "validation_error", "test_cases[1].test_id"},
        {"POST", MEASURE, deep, NULL, 422, "validation_error", NULL},
        {"POST", MEASURE, GOOD_JOB, long_key, 400, "invalid_idempotency_key", "Idempotency-Key"},
        {"POST", MEASURE, GOOD_JOB, "Idempotency-Key: caf\xc3\xa9", 400, "invalid_idempotency_key",
         "Idempotency-Key"},
        {"POST", "/api/v1/validate", "{bad", NULL, 400, "invalid_json", ""},
        {"GET", "/api/v1/tasks/bad.id", NULL, NULL, 400, "invalid_task_id", "task_id"},
        {"GET", big_path, NULL, NULL, 400, "invalid_task_id", "task_id"},
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
    /* the result reaches the gateway's subscription asynchronously: wait for it (a loaded
     * machine may take longer than a fixed pause) */
    for (int tries = 0;; tries++) {
        assert_int_equal(http(fx, "GET", "/metrics", NULL, 0, NULL, &r), 0);
        if (strstr(r.body ? r.body : "", "jouletrace_tasks_total{outcome=\"completed\"} 1\n") ||
            tries == 100)
            break;
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(100);
    }
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
    /* Until the gateway's view has connected to NATS (a loaded machine may take a while after
     * the gateway answers /ping) health is 503: wait for the first snapshot. */
    for (double until = jt_nats_now() + 15.0;; jt_nats_sleep_ms(100)) {
        assert_int_equal(http(fx, "GET", "/api/v1/health", NULL, 0, NULL, &r), 0);
        if (r.status != 503 || jt_nats_now() > until)
            break;
        jt_curl_resp_free(&r);
    }
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

/* A worker whose sandbox lacks something (a host without cgroups, a worker
 * that is not root): the service runs on, and health names what is missing. */
static void health_names_sandbox_gaps(void **state)
{
    fx_t *fx = *state;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    json_t *hb = json_pack("{s:s, s:s, s:i, s:s, s:n, s:s, s:b, s:b, s:i, s:i, s:{s:s, s:[s, s]}}",
                           "worker_id", "w2", "host", "testhost", "pid", 2, "state", "idle",
                           "task_id", "meter_type", "rapl-sysfs", "energy_is_estimated", 0,
                           "calibrated", 1, "measurement_core", 1, "socket", 0, "sandbox", "cgroup",
                           "none", "missing", "cgroup", "pid_namespace");
    char *text = json_dumps(hb, JSON_COMPACT);
    uint64_t rev;
    assert_int_equal(kvStore_PutString(&rev, fx->bus.workers, "w2", text), NATS_OK);
    free(text);
    json_decref(hb);
    jt_curl_resp_t r;
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "GET", "/api/v1/health", NULL, 0, NULL, &r), 0);
        json_t *checks = json_object_get(r.json, "checks");
        if (json_integer_value(json_object_get(json_object_get(checks, "workers"), "live")) == 2 ||
            jt_nats_now() > deadline)
            break;
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    }
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "degraded");
    json_t *missing =
        json_object_get(json_object_get(json_object_get(r.json, "checks"), "sandbox"), "missing");
    assert_int_equal(json_array_size(missing), 2);
    assert_string_equal(json_string_value(json_array_get(missing, 0)), "cgroup");
    assert_string_equal(json_string_value(json_array_get(missing, 1)), "pid_namespace");
    bool named = false;
    size_t i;
    json_t *reason;
    json_array_foreach(json_object_get(r.json, "reasons"), i, reason) named =
        named || strstr(json_string_value(reason),
                        "sandbox of 1 live worker(s) runs without: cgroup, pid_namespace") != NULL;
    assert_true(named);
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

static void validate_no_workers(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    assert_int_equal(http(fx, "POST", "/api/v1/validate", GOOD_JOB, -1, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    check_envelope(&r, "no_workers", NULL);
    jt_curl_resp_free(&r);
}

/* A fake worker: the reply as msgpack (what workers send), or as the JSON text of older
 * workers when *closure is true. */
static void on_validate(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    static const char reply[] = "{\"validation\":{\"is_correct\":true,\"passed_tests\":1,"
                                "\"total_tests\":1},\"processing_time_seconds\":0.01}";
    const bool *json_text = closure;
    (void)sub;
    if (*json_text) {
        natsConnection_Publish(nc, natsMsg_GetReply(msg), reply, (int)strlen(reply));
    } else {
        json_t *j = json_loads(reply, 0, NULL);
        jt_blob_t mp = {0};
        jt_error_t err;
        if (jt_value_from_json(j, "reply", &mp, &err) == JT_OK)
            natsConnection_Publish(nc, natsMsg_GetReply(msg), mp.data, (int)mp.len);
        jt_blob_free(&mp);
        json_decref(j);
    }
    natsMsg_Destroy(msg);
}

static void validate_relay(void **state)
{
    fx_t *fx = *state;
    natsSubscription *sub = NULL;
    jt_curl_resp_t r;
    static bool json_text = false;
    assert_int_equal(natsConnection_QueueSubscribe(&sub, fx->bus.nc, JT_SUBJECT_VALIDATE,
                                                   JT_QUEUE_WORKERS, on_validate, &json_text),
                     NATS_OK);
    natsConnection_Flush(fx->bus.nc);
    /* The worker's msgpack reply, then an older worker's JSON text: the same JSON answer. */
    for (int i = 0; i < 2; i++) {
        json_text = i == 1;
        assert_int_equal(http(fx, "POST", "/api/v1/validate", GOOD_JOB, -1, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        json_t *v = json_object_get(r.json, "validation");
        assert_true(json_is_true(json_object_get(v, "is_correct")));
        assert_int_equal(json_integer_value(json_object_get(v, "total_tests")), 1);
        assert_non_null(jstr(r.json, "request_id"));
        jt_curl_resp_free(&r);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
}

static void socket0_status(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    uint64_t rev;
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    put_heartbeat(fx, "w2", false, "estimate"); /* measures, but is not calibrated */
    assert_int_equal(kvStore_PutString(&rev, fx->bus.leases, "testhost.socket0",
                                       "{\"holder\":\"w1\",\"task_id\":\"t9\"}"),
                     NATS_OK);
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "GET", "/api/v1/socket0/status", NULL, 0, NULL, &r), 0);
        json_t *c = json_object_get(r.json, "calibration");
        if (json_integer_value(json_object_get(c, "live_workers")) == 2 || jt_nats_now() > deadline)
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
    /* Calibration state comes from the workers' heartbeats only, never from a
     * file on the gateway's host. */
    json_t *cal = json_object_get(r.json, "calibration");
    assert_null(json_object_get(cal, "local_file"));
    json_t *w1 = json_array_get(json_object_get(cal, "workers"), 0);
    assert_true(json_is_true(json_object_get(w1, "calibrated")) ||
                json_is_true(json_object_get(json_array_get(json_object_get(cal, "workers"), 1),
                                             "calibrated")));
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "nats"), "connected")));
    /* The counts agree with the workers listed: one calibrated, one on the estimate meter,
     * both measuring. */
    size_t i;
    json_t *w;
    json_int_t listed_calibrated = 0;
    json_array_foreach(json_object_get(cal, "workers"), i, w)
    {
        listed_calibrated += json_is_true(json_object_get(w, "calibrated"));
    }
    assert_int_equal(json_integer_value(json_object_get(cal, "calibrated_workers")),
                     listed_calibrated);
    assert_int_equal(listed_calibrated, 1);
    assert_int_equal(json_integer_value(json_object_get(cal, "estimate_workers")), 1);
    assert_int_equal(json_integer_value(json_object_get(cal, "measuring_workers")), 2);
    assert_true(json_is_false(json_object_get(r.json, "energy_is_estimated")));
    jt_curl_resp_free(&r);
    json_t *h = NULL;
    assert_int_equal(http(fx, "GET", "/api/v1/health", NULL, 0, NULL, &r), 0);
    h = json_object_get(json_object_get(r.json, "checks"), "workers");
    assert_int_equal(json_integer_value(json_object_get(h, "live")), 2);
    assert_int_equal(json_integer_value(json_object_get(h, "calibrated")), 1);
    assert_int_equal(json_integer_value(json_object_get(h, "estimate")), 1);
    assert_int_equal(json_integer_value(json_object_get(h, "measuring")), 2);
    jt_curl_resp_free(&r);
}

/* Only workers on the estimate meter: jobs are taken (ready), yet nothing is calibrated, and
 * socket0/status says so with counts that match each worker's "calibrated": false. */
static void socket0_status_estimate_only(void **state)
{
    fx_t *fx = *state;
    jt_curl_resp_t r;
    put_heartbeat(fx, "e1", false, "estimate");
    put_heartbeat(fx, "e2", false, "estimate");
    double deadline = jt_nats_now() + 5.0;
    for (;;) {
        assert_int_equal(http(fx, "GET", "/api/v1/socket0/status", NULL, 0, NULL, &r), 0);
        json_t *c = json_object_get(r.json, "calibration");
        if (json_integer_value(json_object_get(c, "live_workers")) == 2 || jt_nats_now() > deadline)
            break;
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    }
    json_t *cal = json_object_get(r.json, "calibration");
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(cal, "workers"), i, w)
    {
        assert_true(json_is_false(json_object_get(w, "calibrated")));
    }
    assert_int_equal(json_integer_value(json_object_get(cal, "calibrated_workers")), 0);
    assert_int_equal(json_integer_value(json_object_get(cal, "estimate_workers")), 2);
    assert_int_equal(json_integer_value(json_object_get(cal, "measuring_workers")), 2);
    assert_true(json_is_false(json_object_get(r.json, "calibrated")));
    assert_true(json_is_true(json_object_get(r.json, "ready")));
    assert_true(json_is_true(json_object_get(r.json, "energy_is_estimated")));
    assert_non_null(strstr(jstr(r.json, "message"), "estimate"));
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

static void sigterm_exit_0(void **state)
{
    fx_t *fx = *state;
    int status = stop_gateway(fx);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, gateway_setup, gateway_teardown)

static const struct CMUnitTest tests[] = {
    CASE(bad_requests),
    CASE(metrics_counts),
    CASE(ping),
    CASE(health_degraded),
    CASE(health_names_sandbox_gaps),
    CASE(nats_down),
    CASE(validate_no_workers),
    CASE(validate_relay),
    CASE(socket0_status),
    CASE(socket0_status_estimate_only),
    CASE(capabilities),
    CASE(sigterm_exit_0),
};

JT_UNIT_MAIN(tests)
