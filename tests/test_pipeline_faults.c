/* test_pipeline_faults.c -- end to end under faults: cancels, kill -9, gateway restart, bad
 * input. */
#include "unit_main.h"

#include <errno.h>
#include <jansson.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus_names.h"
#include "candidate.h"
#include "curl_client.h"
#include "json_path.h"
#include "pipeline_bus.h"
#include "pipeline_fixture.h"
#include "pipeline_http.h"
#include "pipeline_job.h"
#include "pipeline_record.h"
#include "proc_scan.h"

/* Every case (argv[1]) is one ctest entry (tests/pipeline.cmake) and starts
 * the whole system afresh (support/pipeline_fixture.h). The life of a job without
 * faults is in test_pipeline.c. */

/* ---- sandbox processes --------------------------------------------------------------------- */

/* Live processes whose environment names this case's sandbox directory (the
 * workers, their sandbox runners, the runners' ready sandbox children and
 * anything forked for a job), with their depth below a live worker. */
static size_t pl_sandbox_procs(const pl_t *pl, jt_scan_proc_t *out, size_t max)
{
    pid_t workers[PL_WORKERS];
    size_t nw = 0;
    for (int i = 0; i < PL_WORKERS; i++)
        if (pl->w[i].pid > 0)
            workers[nw++] = pl->w[i].pid;
    size_t n = jt_scan_env_procs(pl->sandbox_env, out, max);
    jt_scan_set_depths(out, n, workers, nw);
    return n;
}

/* Wait up to `seconds` until no process forked for a job is left: beside the
 * live workers only their runners and each runner's one idle ready child
 * remain (a runner keeps a confined child waiting for the next job). */
static void pl_check_no_sandbox_left(pl_t *pl, double seconds)
{
    static jt_scan_proc_t procs[PL_MAX_PROCS], before[PL_MAX_PROCS];
    static bool stray[PL_MAX_PROCS];
    double until = jt_nats_now() + seconds;
    size_t strays, n;
    for (;;) {
        size_t nb = pl_sandbox_procs(pl, before, PL_MAX_PROCS);
        jt_nats_sleep_ms(1000);
        n = pl_sandbox_procs(pl, procs, PL_MAX_PROCS);
        strays = jt_scan_strays(procs, n, before, nb, stray);
        if (strays == 0 || jt_nats_now() > until)
            break;
    }
    if (strays != 0) {
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "process %d (parent %d, depth %d, %ld ticks)%s\n", (int)procs[i].pid,
                    (int)procs[i].ppid, procs[i].depth, procs[i].ticks, stray[i] ? " STRAY" : "");
        pl_fail(pl, "%zu sandbox processes of this case are left over", strays);
    }
}

/* Wait up to `seconds` until no process at all carries this case's sandbox
 * directory (after the workers were stopped). */
static void pl_check_no_process_left(pl_t *pl, double seconds)
{
    static jt_scan_proc_t procs[PL_MAX_PROCS];
    double until = jt_nats_now() + seconds;
    size_t n;
    while ((n = pl_sandbox_procs(pl, procs, PL_MAX_PROCS)) != 0 && jt_nats_now() < until)
        jt_nats_sleep_ms(200);
    if (n != 0) {
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "left: process %d (parent %d)\n", (int)procs[i].pid,
                    (int)procs[i].ppid);
        pl_fail(pl, "%zu processes of this case outlived the workers", n);
    }
}

/* ---- after a fault ---------------------------------------------------------------------- */

/* Wait up to 30 s until no job is left in the work queue; fails the case otherwise. */
static void wait_queue_empty(pl_t *pl)
{
    double until = jt_nats_now() + 30;
    while (jt_bus_pending_jobs(&pl->bus) != 0 && jt_nats_now() < until)
        jt_nats_sleep_ms(100);
    PL_CHECK(pl, jt_bus_pending_jobs(&pl->bus) == 0);
}

/* A small correct job is accepted and completes: the system is unharmed. */
static void check_small_job_completes(pl_t *pl)
{
    char good[128];
    char *body = pl_small_job(1);
    pl_post(pl, body, good, sizeof good);
    free(body);
    json_t *rec = pl_wait_final(pl, good, PL_WAIT_S);
    check_completed(pl, rec, 2);
    json_decref(rec);
}

/* ---- 1. cancel a queued and a running job --------------------------------------------- */

