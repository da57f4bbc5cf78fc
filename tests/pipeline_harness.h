/* pipeline_harness.h -- test helper for the pipeline tests: the whole system as real processes.
 *
 * One case = one fixture: fake_rapl on a fresh tmpfs tree (driven by the busy
 * time of core 1), a calibration made against it, nats-server started from
 * broker/nats-server.conf on free loopback ports, jouletrace-gateway on a free
 * 127.0.0.1 port and two `jouletrace-worker run` processes (rapl-sysfs meter,
 * the same host, so they share one measurement lease), each started with
 * process_harness.h in a process group of its own. The test talks HTTP with
 * libcurl (curl_client.h) and NATS with nats.c, and reads /proc with
 * proc_scan.h. The test process and everything it starts live on core 0;
 * only sandboxed trials run on core 1.
 *
 * Shared by test_pipeline.c and test_pipeline_faults.c. Include once, after
 * unit_main.h (static functions, cmocka asserts). Each function here is used
 * by both programs (an unused static function is an error under JT_WERROR); a
 * helper that only one program needs lives in that program. Every function
 * runs on the test's main thread. Waits are generous and poll with backoff:
 * outcomes are judged, not speed.
 */
#ifndef JT_TESTS_PIPELINE_HARNESS_H
#define JT_TESTS_PIPELINE_HARNESS_H

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.h"
#include "bus_names.h"
#include "curl_client.h"
#include "fake_rapl.h"
#include "fake_tree.h"
#include "job.h"
#include "job_json.h"
#include "job_msgpack.h"
#include "json_path.h"
#include "nats_server.h"
#include "proc_scan.h"
#include "process_harness.h"
#include "task_state.h"
#include "value.h"

#define PL_MEASURE_CORE 1
#define PL_VALIDATE_CORE 0
#define PL_WORKERS 2
#define PL_MEASURE "/api/v1/measure-socket0"
#define PL_WAIT_S 180.0   /* a job reaches its end within this */
#define PL_MAX_PROCS 4096 /* processes looked at in one /proc scan */

typedef struct {
    char dir[128];         /* tmpfs directory of the case, removed in teardown */
    char rapl[192];        /* the fake powercap root */
    char cal[192];         /* the calibration file */
    char sandbox[192];     /* JOULETRACE_SANDBOX_DIR of both workers */
    char sandbox_env[224]; /* "JOULETRACE_SANDBOX_DIR=<sandbox>" as in /proc/<pid>/environ */
    jt_fake_rapl_t fake;
    jt_nats_server_t nats;
    jt_bus_t bus;
    bool bus_open;
    jt_proc_t gw;
    int port;
    jt_proc_t w[PL_WORKERS];
} pl_t;

/* ---- failures -------------------------------------------------------------------------- */

static void pl_dump_logs(const pl_t *pl)
{
    char path[256];
    jt_proc_dump_log("gateway", pl->gw.log, 6000);
    for (int i = 0; i < PL_WORKERS; i++)
        jt_proc_dump_log(pl->w[i].id, pl->w[i].log, 10000);
    snprintf(path, sizeof path, "%s/calibrate.log", pl->dir);
    jt_proc_dump_log("calibrate", path, 2000);
    FILE *f = fopen("/proc/loadavg", "r");
    char load[128] = "?";
    if (f != NULL) {
        if (fgets(load, sizeof load, f) == NULL)
            snprintf(load, sizeof load, "?");
        fclose(f);
    }
    fprintf(stderr, "load average: %s\n", load);
}

/* Fail the case after showing every process log. */
static void __attribute__((format(printf, 2, 3), noreturn))
pl_fail(const pl_t *pl, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pl_dump_logs(pl);
    fail_msg("%s", msg);
    abort(); /* fail_msg does not return */
}

#define PL_CHECK(pl, cond)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            pl_fail((pl), "%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                   \
    } while (0)

/* ---- small helpers --------------------------------------------------------------------- */

static void pl_show(const char *title, const json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    fprintf(stderr, "%s: %.6000s\n", title, text != NULL ? text : "(null)");
    free(text);
}

/* Every key of `keys` (NULL-terminated) is present in obj; else fail showing obj. */
static void pl_require_keys(const pl_t *pl, const json_t *obj, const char *where,
                            const char *const *keys)
{
    for (const char *const *k = keys; *k != NULL; k++)
        if (json_object_get(obj, *k) == NULL) {
            pl_show(where, obj);
            pl_fail(pl, "%s lacks \"%s\"", where, *k);
        }
}

