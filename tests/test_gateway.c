/* test_gateway.c -- end-to-end tests of jouletrace-gateway's tasks: submit, read, cancel, stream;
 * real nats-server, real gateway, libcurl. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit_main.h"

#include "bus_names.h"
#include "gateway_fixture.h"
#include "gateway_http.h"
#include "gateway_worker.h"
#include "job_msgpack.h"
#include "protocol.h"
#include "task_state.h"
#include "value.h"

/* Every case (argv[1]) is one ctest entry (tests/gateway.cmake) with the
 * fixture of support/gateway_fixture.h. The other routes, refused requests, NATS down
 * and shutdown are in test_gateway_service.c. */

static int setup_small_queue(void **state)
{
    static const char *const extra[] = {"JOULETRACE_MAX_PENDING_JOBS=1", NULL};
    return gateway_setup_with(state, extra);
}

/* How many jobs the jobs stream holds now. */
static uint64_t stream_msgs(fx_t *fx)
{
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, fx->bus.js, JT_STREAM_JOBS, NULL, NULL), NATS_OK);
    uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

/* ---- cases ------------------------------------------------------------------------------- */

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

/* A REST body with 2**70 and -2**80 reaches the bus exact: the published
 * job holds them as msgpack ext type 1 with their decimal text. */
static void big_integers_exact_on_the_bus(void **state)
{
    fx_t *fx = *state;
    static const char body[] =
        "{\"candidate_code\": \"def solve(x, y):\\n  return x\\n\", \"test_cases\": "
        "[{\"inputs\": [1180591620717411303424, -1208925819614629174706176], "
        "\"expected_output\": 1180591620717411303424}]}";
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    jt_curl_resp_t r;
    double deadline = jt_nats_now() + 5.0;
    do { /* until the view has seen the heartbeat */
        assert_int_equal(http(fx, "POST", MEASURE, body, -1, NULL, &r), 0);
        if (r.status == 202)
            break;
        jt_curl_resp_free(&r);
        jt_nats_sleep_ms(50);
    } while (jt_nats_now() < deadline);
    assert_int_equal(r.status, 202);
    jt_curl_resp_free(&r);
    natsMsg *m = NULL;
    assert_int_equal(js_GetMsg(&m, fx->bus.js, JT_STREAM_JOBS, 1, NULL, NULL), NATS_OK);
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    assert_int_equal(jt_job_from_msgpack(&job, (const uint8_t *)natsMsg_GetData(m),
                                         (size_t)natsMsg_GetDataLength(m), &err),
                     JT_OK);
    msgpack_unpacked in;
    assert_true(jt_mp_unpack_one(&in, job.test_cases[0].inputs.data, job.test_cases[0].inputs.len));
    static const char *const want[] = {"1180591620717411303424", "-1208925819614629174706176"};
    for (uint32_t i = 0; i < 2; i++) {
        const msgpack_object *x = &in.data.via.array.ptr[i];
        assert_int_equal(x->type, MSGPACK_OBJECT_EXT);
        assert_int_equal(x->via.ext.type, JT_MP_EXT_BIGINT);
        assert_int_equal(x->via.ext.size, strlen(want[i]));
        assert_memory_equal(x->via.ext.ptr, want[i], strlen(want[i]));
    }
    msgpack_unpacked_destroy(&in);
    jt_job_cleanup(&job);
    natsMsg_Destroy(m);
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

/* GOOD_JOB with another trial count: the same task for no Idempotency-Key. */
#define OTHER_JOB                                                                                  \
    "{\"candidate_code\":\"def solve(x):\\n  return x * x\\n\",\"function_name\":\"solve\","       \
    "\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[2],\"expected_output\":4}],"                  \
    "\"energy_measurement_trials\":4,\"timeout_seconds\":20}"

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
    /* The first key with another body: 422 naming the first task, nothing published. */
    jt_curl_resp_t d;
    assert_int_equal(http(fx, "POST", MEASURE, OTHER_JOB, -1, hdrs, &d), 0);
    check_key_reused(&d, jstr(a.json, "task_id"));
    assert_int_equal(stream_msgs(fx), 2);
    /* ...and the same bytes again are still the first task's retry. */
    jt_curl_resp_free(&b);
    assert_int_equal(http(fx, "POST", MEASURE, GOOD_JOB, -1, hdrs, &b), 0);
    assert_int_equal(b.status, 202);
    assert_string_equal(jstr(a.json, "task_id"), jstr(b.json, "task_id"));
    jt_curl_resp_free(&a);
    jt_curl_resp_free(&b);
    jt_curl_resp_free(&c);
    jt_curl_resp_free(&d);
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

#define CASE(f) cmocka_unit_test_setup_teardown(f, gateway_setup, gateway_teardown)

static const struct CMUnitTest tests[] = {
    CASE(not_calibrated),
    CASE(accepted_in_stream),
    CASE(big_integers_exact_on_the_bus),
    CASE(get_queued_record),
    CASE(idempotency),
    CASE(cancel_queued),
    CASE(sse_progress),
    cmocka_unit_test_setup_teardown(queue_full, setup_small_queue, gateway_teardown),
    CASE(concurrent_posts),
    CASE(cancel_running),
};

JT_UNIT_MAIN(tests)