static void delete_task(pl_t *pl, const char *id, const char *want_status)
{
    char path[256];
    jt_curl_resp_t r;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    PL_CHECK(pl, jt_curl_request(pl->port, "DELETE", path, NULL, 0, NULL, 20, &r) == 0);
    if (r.status != 202 || strcmp(jt_json_str(r.json, "status"), want_status) != 0)
        pl_fail(pl, "DELETE %s -> %ld %s, want 202 %s", id, r.status, r.body ? r.body : "",
                want_status);
    jt_curl_resp_free(&r);
}

static void cancel_queued_and_running(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char running[128], waiting[128], queued[128];
    char *body = pl_burn_job(50, 2.0); /* minutes of trials */
    pl_post(pl, body, running, sizeof running);
    free(body);
    json_t *rec = pl_wait_status(pl, running, "measuring", PL_WAIT_S);
    json_decref(rec);
    /* the other worker validates the next job, then waits for the socket */
    body = pl_small_job(1);
    pl_post(pl, body, waiting, sizeof waiting);
    rec = pl_wait_status(pl, waiting, "waiting_for_socket", PL_WAIT_S);
    json_decref(rec);
    /* both workers are busy: this one stays in the queue */
    pl_post(pl, body, queued, sizeof queued);
    free(body);
    jt_nats_sleep_ms(1000);
    rec = pl_get(pl, queued, NULL);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "status"), "queued") == 0);
    json_decref(rec);

    delete_task(pl, queued, "cancelled");
    rec = pl_get(pl, queued, NULL);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "status"), "cancelled") == 0);
    json_decref(rec);

    delete_task(pl, running, "cancelling");
    rec = pl_wait_final(pl, running, 60);
    if (strcmp(jt_json_str(rec, "status"), "cancelled") != 0) {
        pl_show("record", rec);
        pl_fail(pl, "the running job ended %s", jt_json_str(rec, "status"));
    }
    PL_CHECK(pl, strcmp(jt_json_str(rec, "error_type"), "cancelled") == 0);
    PL_CHECK(pl, json_is_object(json_object_get(rec, "validation"))); /* the gate had passed */
    json_decref(rec);

    /* the socket is free again: the waiting job completes */
    rec = pl_wait_final(pl, waiting, PL_WAIT_S);
    check_completed(pl, rec, 2);
    json_decref(rec);

    /* the cancelled queued job is taken from the queue but never run */
    wait_queue_empty(pl);
    rec = pl_get(pl, queued, NULL);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "status"), "cancelled") == 0);
    PL_CHECK(pl, json_object_get(rec, "validation") == NULL);
    PL_CHECK(pl, json_object_get(rec, "trials") == NULL);
    json_decref(rec);

    /* no process forked for a job remains; none at all once the workers stop */
    pl_check_no_sandbox_left(pl, 15.0);
    for (int i = 0; i < PL_WORKERS; i++)
        PL_CHECK(pl, pl_stop(&pl->w[i], 30.0) == 0);
    pl_check_no_process_left(pl, 10.0);
}

/* ---- 2. kill -9 of the measuring worker ----------------------------------------------- */

static void kill9_measuring_worker(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    natsSubscription *results = pl_subscribe_results(pl);
    char *body = pl_burn_job(4, 1.0);
    char id[128];
    pl_post(pl, body, id, sizeof id);
    free(body);
    json_t *rec = pl_wait_status(pl, id, "measuring", PL_WAIT_S);
    int victim = pl_worker_index(pl, jt_json_str(rec, "worker"));
    json_decref(rec);
    PL_CHECK(pl, victim >= 0);
    int survivor = 1 - victim;
    char victim_id[32];
    snprintf(victim_id, sizeof victim_id, "%s", pl->w[victim].id);
    PL_CHECK(pl, kill(pl->w[victim].pid, SIGKILL) == 0);
    waitpid(pl->w[victim].pid, NULL, 0);
    pl->w[victim].pid = 0;
    print_message("killed %s while it measured task %s\n", victim_id, id);

    /* AckWait (30 s) brings the job back; the lease (10 s TTL) has expired by then */
    rec = pl_wait_final(pl, id, 150.0);
    check_completed(pl, rec, 1);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "worker"), pl->w[survivor].id) == 0);
    json_decref(rec);

    /* exactly one final message on the result subject */
    char subject[256];
    PL_CHECK(pl, jt_bus_task_subject(subject, sizeof subject, JT_SUBJECT_RESULT_PREFIX, id));
    int mine = 0;
    natsMsg *msg = NULL;
    while (natsSubscription_NextMsg(&msg, results, 5000) == NATS_OK) {
        if (strcmp(natsMsg_GetSubject(msg), subject) == 0)
            mine++;
        natsMsg_Destroy(msg);
        msg = NULL;
    }
    natsSubscription_Destroy(results);
    if (mine != 1)
        pl_fail(pl, "%d results were published for task %s, want exactly 1", mine, id);
    PL_CHECK(pl, jt_proc_alive(pl->w[survivor].pid));
    /* the victim's runner and sandbox died with it */
    pl_check_no_sandbox_left(pl, 15.0);
}

