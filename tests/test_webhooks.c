/* test_webhooks.c -- webhooks end to end: real nats-server, gateway, worker and a receiver on
 * 127.0.0.1.
 *
 * Every case (argv[1]) is one ctest entry (tests/webhooks.cmake). The gateway runs with the
 * fixture of support/gateway_fixture.h, started with the webhook settings of the case; the
 * receivers are support/webhook_receiver.h (they check each signature themselves). One case
 * runs a real `jouletrace-worker run` (estimate meter); the others put a final task record and
 * queue its delivery on the bus, as a worker (or a direct NATS publisher) does.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_main.h"

#include "bus_names.h"
#include "gateway_fixture.h"
#include "gateway_http.h"
#include "gateway_worker.h"
#include "task_state.h"
#include "temp_dir.h"
#include "webhook_queue.h"
#include "webhook_receiver.h"

#ifndef JT_WORKER_BIN
#error "JT_WORKER_BIN (the jouletrace-worker executable) must be defined by the build"
#endif
#ifndef JT_BROKER_DIR
#error "JT_BROKER_DIR (the repository's broker/ folder) must be defined by the build"
#endif

#define SECRET "webhook-test-secret-0123456789abcdef"
#define BACKOFF_MS 50
#define WAIT_S 60.0

typedef struct {
    char dir[128];
    char secret_path[256];
    char env[4][3000]; /* the gateway's extra settings */
    wr_t *rx;          /* the receiver the callbacks name */
    wr_t *other;       /* a second one: redirect target, or outside the allowlist */
    void *gw;          /* the gateway fixture (fx_t) */
    jt_proc_t worker;
    jt_nats_server_t auth; /* auth_users_deliver: a server of broker/nats-server-auth.conf */
    jt_bus_t auth_bus;     /* ... its worker user */
    bool auth_bus_open;
    jt_proc_t auth_gateway; /* ... a gateway connected as its gateway user */
} hk_t;

static int hk_setup(void **state)
{
    hk_t *hk = calloc(1, sizeof *hk);
    if (hk == NULL)
        return -1;
    *state = hk;
    return 0;
}

static int hk_teardown(void **state)
{
    hk_t *hk = *state;
    int rc = 0;
    if (hk == NULL)
        return 0;
    if (hk->worker.pid > 0) {
        if (getenv("JT_TEST_VERBOSE") != NULL)
            jt_proc_dump_log("worker", hk->worker.log, 8000);
        jt_proc_stop(&hk->worker.pid, SIGTERM, 30.0, true);
    }
    if (hk->auth_gateway.pid > 0)
        jt_proc_stop(&hk->auth_gateway.pid, SIGKILL, 10.0, false);
    if (hk->auth_bus_open)
        jt_bus_close(&hk->auth_bus);
    jt_nats_server_stop(&hk->auth);
    if (hk->gw != NULL) {
        if (getenv("JT_TEST_VERBOSE") != NULL)
            jt_proc_dump_log("gateway", ((fx_t *)hk->gw)->gw.log, 8000);
        rc = gateway_teardown(&hk->gw);
    }
    wr_stop(hk->rx);
    wr_stop(hk->other);
    if (hk->dir[0] != '\0')
        jt_temp_dir_remove(hk->dir);
    free(hk);
    return rc;
}

static fx_t *fx_of(hk_t *hk)
{
    return hk->gw;
}

/* Fail the case after showing the logs. */
static void hk_fail(hk_t *hk, const char *what)
{
    if (hk->gw != NULL)
        jt_proc_dump_log("gateway", fx_of(hk)->gw.log, 8000);
    if (hk->worker.pid > 0 || hk->worker.log[0] != '\0')
        jt_proc_dump_log("worker", hk->worker.log, 8000);
    fail_msg("%s", what);
}

#define HK_CHECK(hk, cond)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            hk_fail((hk), "check failed: " #cond);                                                 \
    } while (0)