static uint32_t pl_burn_expected(long n)
{
    uint32_t s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31u + (uint32_t)i;
    return s;
}

/* ---- processes --------------------------------------------------------------------------- */

/* SIGTERM p and wait; SIGKILL its process group after `seconds`. Returns
 * the exit code, 0 when it was not running, -1 when it had to be killed or
 * died by a signal. */
static int pl_stop(jt_proc_t *p, double seconds)
{
    if (p->pid <= 0)
        return 0;
    int status = jt_proc_stop(&p->pid, SIGTERM, seconds, true);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Wait (at most `budget` s) until the measurement core was quiet for a second:
 * calibrate refuses a busy core, and other programs of this machine may use it. */
static void pl_wait_quiet_core(double budget)
{
    double until = jt_nats_now() + budget;
    int quiet = 0;
    while (quiet < 2 && jt_nats_now() < until) {
        long long a = jt_scan_busy_ticks(PL_MEASURE_CORE);
        jt_nats_sleep_ms(500);
        long long b = jt_scan_busy_ticks(PL_MEASURE_CORE);
        quiet = (a >= 0 && b >= 0 && b - a <= 1) ? quiet + 1 : 0;
    }
}

/* `jouletrace-worker calibrate --seconds 2` against the fake tree, retried
 * when the box is busy (the load may be another program's). */
static void pl_calibrate(pl_t *pl)
{
    char v[6][320];
    snprintf(v[0], sizeof v[0], "JOULETRACE_METER=rapl-sysfs");
    snprintf(v[1], sizeof v[1], "JOULETRACE_POWERCAP_ROOT=%s", pl->rapl);
    snprintf(v[2], sizeof v[2], "JOULETRACE_MEASURE_CORE=%d", PL_MEASURE_CORE);
    snprintf(v[3], sizeof v[3], "JOULETRACE_VALIDATE_CORE=%d", PL_VALIDATE_CORE);
    /* energy values are not judged here: a noisy idle baseline is acceptable */
    snprintf(v[4], sizeof v[4], "JOULETRACE_CALIBRATION_MAX_CV_PERCENT=60");
    snprintf(v[5], sizeof v[5], "JOULETRACE_LOG_LEVEL=info");
    const char *vars[] = {v[0], v[1], v[2], v[3], v[4], v[5], NULL};
    char *argv[] = {(char *)JT_WORKER_BIN,
                    (char *)"calibrate",
                    (char *)"--seconds",
                    (char *)"2",
                    (char *)"--out",
                    pl->cal,
                    NULL};
    jt_proc_t c = {.id = "calibrate"};
    snprintf(c.log, sizeof c.log, "%s/calibrate.log", pl->dir);
    for (int attempt = 1; attempt <= 6; attempt++) {
        pl_wait_quiet_core(30.0);
        PL_CHECK(pl, jt_proc_start(&c, argv, vars, true) == 0);
        int status = 0;
        if (!jt_proc_reap(c.pid, 60.0, &status)) {
            jt_proc_stop(&c.pid, SIGKILL, 10.0, false);
            continue;
        }
        c.pid = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(pl->cal, R_OK) == 0)
            return;
        fprintf(stderr, "calibrate refused (attempt %d); retrying\n", attempt);
    }
    pl_fail(pl, "calibrate failed 6 times (is core %d busy with something else?)", PL_MEASURE_CORE);
}

static void pl_start_gateway(pl_t *pl, int port)
{
    char v[5][320];
    pl->port = port > 0 ? port : jt_proc_free_port();
    PL_CHECK(pl, pl->port > 0);
    snprintf(v[0], sizeof v[0], "JOULETRACE_NATS_URL=%s", pl->nats.url);
    snprintf(v[1], sizeof v[1], "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", pl->port);
    snprintf(v[2], sizeof v[2], "JOULETRACE_HTTP_THREADS=16");
    snprintf(v[3], sizeof v[3], "JOULETRACE_CALIBRATION=%s", pl->cal);
    snprintf(v[4], sizeof v[4], "JOULETRACE_LOG_LEVEL=info");
    const char *vars[] = {v[0], v[1], v[2], v[3], v[4], NULL};
    char *argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    snprintf(pl->gw.id, sizeof pl->gw.id, "gateway");
    snprintf(pl->gw.log, sizeof pl->gw.log, "%s/gateway.log", pl->dir);
    PL_CHECK(pl, jt_proc_start(&pl->gw, argv, vars, true) == 0);
}