/* ---- 3. restart the gateway ----------------------------------------------------------- */

static void gateway_restart_keeps_state(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char done[128], wrong[128], inflight[128], after[128];
    char *body = pl_small_job(1);
    pl_post(pl, body, done, sizeof done);
    json_t *rec_done = pl_wait_final(pl, done, PL_WAIT_S);
    check_completed(pl, rec_done, 2);
    char *bad = pl_job_body("def solve(a, b):\n    return 0\n", ADD_CASES, 1, 0, 0.05, 5.0);
    pl_post(pl, bad, wrong, sizeof wrong);
    free(bad);
    json_t *rec_wrong = pl_wait_final(pl, wrong, PL_WAIT_S);
    PL_CHECK(pl, strcmp(jt_json_str(rec_wrong, "status"), "failed") == 0);
    char *slow = pl_burn_job(3, 0.5);
    pl_post(pl, slow, inflight, sizeof inflight);
    free(slow);

    int port = pl->port;
    PL_CHECK(pl, pl_stop(&pl->gw, 20.0) == 0);
    /* start again on the same port; the port may linger for a moment */
    double until = jt_nats_now() + 30;
    for (;;) {
        pl_start_gateway(pl, port);
        jt_nats_sleep_ms(500);
        if (jt_proc_alive(pl->gw.pid))
            break;
        waitpid(pl->gw.pid, NULL, 0);
        pl->gw.pid = 0;
        if (jt_nats_now() > until)
            pl_fail(pl, "the gateway did not start again on port %d", port);
    }
    pl_wait_ready(pl, PL_WORKERS, 60.0);

    json_t *again = pl_get(pl, done, NULL);
    PL_CHECK(pl, again != NULL && json_equal(again, rec_done));
    json_decref(again);
    again = pl_get(pl, wrong, NULL);
    PL_CHECK(pl, again != NULL && json_equal(again, rec_wrong));
    json_decref(again);
    long status = 0;
    again = pl_get(pl, "no-such-task-0000", &status);
    PL_CHECK(pl, again == NULL && status == 404);
    /* the job in flight during the restart finished and is served */
    again = pl_wait_final(pl, inflight, PL_WAIT_S);
    check_completed(pl, again, 1);
    json_decref(again);
    /* and the new gateway takes jobs */
    pl_post(pl, body, after, sizeof after);
    free(body);
    again = pl_wait_final(pl, after, PL_WAIT_S);
    check_completed(pl, again, 2);
    json_decref(again);
    json_decref(rec_done);
    json_decref(rec_wrong);
}

/* ---- 4. bad HTTP requests against the running system ------------------------------------- */

typedef struct {
    const char *method, *path, *body, *header;
    long status;
    const char *error; /* the envelope's error code */
    const char *field; /* details.field, NULL: not checked; a final '*' matches a prefix */
} bad_t;

static bool field_matches(const char *field, const char *want)
{
    size_t n = want != NULL ? strlen(want) : 0;
    if (want == NULL)
        return true;
    if (n > 0 && want[n - 1] == '*')
        return strncmp(field, want, n - 1) == 0;
    return strcmp(field, want) == 0;
}

#define TC "\"test_cases\":[{\"inputs\":[1],\"expected_output\":1}]"

