/* daemon_harness.h -- test helper for test_daemon.c: nats-server, worker processes, jobs, records.
 *
 * Include once, after unit_main.h (static functions, cmocka asserts).
 */
#ifndef JT_TESTS_DAEMON_HARNESS_H
#define JT_TESTS_DAEMON_HARNESS_H

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bus.h"
#include "bus_record.h"
#include "bus_names.h"
#include "job.h"
#include "job_json.h"
#include "job_msgpack.h"
#include "lease.h"
#include "nats_server.h"
#include "proc_scan.h"
#include "process_harness.h"
#include "task_state.h"
#include "temp_dir.h"
#include "value.h"

/* Each case starts its own nats-server and workers with the estimate meter
 * and no calibration file (estimate mode runs on its model), a sandbox
 * directory of its own, and publishes jobs with the nats.c API as a direct
 * client would. Waits are generous: outcomes are judged, not speed. */

#define WAIT_S 150.0
#define MAX_WORKERS 3

typedef struct {
    jt_nats_server_t srv;
    jt_bus_t bus;
    char dir[128];
    jt_proc_t w[MAX_WORKERS];
    int n;
} fixture_t;

static const char ADD_SRC[] = "def solve(a, b):\n    return a + b\n";
static const char WRONG_SRC[] = "def solve(a, b):\n    return a - b\n";
static const char BURN_SRC[] = "def solve(n):\n"
                               "    s = 0\n"
                               "    for i in range(n):\n"
                               "        s = (s * 31 + i) & 0xFFFFFFFF\n"
                               "    return s\n";
#define BURN_N 200000L

static long burn_expected(long n)
{
    uint64_t s = 0;
    for (long i = 0; i < n; i++)
        s = (s * 31 + (uint64_t)i) & 0xFFFFFFFFu;
    return (long)s;
}

static void dump_logs(fixture_t *f)
{
    for (int i = 0; i < f->n; i++)
        jt_proc_dump_log(f->w[i].id, f->w[i].log, 12000);
}

#define CHECK(f, cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            dump_logs(f);                                                                          \
            fail_msg("check failed: %s", #cond);                                                   \
        }                                                                                          \
    } while (0)

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/jt-daemon-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(jt_nats_server_start(&f->srv), 0);
    jt_error_t err;
    if (jt_bus_connect(f->srv.url, "test_daemon", NULL, &f->bus, &err) != JT_OK)
        fail_msg("jt_bus_connect: %s", err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (getenv("JT_TEST_VERBOSE") != NULL) /* worker logs even when the case passed */
        dump_logs(f);
    for (int i = 0; i < f->n; i++)
        jt_proc_stop(&f->w[i].pid, SIGKILL, 10.0, false);
    jt_bus_close(&f->bus);
    jt_nats_server_stop(&f->srv);
    jt_temp_dir_remove(f->dir);
    free(f);
    return 0;
}

/* Start `jouletrace-worker run` as worker id; returns its index. */
static int start_worker(fixture_t *f, const char *id)
{
    assert_true(f->n < MAX_WORKERS);
    jt_proc_t *w = &f->w[f->n];
    snprintf(w->id, sizeof w->id, "%s", id);
    snprintf(w->log, sizeof w->log, "%s/%s.log", f->dir, id);
    char sandbox[256], url[320], cal[320], sbvar[320], idvar[320];
    snprintf(sandbox, sizeof sandbox, "%s/sandbox-%s", f->dir, id);
    assert_int_equal(mkdir(sandbox, 0700), 0);
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", f->srv.url);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s/missing-calibration.json", f->dir);
    snprintf(sbvar, sizeof sbvar, "JOULETRACE_SANDBOX_DIR=%s", sandbox);
    snprintf(idvar, sizeof idvar, "JOULETRACE_WORKER_ID=%s", id);
    const char *vars[] = {url,   "JOULETRACE_METER=estimate",  cal, sbvar,
                          idvar, "JOULETRACE_LOG_LEVEL=debug", NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    assert_int_equal(jt_proc_start(w, argv, vars, false), 0);
    return f->n++;
}

/* The worker's heartbeat JSON (new reference) or NULL when absent. */
static json_t *heartbeat(fixture_t *f, const char *id)
{
    kvEntry *e = NULL;
    if (kvStore_Get(&e, f->bus.workers, id) != NATS_OK)
        return NULL;
    json_t *v = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
    kvEntry_Destroy(e);
    return v;
}

/* Start a worker and wait until it beats (it is pulling by then). */
static int start_ready_worker(fixture_t *f, const char *id)
{
    int i = start_worker(f, id);
    double until = jt_nats_now() + 60;
    json_t *hb = NULL;
    while (jt_nats_now() < until && (hb = heartbeat(f, id)) == NULL) {
        CHECK(f, jt_proc_alive(f->w[i].pid));
        jt_nats_sleep_ms(50);
    }
    CHECK(f, hb != NULL);
    json_decref(hb);
    return i;
}