static void pl_start_worker(pl_t *pl, int i)
{
    char v[10][320];
    jt_proc_t *w = &pl->w[i];
    snprintf(w->id, sizeof w->id, "pl-worker-%d", i + 1);
    snprintf(w->log, sizeof w->log, "%s/%s.log", pl->dir, w->id);
    snprintf(v[0], sizeof v[0], "JOULETRACE_NATS_URL=%s", pl->nats.url);
    snprintf(v[1], sizeof v[1], "JOULETRACE_WORKER_ID=%s", w->id);
    snprintf(v[2], sizeof v[2], "JOULETRACE_METER=rapl-sysfs");
    snprintf(v[3], sizeof v[3], "JOULETRACE_POWERCAP_ROOT=%s", pl->rapl);
    snprintf(v[4], sizeof v[4], "JOULETRACE_MEASURE_CORE=%d", PL_MEASURE_CORE);
    snprintf(v[5], sizeof v[5], "JOULETRACE_VALIDATE_CORE=%d", PL_VALIDATE_CORE);
    snprintf(v[6], sizeof v[6], "JOULETRACE_CALIBRATION=%s", pl->cal);
    snprintf(v[7], sizeof v[7], "%s", pl->sandbox_env);
    snprintf(v[8], sizeof v[8], "JOULETRACE_LOG_LEVEL=debug");
    snprintf(v[9], sizeof v[9], "JOULETRACE_MAX_ACK_PENDING=64");
    const char *vars[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    PL_CHECK(pl, jt_proc_start(w, argv, vars, true) == 0);
}

/* Index of the worker whose id is `id`, or -1. */
static int pl_worker_index(const pl_t *pl, const char *id)
{
    for (int i = 0; i < PL_WORKERS; i++)
        if (strcmp(pl->w[i].id, id) == 0)
            return i;
    return -1;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

/* The health answer (new reference) or NULL. */
static json_t *pl_health(const pl_t *pl)
{
    jt_curl_resp_t r;
    json_t *j = NULL;
    if (jt_curl_request(pl->port, "GET", "/api/v1/health", NULL, 0, NULL, 10, &r) == 0 &&
        r.json != NULL)
        j = json_incref(r.json);
    jt_curl_resp_free(&r);
    return j;
}

/* Wait until the gateway answers, is connected to NATS, and sees `workers`
 * live, calibrated workers (so that a POST is accepted). */
static void pl_wait_ready(pl_t *pl, int workers, double seconds)
{
    double until = jt_nats_now() + seconds;
    long pause = 50;
    json_t *h = NULL;
    while (jt_nats_now() < until) {
        for (int i = 0; i < PL_WORKERS; i++)
            if (pl->w[i].pid > 0 && !jt_proc_alive(pl->w[i].pid))
                pl_fail(pl, "worker %s exited during start", pl->w[i].id);
        if (pl->gw.pid > 0 && !jt_proc_alive(pl->gw.pid))
            pl_fail(pl, "the gateway exited during start");
        json_decref(h);
        h = pl_health(pl);
        json_t *wk = jt_json_at(h, "checks.workers");
        if (json_is_true(jt_json_at(h, "checks.nats.connected")) &&
            json_integer_value(json_object_get(wk, "live")) >= workers &&
            json_integer_value(json_object_get(wk, "calibrated")) >= workers) {
            json_decref(h);
            return;
        }
        jt_nats_sleep_ms(pause);
        pause = pause < 400 ? pause * 2 : 400;
    }
    pl_show("last health", h);
    json_decref(h);
    pl_fail(pl, "the system was not ready (%d calibrated workers) within %.0f s", workers, seconds);
}

/* POST body (with header hdr, may be NULL) to path; expects 202; the task id into id. */
static void pl_post_to(pl_t *pl, const char *path, const char *body, const char *hdr, char *id,
                       size_t idlen)
{
    const char *hdrs[] = {hdr, NULL};
    jt_curl_resp_t r;
    if (jt_curl_request(pl->port, "POST", path, body, -1, hdrs, 30, &r) != 0 || r.status != 202 ||
        json_string_value(json_object_get(r.json, "task_id")) == NULL) {
        fprintf(stderr, "POST %s -> %ld: %.2000s\n", path, r.status, r.body ? r.body : "");
        jt_curl_resp_free(&r);
        pl_fail(pl, "POST %s was not accepted", path);
    }
    snprintf(id, idlen, "%s", jt_json_str(r.json, "task_id"));
    jt_curl_resp_free(&r);
}

static void pl_post(pl_t *pl, const char *body, char *id, size_t idlen)
{
    pl_post_to(pl, PL_MEASURE, body, NULL, id, idlen);
}

/* GET /api/v1/tasks/<id>: the record (new reference), NULL when not 200. */
static json_t *pl_get(const pl_t *pl, const char *id, long *status)
{
    char path[384];
    jt_curl_resp_t r;
    json_t *rec = NULL;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    long st = -1;
    if (jt_curl_request(pl->port, "GET", path, NULL, 0, NULL, 20, &r) == 0) {
        st = r.status;
        if (r.status == 200 && json_is_object(r.json))
            rec = json_incref(r.json);
    }
    if (status != NULL)
        *status = st;
    jt_curl_resp_free(&r);
    return rec;
}

/* Poll GET until the status is one of want (space separated words), with
 * backoff up to 500 ms. Returns the record; fails the case at the deadline. */
static json_t *pl_wait_status(pl_t *pl, const char *id, const char *want, double seconds)
{
    double until = jt_nats_now() + seconds;
    long pause = 50;
    json_t *rec = NULL;
    while (jt_nats_now() < until) {
        json_decref(rec);
        rec = pl_get(pl, id, NULL);
        const char *st = jt_json_str(rec, "status");
        size_t n = strlen(st);
        for (const char *p = want; n > 0 && (p = strstr(p, st)) != NULL; p += n)
            if ((p == want || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
                return rec;
        jt_nats_sleep_ms(pause);
        pause = pause < 500 ? pause * 3 / 2 : 500;
    }
    pl_show("last record", rec);
    json_decref(rec);
    pl_fail(pl, "task %s did not reach [%s] within %.0f s", id, want, seconds);
}

static json_t *pl_wait_final(pl_t *pl, const char *id, double seconds)
{
    return pl_wait_status(pl, id, "completed failed cancelled", seconds);
}

/* ---- jobs -------------------------------------------------------------------------------- */

/* A request body (malloc'd): code, test cases (JSON text), the measurement knobs. */
static char *pl_job_body(const char *code, const char *cases, int trials, int warmup,
                         double min_trial_seconds, double target_cv)
{
    json_t *j =
        json_pack("{s:s, s:s, s:o, s:i, s:i, s:f, s:f, s:f, s:s, s:s}", "candidate_code", code,
                  "function_name", "solve", "test_cases", json_loads(cases, 0, NULL),
                  "energy_measurement_trials", trials, "warmup_trials", warmup, "min_trial_seconds",
                  min_trial_seconds, "target_cv_percent", target_cv, "timeout_seconds", 60.0,
                  "candidate_id", "pipeline-candidate", "problem_name", "pipeline");
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

static const char PL_ADD_SRC[] = "def solve(a, b):\n    return a + b\n";
#define PL_ADD_CASES                                                                               \
    "[{\"test_id\":\"t1\",\"inputs\":[1,2],\"expected_output\":3},"                                \
    "{\"test_id\":\"t2\",\"inputs\":[5,7],\"expected_output\":12}]"

static const char PL_BURN_SRC[] = "def solve(n):\n"
                                  "    s = 0\n"
                                  "    for i in range(n):\n"
                                  "        s = (s * 31 + i) & 0xFFFFFFFF\n"
                                  "    return s\n";
#define PL_BURN_N 200000L

/* A small correct job: trials, no warmup, short trials. */
static char *pl_small_job(int trials)
{
    return pl_job_body(PL_ADD_SRC, PL_ADD_CASES, trials, 0, 0.05, 5.0);
}

/* A CPU-bound job of `trials` trials of at least min_trial_seconds each. */
static char *pl_burn_job(int trials, double min_trial_seconds)
{
    char cases[256];
    snprintf(cases, sizeof cases, "[{\"test_id\":\"b1\",\"inputs\":[%ld],\"expected_output\":%lu}]",
             PL_BURN_N, (unsigned long)pl_burn_expected(PL_BURN_N));
    return pl_job_body(PL_BURN_SRC, cases, trials, 0, min_trial_seconds, 0.001);
}

/* ---- NATS -------------------------------------------------------------------------------- */

/* Subscribe to the result subject of every task, flushed: nothing published
 * after the return is missed. The caller destroys the subscription. */
static natsSubscription *pl_subscribe_results(pl_t *pl)
{
    natsSubscription *results = NULL;
    PL_CHECK(pl, natsConnection_SubscribeSync(&results, pl->bus.nc, JT_SUBJECT_RESULT_PREFIX "*") ==
                     NATS_OK);
    PL_CHECK(pl, natsConnection_Flush(pl->bus.nc) == NATS_OK);
    return results;
}

/* Publish raw bytes as a job with Nats-Msg-Id = id (JetStream, acknowledged). */
static void pl_publish_job(pl_t *pl, const char *id, const void *data, size_t len)
{
    natsMsg *msg = NULL;
    jsErrCode jerr = 0;
    PL_CHECK(pl, natsMsg_Create(&msg, JT_SUBJECT_JOBS, NULL, data, (int)len) == NATS_OK);
    PL_CHECK(pl, natsMsgHeader_Set(msg, "Nats-Msg-Id", id) == NATS_OK);
    natsStatus s = js_PublishMsg(NULL, pl->bus.js, msg, NULL, &jerr);
    natsMsg_Destroy(msg);
    if (s != NATS_OK)
        pl_fail(pl, "publishing job %s: %s (jerr %d)", id, natsStatus_GetText(s), (int)jerr);
}

/* Last sequence of the jobs stream: how many jobs were ever stored (acked
 * ones are gone from a work queue, their sequence numbers are not). */
static uint64_t pl_jobs_last_seq(pl_t *pl)
{
    jsStreamInfo *si = NULL;
    PL_CHECK(pl, js_GetStreamInfo(&si, pl->bus.js, JT_STREAM_JOBS, NULL, NULL) == NATS_OK);
    uint64_t n = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return n;
}

/* ---- result records ------------------------------------------------------------------- */

/* The fields required below are those of docs/measurement.md "The result" and the task record of
 * README.md. */
static const char *const RECORD_KEYS[] = {
    "task_id",      "status",       "stage",           "progress",   "trial",
    "trials_total", "cv_percent",   "elapsed_seconds", "created_at", "updated_at",
    "worker",       "candidate_id", "problem_name",    "request_id", NULL};
static const char *const VALIDATION_KEYS[] = {"is_correct", "passed_tests",  "total_tests",
                                              "pass_rate",  "error_summary", "test_results",
                                              NULL};
static const char *const TEST_RESULT_KEYS[] = {"test_id", "passed", "status", "message", NULL};
static const char *const ENERGY_KEYS[] = {
    "median_package_energy_joules", "median_ram_energy_joules",
    "median_total_energy_joules",   "median_execution_time_seconds",
    "energy_per_test_case_joules",  "power_consumption_watts",
    "energy_efficiency_score",      NULL};
static const char *const ENVIRONMENT_KEYS[] = {
    "meter_type",         "energy_is_estimated", "measurement_core", "socket", "cpu_model",
    "thermal_controlled", "calibration",         "timestamp",        NULL};
static const char *const STATISTICS_KEYS[] = {
    "trials",   "repeats_per_trial", "mean", "stddev", "cv_percent", "mad", "ci95_low", "ci95_high",
    "outliers", "early_stop_reason", NULL};
static const char *const TRIAL_KEYS[] = {"gross_joules", "net_joules", "seconds", "repeats",
                                         "started_at",   "ended_at",   NULL};

/* A number at path in rec; fails when absent or not a number. */
static double num_at(const pl_t *pl, const json_t *rec, const char *path)
{
    json_t *v = jt_json_at(rec, path);
    if (!json_is_number(v)) {
        pl_show("record", rec);
        pl_fail(pl, "%s is not a number", path);
    }
    return json_number_value(v);
}

/* The validation block of rec: every field, counts as given. */
static void check_validation(const pl_t *pl, const json_t *rec, bool correct, long passed,
                             long total)
{
    json_t *v = json_object_get(rec, "validation");
    PL_CHECK(pl, json_is_object(v));
    pl_require_keys(pl, v, "validation", VALIDATION_KEYS);
    PL_CHECK(pl, json_is_boolean(json_object_get(v, "is_correct")));
    PL_CHECK(pl, json_is_true(json_object_get(v, "is_correct")) == correct);
    PL_CHECK(pl, json_integer_value(json_object_get(v, "passed_tests")) == passed);
    PL_CHECK(pl, json_integer_value(json_object_get(v, "total_tests")) == total);
    double rate = num_at(pl, v, "pass_rate"); /* a percentage (README) */
    PL_CHECK(pl, fabs(rate - 100.0 * (double)passed / (double)total) < 0.01);
    json_t *es = json_object_get(v, "error_summary");
    PL_CHECK(pl, correct ? (json_is_null(es) || json_is_string(es))
                         : (json_is_string(es) && json_string_length(es) > 0));
    json_t *tr = json_object_get(v, "test_results");
    PL_CHECK(pl, json_is_array(tr) && (long)json_array_size(tr) == total);
    size_t i;
    json_t *t;
    long ok = 0;
    json_array_foreach(tr, i, t)
    {
        pl_require_keys(pl, t, "test_results[]", TEST_RESULT_KEYS);
        ok += json_is_true(json_object_get(t, "passed"));
    }
    PL_CHECK(pl, ok == passed);
}

/* Every field of a completed result (docs/measurement.md "The result"), measured with the
 * rapl-sysfs meter on core 1 of socket 0 with a calibration. */
static void check_completed(const pl_t *pl, const json_t *rec, long tests)
{
    if (strcmp(jt_json_str(rec, "status"), "completed") != 0) {
        pl_show("record", rec);
        pl_fail(pl, "task %s is %s, not completed", jt_json_str(rec, "task_id"), jt_json_str(rec, "status"));
    }
    pl_require_keys(pl, rec, "record", RECORD_KEYS);
    PL_CHECK(pl, num_at(pl, rec, "progress") == 1.0);
    PL_CHECK(pl, pl_worker_index(pl, jt_json_str(rec, "worker")) >= 0);
    check_validation(pl, rec, true, tests, tests);

    json_t *em = json_object_get(rec, "energy_metrics");
    PL_CHECK(pl, json_is_object(em));
    pl_require_keys(pl, em, "energy_metrics", ENERGY_KEYS);
    for (const char *const *k = ENERGY_KEYS; *k != NULL; k++)
        PL_CHECK(pl, json_is_number(json_object_get(em, *k)));

    json_t *env = json_object_get(rec, "measurement_environment");
    PL_CHECK(pl, json_is_object(env));
    pl_require_keys(pl, env, "measurement_environment", ENVIRONMENT_KEYS);
    PL_CHECK(pl, strcmp(jt_json_str(env, "meter_type"), "rapl-sysfs") == 0);
    PL_CHECK(pl, json_is_false(json_object_get(env, "energy_is_estimated")));
    PL_CHECK(pl, json_integer_value(json_object_get(env, "measurement_core")) == PL_MEASURE_CORE);
    PL_CHECK(pl, json_integer_value(json_object_get(env, "socket")) == 0);
    PL_CHECK(pl, json_is_string(json_object_get(env, "cpu_model")));
    PL_CHECK(pl, json_is_boolean(json_object_get(env, "thermal_controlled")));
    PL_CHECK(pl, json_is_object(json_object_get(env, "calibration")));
    PL_CHECK(pl, json_is_true(jt_json_at(env, "calibration.calibrated")));
    PL_CHECK(pl, num_at(pl, env, "calibration.idle_power_watts") > 0);
    PL_CHECK(pl, num_at(pl, env, "timestamp") > 1.6e9);

    json_t *st = json_object_get(rec, "statistics");
    PL_CHECK(pl, json_is_object(st));
    pl_require_keys(pl, st, "statistics", STATISTICS_KEYS);
    PL_CHECK(pl, json_is_array(json_object_get(st, "outliers")));
    PL_CHECK(pl, json_is_string(json_object_get(st, "early_stop_reason")));
    PL_CHECK(pl, num_at(pl, st, "repeats_per_trial") >= 1);

    json_t *trials = json_object_get(rec, "trials");
    PL_CHECK(pl, json_is_array(trials) && json_array_size(trials) >= 1);
    PL_CHECK(pl, (double)json_array_size(trials) == num_at(pl, st, "trials"));
    size_t i;
    json_t *t;
    json_array_foreach(trials, i, t)
    {
        pl_require_keys(pl, t, "trials[]", TRIAL_KEYS);
        PL_CHECK(pl, num_at(pl, t, "gross_joules.package") > 0);
        PL_CHECK(pl, json_is_number(jt_json_at(t, "net_joules.package")));
        PL_CHECK(pl, num_at(pl, t, "seconds") > 0);
        PL_CHECK(pl, num_at(pl, t, "repeats") >= 1);
        PL_CHECK(pl, num_at(pl, t, "ended_at") > num_at(pl, t, "started_at"));
    }
}

/* ---- fixture ----------------------------------------------------------------------------- */

static void pl_start_workers(pl_t *pl)
{
    for (int i = 0; i < PL_WORKERS; i++)
        pl_start_worker(pl, i);
}

/* cmocka setup: only the fixture's memory; each case calls pl_boot first, so
 * that a failed start still runs the teardown (cmocka skips it after a
 * failed setup). */
static int pl_setup(void **state)
{
    pl_t *pl = calloc(1, sizeof *pl);
    if (pl == NULL)
        return -1;
    *state = pl;
    return 0;
}

/* Start the whole system: fake tree, calibration, broker, gateway, two
 * workers; returns once the gateway accepts jobs. */
static void pl_boot(pl_t *pl)
{
    /* this process and all it starts stay off the measurement core */
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(PL_VALIDATE_CORE, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        pl_fail(pl, "sched_setaffinity(core %d): %s", PL_VALIDATE_CORE, strerror(errno));
    snprintf(pl->dir, sizeof pl->dir, "/dev/shm/jt-pipeline-XXXXXX");
    if (mkdtemp(pl->dir) == NULL) {
        snprintf(pl->dir, sizeof pl->dir, "/tmp/jt-pipeline-XXXXXX");
        if (mkdtemp(pl->dir) == NULL) {
            pl->dir[0] = '\0';
            pl_fail(pl, "mkdtemp: %s", strerror(errno));
        }
    }
    chmod(pl->dir, 0711); /* the sandbox user must reach its work directories */
    snprintf(pl->rapl, sizeof pl->rapl, "%s/rapl", pl->dir);
    snprintf(pl->cal, sizeof pl->cal, "%s/cal.json", pl->dir);
    snprintf(pl->sandbox, sizeof pl->sandbox, "%s/sandbox", pl->dir);
    snprintf(pl->sandbox_env, sizeof pl->sandbox_env, "JOULETRACE_SANDBOX_DIR=%s", pl->sandbox);
    snprintf(pl->gw.log, sizeof pl->gw.log, "%s/gateway.log", pl->dir);
    PL_CHECK(pl, mkdir(pl->rapl, 0755) == 0 && mkdir(pl->sandbox, 0755) == 0);

    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.core = PL_MEASURE_CORE;
    if (jt_fake_rapl_start(pl->rapl, &o, &pl->fake) != 0)
        pl_fail(pl, "fake_rapl did not start on %s", pl->rapl);
    pl_calibrate(pl);

    if (jt_nats_server_start_config(&pl->nats, JT_BROKER_CONF) != 0)
        pl_fail(pl, "nats-server did not start from %s", JT_BROKER_CONF);
    jt_topology_opts_t topo;
    jt_error_t err;
    jt_topology_opts_init(&topo);
    if (jt_bus_connect(pl->nats.url, "test-pipeline", &topo, &pl->bus, &err) != JT_OK)
        pl_fail(pl, "jt_bus_connect: %s", err.message);
    pl->bus_open = true;
    pl_start_gateway(pl, 0);
    pl_start_workers(pl);
    pl_wait_ready(pl, PL_WORKERS, 90.0);
}

static int pl_teardown(void **state)
{
    pl_t *pl = *state;
    if (pl == NULL)
        return 0;
    if (getenv("JT_TEST_VERBOSE") != NULL)
        pl_dump_logs(pl);
    for (int i = 0; i < PL_WORKERS; i++)
        pl_stop(&pl->w[i], 30.0);
    pl_stop(&pl->gw, 15.0);
    if (pl->bus_open)
        jt_bus_close(&pl->bus);
    jt_nats_server_stop(&pl->nats);
    if (pl->fake.pid > 0)
        jt_fake_rapl_stop(&pl->fake);
    if (pl->dir[0] != '\0') {
        char ready[300];
        snprintf(ready, sizeof ready, "%s.ready", pl->rapl);
        unlink(ready);
        jt_fake_tree_remove(pl->dir);
    }
    free(pl);
    return 0;
}

#endif