static void bad_http_requests(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    static char deep[512], long_id[300], long_key[320];
    int k = snprintf(deep, sizeof deep,
                     "{\"candidate_code\":\"x\",\"test_cases\":[{"
                     "\"expected_output\":1,\"inputs\":");
    for (int i = 0; i < 100; i++)
        deep[k++] = '[';
    for (int i = 0; i < 100; i++)
        deep[k++] = ']';
    snprintf(deep + k, sizeof deep - (size_t)k, "}]}");
    char id[200];
    memset(id, 'a', 150);
    id[150] = '\0';
    snprintf(long_id, sizeof long_id, "/api/v1/tasks/%s", id);
    snprintf(long_key, sizeof long_key, "Idempotency-Key: %0290d", 1);
    const bad_t table[] = {
        {"POST", PL_MEASURE, "{\"candidate_code\":", NULL, 400, "invalid_json", ""},
        {"POST", PL_MEASURE, "", NULL, 400, "invalid_json", ""},
        {"POST", PL_MEASURE, "[\"not an object\"]", NULL, 422, "validation_error", ""},
        {"POST", PL_MEASURE, "{" TC "}", NULL, 422, "validation_error", "candidate_code"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\"}", NULL, 422, "validation_error",
         "test_cases"},
        {"POST", PL_MEASURE, "{\"candidate_code\":42," TC "}", NULL, 422, "validation_error",
         "candidate_code"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\",\"test_cases\":[]}", NULL, 422,
         "validation_error", "test_cases"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\",\"test_cases\":\"all\"}", NULL, 422,
         "validation_error", "test_cases"},
        {"POST", PL_MEASURE,
         "{\"candidate_code\":\"x\",\"test_cases\":[{\"inputs\":[1],\"expected_output\":1},"
         "{\"inputs\":[2]}]}",
         NULL, 422, "validation_error", "test_cases[1].expected_output"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\",\"test_cases\":[{\"expected_output\":1}]}",
         NULL, 422, "validation_error", "test_cases[0].inputs"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\"," TC ",\"surprise\":true}", NULL, 422,
         "validation_error", "surprise"},
        {"POST", "/api/v1/measure", "{\"candidate_code\":\"x\"," TC ",\"trials\":3}", NULL, 422,
         "validation_error", "trials"},
        {"POST", PL_MEASURE,
         "{\"candidate_code\":\"x\"," TC ",\"energy_measurement_trials\":\"3\"}", NULL, 422,
         "validation_error", "energy_measurement_trials"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\"," TC ",\"energy_measurement_trials\":51}",
         NULL, 422, "validation_error", "energy_measurement_trials"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\"," TC ",\"timeout_seconds\":-1}", NULL, 422,
         "validation_error", "timeout_seconds"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\"," TC ",\"memory_limit_mb\":1.5}", NULL, 422,
         "validation_error", "memory_limit_mb"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\"," TC ",\"function_name\":[]}", NULL, 422,
         "validation_error", "function_name"},
        {"POST", PL_MEASURE, deep, NULL, 422, "validation_error", "test_cases[0].inputs[0][0]*"},
        {"POST", PL_MEASURE, "{\"candidate_code\":\"x\"," TC "}", long_key, 400,
         "invalid_idempotency_key", "Idempotency-Key"},
        {"GET", "/api/v1/tasks/not.a.valid.id", NULL, NULL, 400, "invalid_task_id", "task_id"},
        {"GET", long_id, NULL, NULL, 400, "invalid_task_id", "task_id"},
        {"GET", "/api/v1/tasks/ffffffffffffffffffffffffffffffff", NULL, NULL, 404, "task_not_found",
         "task_id"},
        {"DELETE", "/api/v1/tasks/never-submitted", NULL, NULL, 404, "task_not_found", "task_id"},
        {"GET", "/api/v1/tasks/never-submitted/events", NULL, NULL, 404, "task_not_found",
         "task_id"},
        {"GET", PL_MEASURE, NULL, NULL, 405, "method_not_allowed", NULL},
        {"DELETE", "/api/v1/measure", NULL, NULL, 405, "method_not_allowed", NULL},
        {"POST", "/api/v1/tasks/abc", "{}", NULL, 405, "method_not_allowed", NULL},
        {"PUT", "/api/v1/health", "{}", NULL, 405, "method_not_allowed", NULL},
        {"GET", "/api/v2/measure", NULL, NULL, 404, "not_found", NULL},
    };
    size_t n = sizeof table / sizeof table[0];
    for (size_t i = 0; i < n; i++) {
        const bad_t *b = &table[i];
        const char *hdrs[] = {b->header, NULL};
        jt_curl_resp_t r;
        PL_CHECK(pl, jt_curl_request(pl->port, b->method, b->path, b->body, -1, hdrs, 20, &r) == 0);
        json_t *details = json_object_get(r.json, "details");
        bool ok = r.status == b->status && strcmp(jt_json_str(r.json, "error"), b->error) == 0 &&
                  json_is_string(json_object_get(r.json, "message")) &&
                  json_is_string(json_object_get(r.json, "request_id")) &&
                  json_is_object(details) && field_matches(jt_json_str(details, "field"), b->field);
        if (!ok)
            pl_fail(pl, "case %zu: %s %.60s -> %ld %s; want %ld %s field %s", i, b->method, b->path,
                    r.status, r.body ? r.body : "(no body)", b->status, b->error,
                    b->field ? b->field : "(any)");
        jt_curl_resp_free(&r);
    }
    /* over 4 MiB: 413, with the envelope */
    size_t big = (4u << 20) + 100;
    char *huge = malloc(big + 1);
    PL_CHECK(pl, huge != NULL);
    /* one JSON string of ~4 MiB: well-formed, only too large */
    memcpy(huge, "{\"candidate_code\":\"", 19);
    memset(huge + 19, 'x', big - 21);
    memcpy(huge + big - 2, "\"}", 2);
    huge[big] = '\0';
    jt_curl_resp_t r;
    PL_CHECK(pl, jt_curl_request(pl->port, "POST", PL_MEASURE, huge, (long)big, NULL, 60, &r) == 0);
    free(huge);
    if (r.status != 413 || strcmp(jt_json_str(r.json, "error"), "payload_too_large") != 0)
        pl_fail(pl, "a %zu-byte body gave %ld %s", big, r.status, r.body ? r.body : "");
    jt_curl_resp_free(&r);
    print_message("%zu bad requests answered 4xx with the envelope\n", n + 1);

    /* nothing reached the queue, nothing broke: a good job still completes */
    PL_CHECK(pl, pl_jobs_last_seq(pl) == 0);
    PL_CHECK(pl, jt_proc_alive(pl->gw.pid) && jt_proc_alive(pl->w[0].pid) &&
                     jt_proc_alive(pl->w[1].pid));
    check_small_job_completes(pl);
}

