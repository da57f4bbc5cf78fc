/* gateway_harness.h -- test helper for the gateway tests: a real nats-server and gateway.
 *
 * Shared by test_gateway.c (tasks: submit, read, cancel, stream) and
 * test_gateway_service.c (the other routes, refused requests, NATS down,
 * shutdown). One case = one fixture: its own nats-server and gateway on free
 * 127.0.0.1 ports; the test talks HTTP with libcurl (curl_client.h), and its
 * own NATS connection plays the worker (heartbeats, progress, replies).
 *
 * Include once, after unit_main.h (static functions, cmocka asserts). Each
 * function here is used by both programs (an unused static function is an
 * error under JT_WERROR); a helper that only one program needs lives in that
 * program. Every function runs on the test's main thread.
 */
#ifndef JT_TESTS_GATEWAY_HARNESS_H
#define JT_TESTS_GATEWAY_HARNESS_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.h"
#include "bus_names.h"
#include "curl_client.h"
#include "nats_server.h"
#include "process_harness.h"
#include "value.h"

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

#endif