/* The case's directory and the secret file in it (mode given). */
static void hk_files(hk_t *hk, mode_t mode)
{
    assert_int_equal(jt_temp_dir_make(hk->dir, sizeof hk->dir, "jt-webhooks"), 0);
    snprintf(hk->secret_path, sizeof hk->secret_path, "%s/secret", hk->dir);
    FILE *f = fopen(hk->secret_path, "w");
    assert_non_null(f);
    fputs(SECRET "\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(hk->secret_path, mode), 0);
}

/* The receivers (rx answers script), the secret file and the gateway, whose allowlist holds rx's
 * /hooks/ and, with allow_other, the other receiver's /hooks/ too. */
static void hk_boot(hk_t *hk, const wr_action_t *script, size_t n, bool allow_other)
{
    char redirect[128];
    hk_files(hk, 0600);

    hk->other = wr_start(SECRET, NULL, 0, NULL);
    assert_non_null(hk->other);
    snprintf(redirect, sizeof redirect, "http://127.0.0.1:%d/hooks/target", wr_port(hk->other));
    hk->rx = wr_start(SECRET, script, n, redirect);
    assert_non_null(hk->rx);

    int k = snprintf(hk->env[0], sizeof hk->env[0],
                     "JOULETRACE_CALLBACK_ALLOW=http://127.0.0.1:%d/hooks/", wr_port(hk->rx));
    if (allow_other)
        snprintf(hk->env[0] + k, sizeof hk->env[0] - (size_t)k, ", http://127.0.0.1:%d/hooks/",
                 wr_port(hk->other));
    snprintf(hk->env[1], sizeof hk->env[1], "JOULETRACE_CALLBACK_SECRET_FILE=%s", hk->secret_path);
    snprintf(hk->env[2], sizeof hk->env[2], "JOULETRACE_CALLBACK_BACKOFF_MS=%d", BACKOFF_MS);
    snprintf(hk->env[3], sizeof hk->env[3], "JOULETRACE_LOG_LEVEL=debug");
    const char *const extra[] = {hk->env[0], hk->env[1], hk->env[2], hk->env[3], NULL};
    gateway_setup_with(&hk->gw, extra);
}

/* A real worker with the estimate meter and no calibration file, pulling once it beats. */
static void hk_start_worker(hk_t *hk)
{
    fx_t *fx = fx_of(hk);
    char sandbox[256], url[320], cal[320], sbvar[320];
    snprintf(sandbox, sizeof sandbox, "%s/sandbox", hk->dir);
    assert_int_equal(mkdir(sandbox, 0700), 0);
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", fx->nats.url);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s/missing-calibration.json", hk->dir);
    snprintf(sbvar, sizeof sbvar, "JOULETRACE_SANDBOX_DIR=%s", sandbox);
    const char *vars[] = {url,   "JOULETRACE_METER=estimate",  cal,
                          sbvar, "JOULETRACE_WORKER_ID=hk-w1", "JOULETRACE_LOG_LEVEL=debug",
                          NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    snprintf(hk->worker.id, sizeof hk->worker.id, "worker");
    snprintf(hk->worker.log, sizeof hk->worker.log, "%s/worker.log", hk->dir);
    assert_int_equal(jt_proc_start(&hk->worker, argv, vars, true), 0);
    double until = jt_nats_now() + 60.0;
    for (;;) {
        kvEntry *e = NULL;
        natsStatus s = kvStore_Get(&e, fx->bus.workers, "hk-w1");
        kvEntry_Destroy(e);
        if (s == NATS_OK)
            return;
        HK_CHECK(hk, jt_proc_alive(hk->worker.pid) && jt_nats_now() < until);
        jt_nats_sleep_ms(50);
    }
}

/* A job body: the candidate (correct or not) with callback_url (NULL: none). */
static char *job_body(bool correct, const char *callback_url)
{
    json_t *job =
        json_pack("{s:s, s:s, s:[{s:s, s:[i], s:i}], s:i, s:i, s:f, s:i}", "candidate_code",
                  correct ? "def solve(x):\n  return x * x\n" : "def solve(x):\n  return x + 1\n",
                  "function_name", "solve", "test_cases", "test_id", "t1", "inputs", 3,
                  "expected_output", 9, "energy_measurement_trials", 1, "warmup_trials", 0,
                  "min_trial_seconds", 0.0, "timeout_seconds", 20);
    assert_non_null(job);
    if (callback_url != NULL)
        json_object_set_new(job, "callback_url", json_string(callback_url));
    char *text = json_dumps(job, JSON_COMPACT);
    json_decref(job);
    assert_non_null(text);
    return text;
}

/* POST body until the view has seen the worker (503 before); the new task id (static). */
static const char *submit(hk_t *hk, const char *body)
{
    static char id[JT_TASK_ID_MAX + 1];
    double until = jt_nats_now() + WAIT_S;
    jt_curl_resp_t r;
    for (;;) {
        assert_int_equal(http(fx_of(hk), "POST", MEASURE, body, -1, NULL, &r), 0);
        if (r.status == 202)
            break;
        HK_CHECK(hk, r.status == 503 && jt_nats_now() < until);
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(100);
    }
    snprintf(id, sizeof id, "%s", jstr(r.json, "task_id"));
    jt_curl_resp_free(&r);
    return id;
}

/* GET /api/v1/tasks/<id>: the record (new reference). */
static json_t *get_task(hk_t *hk, const char *id)
{
    char path[64 + JT_TASK_ID_MAX];
    jt_curl_resp_t r;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    assert_int_equal(http(fx_of(hk), "GET", path, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *rec = json_incref(r.json);
    jt_curl_resp_free(&r);
    assert_non_null(rec);
    return rec;
}

/* Poll GET until the task's callback state is `state`; its record (new reference). */
static json_t *wait_callback(hk_t *hk, const char *id, const char *state, double seconds)
{
    double until = jt_nats_now() + seconds;
    for (;;) {
        json_t *rec = get_task(hk, id);
        const char *now = jstr(json_object_get(rec, "callback"), "state");
        if (now != NULL && strcmp(now, state) == 0)
            return rec;
        if (jt_nats_now() > until) {
            char *text = json_dumps(rec, JSON_COMPACT);
            fprintf(stderr, "last record: %.3000s\n", text != NULL ? text : "?");
            free(text);
            json_decref(rec);
            hk_fail(hk, "the callback did not reach the expected state in time");
        }
        json_decref(rec);
        jt_nats_sleep_ms(50);
    }
}

/* A final task record stored as a worker stores it, and its delivery queued to url. */
static void finish_and_queue(hk_t *hk, const char *id, const char *url)
{
    jt_error_t err;
    fx_t *fx = fx_of(hk);
    json_t *rec = jt_task_record_new(id, JT_TASK_FAILED);
    assert_non_null(rec);
    json_object_set_new(rec, "error_type", json_string("test"));
    assert_int_equal(jt_task_put(fx->bus.tasks, id, rec, 0, NULL, &err), JT_OK);
    json_decref(rec);
    if (jt_webhook_enqueue(&fx->bus, JT_WEBHOOK_KIND_TASK, id, "failed", url, &err) != JT_OK)
        fail_msg("jt_webhook_enqueue: %s", err.message);
}

static long json_int(const json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

/* ---- cases ------------------------------------------------------------------------------- */

/* The done-when: a receiver that fails the first two deliveries receives exactly one
 * accepted, correctly signed delivery per event; the state says delivered after 3 attempts. */
static void delivered_after_two_failures(void **state)
{
    hk_t *hk = *state;
    const wr_action_t script[] = {{WR_STATUS, 500}, {WR_STATUS, 500}};
    char url[128], delivery[64 + JT_TASK_ID_MAX];
    hk_boot(hk, script, 2, false);
    hk_start_worker(hk);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/jouletrace", wr_port(hk->rx));

    char *body = job_body(true, url);
    char id[JT_TASK_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", submit(hk, body));
    free(body);
    json_t *rec = wait_callback(hk, id, "delivered", 180.0);
    HK_CHECK(hk, strcmp(jstr(rec, "status"), "completed") == 0);
    json_t *cb = json_object_get(rec, "callback");
    HK_CHECK(hk, json_int(cb, "attempts") == 3);
    HK_CHECK(hk, json_int(cb, "last_status") == 200);
    HK_CHECK(hk, strcmp(jstr(cb, "event"), "completed") == 0);
    HK_CHECK(hk, strcmp(jstr(cb, "url"), url) == 0);
    HK_CHECK(hk, jstr(cb, "delivered_at") != NULL && jstr(cb, "queued_at") != NULL);
    HK_CHECK(hk, json_is_null(json_object_get(cb, "last_error")));
    json_decref(rec);

    /* three requests, all signed right, the same delivery; only the third was accepted */
    jt_nats_sleep_ms(1000); /* nothing more may come */
    HK_CHECK(hk, wr_count(hk->rx) == 3);
    snprintf(delivery, sizeof delivery, "task.%s.completed", id);
    for (int i = 0; i < 3; i++) {
        wr_request_t q;
        char attempt[8];
        HK_CHECK(hk, wr_request(hk->rx, i, &q));
        snprintf(attempt, sizeof attempt, "%d", i + 1);
        HK_CHECK(hk, q.signature_ok);
        HK_CHECK(hk, strcmp(q.method, "POST") == 0 && strcmp(q.path, "/hooks/jouletrace") == 0);
        HK_CHECK(hk, strcmp(q.event, "completed") == 0);
        HK_CHECK(hk, strcmp(q.delivery, delivery) == 0);
        HK_CHECK(hk, strcmp(q.attempt, attempt) == 0);
        HK_CHECK(hk, strcmp(q.content_type, "application/json") == 0);
        HK_CHECK(hk, q.answered == (i < 2 ? 500 : 200));
        json_t *posted = json_loadb(q.body, q.body_len, 0, NULL);
        HK_CHECK(hk, posted != NULL && strcmp(jstr(posted, "task_id"), id) == 0);
        HK_CHECK(hk, strcmp(jstr(posted, "status"), "completed") == 0);
        HK_CHECK(hk, json_is_object(json_object_get(posted, "energy_metrics")));
        json_decref(posted);
        wr_request_free(&q);
    }

    /* a second event (a wrong candidate: failed) is delivered once, at the first attempt */
    body = job_body(false, url);
    snprintf(id, sizeof id, "%s", submit(hk, body));
    free(body);
    rec = wait_callback(hk, id, "delivered", 120.0);
    HK_CHECK(hk, strcmp(jstr(rec, "status"), "failed") == 0);
    HK_CHECK(hk, json_int(json_object_get(rec, "callback"), "attempts") == 1);
    json_decref(rec);
    jt_nats_sleep_ms(1000);
    HK_CHECK(hk, wr_count(hk->rx) == 4);
    wr_request_t q;
    HK_CHECK(hk, wr_request(hk->rx, 3, &q));
    HK_CHECK(hk, q.signature_ok && strcmp(q.event, "failed") == 0 && q.answered == 200);
    wr_request_free(&q);
}

/* A queued task the gateway cancels never reaches a worker: the gateway queues its webhook. */
static void cancelled_while_queued(void **state)
{
    hk_t *hk = *state;
    char url[128], path[64 + JT_TASK_ID_MAX], id[JT_TASK_ID_MAX + 1];
    jt_curl_resp_t r;
    hk_boot(hk, NULL, 0, false);
    put_heartbeat(fx_of(hk), "hk-fake", true, "estimate"); /* admits jobs; runs none */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/cancel", wr_port(hk->rx));
    char *body = job_body(true, url);
    snprintf(id, sizeof id, "%s", submit(hk, body));
    free(body);
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    assert_int_equal(http(fx_of(hk), "DELETE", path, NULL, 0, NULL, &r), 0);
    HK_CHECK(hk, r.status == 202 && strcmp(jstr(r.json, "status"), "cancelled") == 0);
    jt_curl_resp_free(&r);
    json_t *rec = wait_callback(hk, id, "delivered", WAIT_S);
    json_t *cb = json_object_get(rec, "callback");
    HK_CHECK(hk, strcmp(jstr(cb, "event"), "cancelled") == 0 && json_int(cb, "attempts") == 1);
    json_decref(rec);
    wr_request_t q;
    HK_CHECK(hk, wr_request(hk->rx, 0, &q));
    HK_CHECK(hk, q.signature_ok && strcmp(q.event, "cancelled") == 0);
    json_t *posted = json_loadb(q.body, q.body_len, 0, NULL);
    HK_CHECK(hk, posted != NULL && strcmp(jstr(posted, "status"), "cancelled") == 0);
    json_decref(posted);
    wr_request_free(&q);
}

/* A callback outside the allowlist is refused at submit with 422 (field callback_url); one
 * queued straight on the bus is refused by the deliverer and never requested. */
static void outside_allowlist_refused(void **state)
{
    hk_t *hk = *state;
    char urls[6][160];
    hk_boot(hk, NULL, 0, false);
    int rx = wr_port(hk->rx), other = wr_port(hk->other);
    snprintf(urls[0], sizeof urls[0], "http://127.0.0.1:%d/hooks/x", other);
    snprintf(urls[1], sizeof urls[1], "http://127.0.0.1:%d@127.0.0.1:%d/hooks/x", rx, other);
    snprintf(urls[2], sizeof urls[2], "http://127.0.0.1:%d/hooksx", rx);
    snprintf(urls[3], sizeof urls[3], "http://127.1:%d/hooks/x", rx);
    snprintf(urls[4], sizeof urls[4], "https://127.0.0.1:%d/hooks/x", rx);
    snprintf(urls[5], sizeof urls[5], "ftp://127.0.0.1:%d/hooks/x", rx);
    for (int i = 0; i < 6; i++) {
        jt_curl_resp_t r;
        char *body = job_body(true, urls[i]);
        assert_int_equal(http(fx_of(hk), "POST", MEASURE, body, -1, NULL, &r), 0);
        free(body);
        if (r.status != 422)
            fail_msg("%s: status %ld, want 422: %s", urls[i], r.status, r.body ? r.body : "");
        check_envelope(&r, "validation_error", "callback_url");
        jt_curl_resp_free(&r);
    }
    /* an allowed one passes the check (then: no worker yet, 503) */
    jt_curl_resp_t r;
    char allowed[128];
    snprintf(allowed, sizeof allowed, "http://127.0.0.1:%d/hooks/x", rx);
    char *body = job_body(true, allowed);
    assert_int_equal(http(fx_of(hk), "POST", MEASURE, body, -1, NULL, &r), 0);
    free(body);
    assert_int_equal(r.status, 503);
    check_envelope(&r, "not_calibrated", NULL);
    jt_curl_resp_free(&r);

    /* a direct NATS publisher queues any URL: the deliverer refuses it unsent */
    finish_and_queue(hk, "direct-outside", urls[0]);
    json_t *rec = wait_callback(hk, "direct-outside", "refused", WAIT_S);
    json_t *cb = json_object_get(rec, "callback");
    HK_CHECK(hk, strstr(jstr(cb, "last_error"), "allowlist") != NULL);
    HK_CHECK(hk, json_int(cb, "attempts") == 1);
    json_decref(rec);
    jt_nats_sleep_ms(500);
    HK_CHECK(hk, wr_count(hk->other) == 0 && wr_count(hk->rx) == 0);

    /* a message that is no delivery at all is dropped from the queue, nothing requested */
    fx_t *fx = fx_of(hk);
    jsErrCode jerr = 0;
    assert_int_equal(js_Publish(NULL, fx->bus.js, JT_SUBJECT_WEBHOOKS, "\xc1junk", 5, NULL, &jerr),
                     NATS_OK);
    double until = jt_nats_now() + WAIT_S;
    uint64_t left = 1;
    while (left > 0 && jt_nats_now() < until) {
        jsStreamInfo *si = NULL;
        assert_int_equal(js_GetStreamInfo(&si, fx->bus.js, JT_STREAM_WEBHOOKS, NULL, &jerr),
                         NATS_OK);
        left = si->State.Msgs;
        jsStreamInfo_Destroy(si);
        jt_nats_sleep_ms(50);
    }
    HK_CHECK(hk, left == 0);
    HK_CHECK(hk, wr_count(hk->other) == 0 && wr_count(hk->rx) == 0);
}

/* A receiver that answers 302 is not followed, even to an allowed target: the delivery is
 * retried (then failed), and the redirect target never gets a request. */
static void redirect_not_followed(void **state)
{
    hk_t *hk = *state;
    wr_action_t script[WR_MAX_REQUESTS];
    for (int i = 0; i < WR_MAX_REQUESTS; i++)
        script[i] = (wr_action_t){WR_REDIRECT, 302};
    char url[128];
    hk_boot(hk, script, WR_MAX_REQUESTS, true);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/redirecting", wr_port(hk->rx));
    finish_and_queue(hk, "redirected", url);
    HK_CHECK(hk, wr_wait_count(hk->rx, 3, WAIT_S) >= 3);
    json_t *rec = wait_callback(hk, "redirected", "retrying", WAIT_S);
    json_t *cb = json_object_get(rec, "callback");
    HK_CHECK(hk, json_int(cb, "last_status") == 302);
    HK_CHECK(hk, json_int(cb, "attempts") >= 3);
    HK_CHECK(hk, jstr(cb, "next_attempt_at") != NULL);
    HK_CHECK(hk, json_is_null(json_object_get(cb, "delivered_at")));
    json_decref(rec);
    for (int i = 0; i < 3; i++) {
        wr_request_t q;
        HK_CHECK(hk, wr_request(hk->rx, i, &q));
        HK_CHECK(hk, q.signature_ok && q.answered == 302);
        wr_request_free(&q);
    }
    HK_CHECK(hk, wr_count(hk->other) == 0);
}

/* A receiver that closes mid-response, then one that hangs: the HTTP API keeps answering at
 * once meanwhile, the hang costs the request timeout, and the third attempt is delivered. */
static void hanging_receiver_does_not_block(void **state)
{
    hk_t *hk = *state;
    const wr_action_t script[] = {{WR_CUT, 0}, {WR_HANG, 0}};
    char url[128];
    hk_boot(hk, script, 2, false);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/slow", wr_port(hk->rx));
    finish_and_queue(hk, "slow", url);
    HK_CHECK(hk, wr_wait_count(hk->rx, 2, WAIT_S) == 2); /* the hang has begun */

    double t0 = jt_nats_now();
    jt_curl_resp_t r;
    assert_int_equal(http(fx_of(hk), "GET", "/api/v1/health", NULL, 0, NULL, &r), 0);
    HK_CHECK(hk, r.status == 200 || r.status == 503);
    jt_curl_resp_free(&r);
    json_t *rec = get_task(hk, "slow");
    HK_CHECK(hk, jt_nats_now() - t0 < 2.0);
    json_t *cb = json_object_get(rec, "callback");
    HK_CHECK(hk, strcmp(jstr(cb, "state"), "delivering") == 0 && json_int(cb, "attempts") == 2);
    json_decref(rec);

    rec = wait_callback(hk, "slow", "delivered", WAIT_S);
    HK_CHECK(hk, json_int(json_object_get(rec, "callback"), "attempts") == 3);
    json_decref(rec);
    HK_CHECK(hk, wr_count(hk->rx) == 3);
    wr_request_t q;
    HK_CHECK(hk, wr_request(hk->rx, 1, &q));
    HK_CHECK(hk, q.answered == 0 && q.signature_ok);
    wr_request_free(&q);
}

/* SIGTERM while a request hangs: the gateway stops cleanly within seconds, and the delivery is
 * handed back with its state saying why. */
static void sigterm_during_delivery(void **state)
{
    hk_t *hk = *state;
    const wr_action_t script[] = {{WR_HANG, 0}};
    char url[128];
    hk_boot(hk, script, 1, false);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/hang", wr_port(hk->rx));
    finish_and_queue(hk, "hung", url);
    HK_CHECK(hk, wr_wait_count(hk->rx, 1, WAIT_S) == 1);
    fx_t *fx = fx_of(hk);
    double t0 = jt_nats_now();
    int status = stop_gateway(fx);
    double took = jt_nats_now() - t0;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) || took > 8.0) {
        fprintf(stderr, "gateway stop: status 0x%x after %.1f s\n", (unsigned)status, took);
        hk_fail(hk, "the gateway did not stop cleanly during a delivery");
    }
    json_t *st = jt_webhook_state_get(&fx->bus, JT_WEBHOOK_KIND_TASK, "hung");
    HK_CHECK(hk, st != NULL);
    HK_CHECK(hk, strcmp(jstr(st, "state"), "retrying") == 0);
    HK_CHECK(hk, strstr(jstr(st, "last_error"), "stopped") != NULL);
    HK_CHECK(hk, json_int(st, "attempts") == 1); /* the stop burnt no further attempts */
    json_decref(st);
    HK_CHECK(hk, wr_count(hk->rx) == 1);
}

/* Callbacks allowed without a signing secret, or with one others may read: exit 2. */
static void secret_required_at_start(void **state)
{
    hk_t *hk = *state;
    char secret[300], log[256];
    hk_files(hk, 0644);
    snprintf(secret, sizeof secret, "JOULETRACE_CALLBACK_SECRET_FILE=%s", hk->secret_path);
    const char *no_secret[] = {"JOULETRACE_CALLBACK_ALLOW=http://127.0.0.1:9/hooks/",
                               "JOULETRACE_HTTP_ADDR=127.0.0.1:9", NULL};
    const char *loose[] = {"JOULETRACE_CALLBACK_ALLOW=http://127.0.0.1:9/hooks/", secret,
                           "JOULETRACE_HTTP_ADDR=127.0.0.1:9", NULL};
    const char *bad_list[] = {"JOULETRACE_CALLBACK_ALLOW=http://user@127.0.0.1:9/", NULL};
    const char *const *cases[] = {no_secret, loose, bad_list};
    const char *needles[] = {"JOULETRACE_CALLBACK_SECRET_FILE", "chmod 600", "userinfo"};
    for (int i = 0; i < 3; i++) {
        snprintf(log, sizeof log, "%s/gateway-%d.log", hk->dir, i);
        char **envp = jt_proc_envp("JOULETRACE_", cases[i]);
        assert_non_null(envp);
        char *argv[] = {(char *)gateway_bin(), NULL};
        pid_t pid = jt_proc_spawn(argv, envp, log, SIGKILL, false);
        free(envp);
        assert_true(pid > 0);
        int status = 0;
        assert_true(jt_proc_reap(pid, 20.0, &status));
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 2)) {
            jt_proc_dump_log("gateway", log, 4000);
            fail_msg("case %d: status 0x%x, want exit 2", i, (unsigned)status);
        }
        char text[4096] = "";
        FILE *f = fopen(log, "r");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        if (strstr(text, needles[i]) == NULL)
            fail_msg("case %d: the log does not say \"%s\": %s", i, needles[i], text);
        assert_null(strstr(text, "webhook-test-secret"));
    }
}

/* The users of broker/nats-server-auth.conf: the worker user queues a delivery, the gateway user
 * fetches, delivers and records it, and the client user may not queue one. */
static void auth_users_deliver(void **state)
{
    hk_t *hk = *state;
    char url[256], nats_url[320], addr[64], allow[160], secret[300], hook[128];
    jt_error_t err;
    jsErrCode jerr = 0;
    hk_files(hk, 0600);
    hk->rx = wr_start(SECRET, NULL, 0, NULL);
    assert_non_null(hk->rx);
    setenv("JOULETRACE_NATS_ADMIN_PASSWORD", "admin-pw", 1);
    setenv("JOULETRACE_NATS_GATEWAY_PASSWORD", "gateway-pw", 1);
    setenv("JOULETRACE_NATS_WORKER_PASSWORD", "worker-pw", 1);
    setenv("JOULETRACE_NATS_CLIENT_PASSWORD", "client-pw", 1);
    assert_int_equal(jt_nats_server_start_config(&hk->auth, JT_BROKER_DIR "/nats-server-auth.conf"),
                     0);

    /* the worker user: topology, the final record, the delivery queued */
    snprintf(url, sizeof url, "nats://worker:worker-pw@127.0.0.1:%d", hk->auth.client_port);
    if (jt_bus_connect(url, "worker", NULL, &hk->auth_bus, &err) != JT_OK)
        fail_msg("worker user: %s", err.message);
    hk->auth_bus_open = true;
    json_t *rec = jt_task_record_new("authed", JT_TASK_COMPLETED);
    assert_int_equal(jt_task_put(hk->auth_bus.tasks, "authed", rec, 0, NULL, &err), JT_OK);
    json_decref(rec);
    snprintf(hook, sizeof hook, "http://127.0.0.1:%d/hooks/auth", wr_port(hk->rx));
    if (jt_webhook_enqueue(&hk->auth_bus, JT_WEBHOOK_KIND_TASK, "authed", "completed", hook,
                           &err) != JT_OK)
        fail_msg("worker user cannot queue a webhook: %s", err.message);

    /* the client user may not */
    natsConnection *cl = NULL;
    jsCtx *cljs = NULL;
    jsOptions jo;
    snprintf(url, sizeof url, "nats://client:client-pw@127.0.0.1:%d", hk->auth.client_port);
    assert_int_equal(natsConnection_ConnectTo(&cl, url), NATS_OK);
    jsOptions_Init(&jo);
    jo.Wait = 500; /* a denied JetStream publish shows up as a timeout */
    assert_int_equal(natsConnection_JetStream(&cljs, cl, &jo), NATS_OK);
    assert_int_not_equal(js_Publish(NULL, cljs, JT_SUBJECT_WEBHOOKS, "x", 1, NULL, &jerr), NATS_OK);
    jsCtx_Destroy(cljs);
    natsConnection_Destroy(cl);

    /* the gateway user delivers it */
    snprintf(nats_url, sizeof nats_url,
             "JOULETRACE_NATS_URL=nats://gateway:gateway-pw@127.0.0.1:%d", hk->auth.client_port);
    int port = jt_proc_free_port();
    assert_true(port > 0);
    snprintf(addr, sizeof addr, "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", port);
    snprintf(allow, sizeof allow, "JOULETRACE_CALLBACK_ALLOW=http://127.0.0.1:%d/hooks/",
             wr_port(hk->rx));
    snprintf(secret, sizeof secret, "JOULETRACE_CALLBACK_SECRET_FILE=%s", hk->secret_path);
    const char *vars[] = {nats_url, addr, allow, secret, "JOULETRACE_CALLBACK_BACKOFF_MS=50", NULL};
    char *argv[] = {(char *)gateway_bin(), NULL};
    snprintf(hk->auth_gateway.id, sizeof hk->auth_gateway.id, "gateway");
    snprintf(hk->auth_gateway.log, sizeof hk->auth_gateway.log, "%s/gateway.log", hk->dir);
    assert_int_equal(jt_proc_start(&hk->auth_gateway, argv, vars, false), 0);
    if (wr_wait_count(hk->rx, 1, WAIT_S) < 1) {
        jt_proc_dump_log("gateway", hk->auth_gateway.log, 8000);
        fail_msg("no delivery from the gateway user");
    }
    wr_request_t q;
    assert_true(wr_request(hk->rx, 0, &q));
    assert_true(q.signature_ok && q.answered == 200);
    wr_request_free(&q);
    double until = jt_nats_now() + WAIT_S;
    json_t *st = NULL;
    while ((st = jt_webhook_state_get(&hk->auth_bus, JT_WEBHOOK_KIND_TASK, "authed")) == NULL ||
           strcmp(jstr(st, "state"), "delivered") != 0) {
        json_decref(st);
        if (jt_nats_now() > until) {
            jt_proc_dump_log("gateway", hk->auth_gateway.log, 8000);
            fail_msg("the gateway user did not record the delivery");
        }
        jt_nats_sleep_ms(50);
    }
    json_decref(st);
    /* acked: the work queue holds nothing more */
    uint64_t left = 1;
    until = jt_nats_now() + 10.0;
    while (left > 0 && jt_nats_now() < until) {
        jsStreamInfo *si = NULL;
        assert_int_equal(js_GetStreamInfo(&si, hk->auth_bus.js, JT_STREAM_WEBHOOKS, NULL, &jerr),
                         NATS_OK);
        left = si->State.Msgs;
        jsStreamInfo_Destroy(si);
        if (left > 0)
            jt_nats_sleep_ms(50);
    }
    if (left > 0) {
        jt_proc_dump_log("gateway", hk->auth_gateway.log, 8000);
        fail_msg("the gateway user did not ack the delivery");
    }
    int status = jt_proc_stop(&hk->auth_gateway.pid, SIGTERM, 10.0, false);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        jt_proc_dump_log("gateway", hk->auth_gateway.log, 8000);
        fail_msg("gateway status 0x%x, want exit 0", (unsigned)status);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(delivered_after_two_failures, hk_setup, hk_teardown),
    cmocka_unit_test_setup_teardown(cancelled_while_queued, hk_setup, hk_teardown),
    cmocka_unit_test_setup_teardown(outside_allowlist_refused, hk_setup, hk_teardown),
    cmocka_unit_test_setup_teardown(redirect_not_followed, hk_setup, hk_teardown),
    cmocka_unit_test_setup_teardown(hanging_receiver_does_not_block, hk_setup, hk_teardown),
    cmocka_unit_test_setup_teardown(sigterm_during_delivery, hk_setup, hk_teardown),
    cmocka_unit_test_setup_teardown(secret_required_at_start, hk_setup, hk_teardown),
    cmocka_unit_test_setup_teardown(auth_users_deliver, hk_setup, hk_teardown),
};

JT_UNIT_MAIN(tests)