/* SIGTERM a worker; its exit code (-1 when it did not exit in time or died by a signal). */
static int stop_worker(fixture_t *f, int i)
{
    int status = jt_proc_stop(&f->w[i].pid, SIGTERM, 60.0, false);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* msgpack job from a JSON request body. */
static void make_job(const char *json, uint8_t **data, size_t *len)
{
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    if (jt_job_from_json(&job, json, strlen(json), &err) != JT_OK)
        fail_msg("test job rejected: %s: %s", err.path, err.message);
    assert_int_equal(jt_job_to_msgpack(&job, data, len), JT_OK);
    jt_job_cleanup(&job);
}

static void publish_raw(fixture_t *f, const char *task_id, const void *data, size_t len)
{
    natsMsg *msg = NULL;
    assert_int_equal(natsMsg_Create(&msg, JT_SUBJECT_JOBS, NULL, data, (int)len), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(msg, "Nats-Msg-Id", task_id), NATS_OK);
    jsErrCode jerr = 0;
    assert_int_equal(js_PublishMsg(NULL, f->bus.js, msg, NULL, &jerr), NATS_OK);
    natsMsg_Destroy(msg);
}

static void publish_job(fixture_t *f, const char *task_id, const char *json)
{
    uint8_t *data;
    size_t len;
    make_job(json, &data, &len);
    publish_raw(f, task_id, data, len);
    free(data);
}

/* A job body: code, one or two test cases, the measurement knobs. */
static void job_json(char *buf, size_t len, const char *task_id, const char *code,
                     const char *cases, int trials, double min_trial_seconds)
{
    json_t *j = json_pack("{s:s, s:s, s:o, s:i, s:i, s:f, s:f, s:s, s:s}", "candidate_code", code,
                          "function_name", "solve", "test_cases", json_loads(cases, 0, NULL),
                          "energy_measurement_trials", trials, "warmup_trials", 0,
                          "min_trial_seconds", min_trial_seconds, "timeout_seconds", 20.0,
                          "candidate_id", "cand-1", "problem_name", "test-problem");
    if (task_id != NULL)
        json_object_set_new(j, "task_id", json_string(task_id));
    char *text = json_dumps(j, JSON_COMPACT);
    snprintf(buf, len, "%s", text);
    free(text);
    json_decref(j);
}

#define ADD_CASES                                                                                  \
    "[{\"test_id\":\"t1\",\"inputs\":[1,2],\"expected_output\":3},"                                \
    "{\"test_id\":\"t2\",\"inputs\":[5,7],\"expected_output\":12}]"

static void burn_cases(char *buf, size_t len)
{
    snprintf(buf, len, "[{\"test_id\":\"b1\",\"inputs\":[%ld],\"expected_output\":%ld}]", BURN_N,
             burn_expected(BURN_N));
}

static natsSubscription *subscribe(fixture_t *f, const char *prefix, const char *task_id)
{
    char subject[256];
    assert_true(jt_bus_task_subject(subject, sizeof subject, prefix, task_id));
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, f->bus.nc, subject), NATS_OK);
    assert_int_equal(natsConnection_Flush(f->bus.nc), NATS_OK);
    return sub;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Poll KV until the task's status is one of `want` (space separated). */
static json_t *wait_record(fixture_t *f, const char *task_id, const char *want, double seconds)
{
    double until = jt_nats_now() + seconds;
    while (jt_nats_now() < until) {
        json_t *rec = NULL;
        jt_error_t err;
        if (jt_task_get(f->bus.tasks, task_id, &rec, NULL, &err) == JT_OK) {
            char word[40];
            snprintf(word, sizeof word, "%s", str(rec, "status"));
            const char *hit = word[0] ? strstr(want, word) : NULL;
            if (hit != NULL && (hit[strlen(word)] == ' ' || hit[strlen(word)] == '\0'))
                return rec;
            json_decref(rec);
        }
        jt_nats_sleep_ms(50);
    }
    dump_logs(f);
    fail_msg("task %s never reached %s", task_id, want);
    return NULL;
}

static bool lease_free(fixture_t *f)
{
    char host[256], key[JT_LEASE_KEY_MAX];
    gethostname(host, sizeof host);
    jt_lease_key(key, sizeof key, host, 0);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, f->bus.leases, key);
    kvEntry_Destroy(e);
    return s == NATS_NOT_FOUND;
}

static void check_fields(fixture_t *f, const json_t *rec, const char *const *keys)
{
    for (const char *const *k = keys; *k != NULL; k++)
        if (json_object_get(rec, *k) == NULL) {
            char *text = json_dumps(rec, JSON_COMPACT);
            fprintf(stderr, "record lacks \"%s\": %.3000s\n", *k, text ? text : "?");
            free(text);
            CHECK(f, json_object_get(rec, *k) != NULL);
        }
}

#endif