/* ---- 5. bad msgpack on the bus ----------------------------------------------------------- */

static void bad_msgpack_on_bus(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char garbage_id[64], typed_id[64];
    snprintf(garbage_id, sizeof garbage_id, "bad-msgpack-%d", (int)getpid());
    snprintf(typed_id, sizeof typed_id, "bad-types-%d", (int)getpid());
    static const uint8_t garbage[] = {0x82, 0xa1, 'x', 0xc1, 0xde, 0xad, 0xbe, 0xef};
    pl_publish_job(pl, garbage_id, garbage, sizeof garbage);
    /* well-formed msgpack, wrong types: candidate_code is a number */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "candidate_code", 14);
    msgpack_pack_int(&pk, 5);
    msgpack_pack_str_with_body(&pk, "test_cases", 10);
    msgpack_pack_array(&pk, 0);
    pl_publish_job(pl, typed_id, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);

    json_t *rec = pl_wait_final(pl, garbage_id, PL_WAIT_S);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "status"), "failed") == 0);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "error_type"), "invalid_job") == 0);
    PL_CHECK(pl, strstr(jt_json_str(rec, "error"), "invalid job") != NULL);
    json_decref(rec);
    rec = pl_wait_final(pl, typed_id, PL_WAIT_S);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "status"), "failed") == 0);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "error_type"), "invalid_job") == 0);
    if (strstr(jt_json_str(rec, "error"), "candidate_code") == NULL) {
        pl_show("record", rec);
        pl_fail(pl, "the error does not name the bad field");
    }
    json_decref(rec);

    /* the workers are unharmed: both alive, a good job completes, the queue drains */
    PL_CHECK(pl, jt_proc_alive(pl->w[0].pid) && jt_proc_alive(pl->w[1].pid));
    check_small_job_completes(pl);
    wait_queue_empty(pl);
    pl_wait_ready(pl, PL_WORKERS, 30.0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, pl_setup, pl_teardown)

static const struct CMUnitTest tests[] = {
    CASE(cancel_queued_and_running),   CASE(kill9_measuring_worker),
    CASE(gateway_restart_keeps_state), CASE(bad_http_requests),
    CASE(bad_msgpack_on_bus),
};

JT_UNIT_MAIN(tests)
