/* test_pipeline.c -- end to end: nats-server, gateway, two workers, fake RAPL; HTTP and NATS
 * clients. */
#include <math.h>

#include "unit_main.h"

#include "pipeline_harness.h"

/* Every case (argv[1]) is one ctest entry (tests/pipeline.cmake) and starts
 * the whole system afresh (pipeline_harness.h). The fields required below are
 * those of DESIGN.md "Result" and the task record of README.md. */

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
    json_t *v = pl_at(rec, path);
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

/* Every field of a completed result (DESIGN.md "Result"), measured with the
 * rapl-sysfs meter on core 1 of socket 0 with a calibration. */
static void check_completed(const pl_t *pl, const json_t *rec, long tests)
{
    if (strcmp(pl_str(rec, "status"), "completed") != 0) {
        pl_show("record", rec);
        pl_fail(pl, "task %s is %s, not completed", pl_str(rec, "task_id"), pl_str(rec, "status"));
    }
    pl_require_keys(pl, rec, "record", RECORD_KEYS);
    PL_CHECK(pl, num_at(pl, rec, "progress") == 1.0);
    PL_CHECK(pl, pl_worker_index(pl, pl_str(rec, "worker")) >= 0);
    check_validation(pl, rec, true, tests, tests);

    json_t *em = json_object_get(rec, "energy_metrics");
    PL_CHECK(pl, json_is_object(em));
    pl_require_keys(pl, em, "energy_metrics", ENERGY_KEYS);
    for (const char *const *k = ENERGY_KEYS; *k != NULL; k++)
        PL_CHECK(pl, json_is_number(json_object_get(em, *k)));

    json_t *env = json_object_get(rec, "measurement_environment");
    PL_CHECK(pl, json_is_object(env));
    pl_require_keys(pl, env, "measurement_environment", ENVIRONMENT_KEYS);
    PL_CHECK(pl, strcmp(pl_str(env, "meter_type"), "rapl-sysfs") == 0);
    PL_CHECK(pl, json_is_false(json_object_get(env, "energy_is_estimated")));
    PL_CHECK(pl, json_integer_value(json_object_get(env, "measurement_core")) == PL_MEASURE_CORE);
    PL_CHECK(pl, json_integer_value(json_object_get(env, "socket")) == 0);
    PL_CHECK(pl, json_is_string(json_object_get(env, "cpu_model")));
    PL_CHECK(pl, json_is_boolean(json_object_get(env, "thermal_controlled")));
    PL_CHECK(pl, json_is_object(json_object_get(env, "calibration")));
    PL_CHECK(pl, json_is_true(pl_at(env, "calibration.calibrated")));
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
        PL_CHECK(pl, json_is_number(pl_at(t, "net_joules.package")));
        PL_CHECK(pl, num_at(pl, t, "seconds") > 0);
        PL_CHECK(pl, num_at(pl, t, "repeats") >= 1);
        PL_CHECK(pl, num_at(pl, t, "ended_at") > num_at(pl, t, "started_at"));
    }
}

/* ---- 1. the seed README example -------------------------------------------------------- */

static char *read_text(const pl_t *pl, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        pl_fail(pl, "cannot read %s: %s", path, strerror(errno));
    char *buf = calloc(1, 65536);
    size_t n = buf != NULL ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    PL_CHECK(pl, buf != NULL && n > 0);
    return buf;
}

static void seed_example_completes(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char *body = read_text(pl, JT_SOURCE_DIR "/examples/square.json");
    jt_curl_resp_t r;
    PL_CHECK(pl, jt_curl_request(pl->port, "POST", PL_MEASURE, body, -1, NULL, 30, &r) == 0);
    free(body);
    if (r.status != 202)
        pl_fail(pl, "POST gave %ld: %s", r.status, r.body ? r.body : "");
    static const char *const accepted[] = {"task_id",  "request_id", "status",
                                           "poll_url", "events_url", "estimated_completion_seconds",
                                           NULL};
    pl_require_keys(pl, r.json, "202 answer", accepted);
    PL_CHECK(pl, strcmp(pl_str(r.json, "status"), "queued") == 0);
    char id[128], poll[256];
    snprintf(id, sizeof id, "%s", pl_str(r.json, "task_id"));
    snprintf(poll, sizeof poll, "%s", pl_str(r.json, "poll_url"));
    PL_CHECK(pl, strstr(poll, id) != NULL);
    jt_curl_resp_free(&r);

    /* poll the poll_url as the README says, until the task ends */
    double until = jt_nats_now() + PL_WAIT_S;
    long pause = 100;
    json_t *rec = NULL;
    for (;;) {
        PL_CHECK(pl, jt_curl_request(pl->port, "GET", poll, NULL, 0, NULL, 20, &r) == 0);
        PL_CHECK(pl, r.status == 200);
        const char *st = pl_str(r.json, "status");
        PL_CHECK(pl, pl_status_rank(st) >= 0);
        if (pl_final(st)) {
            rec = json_incref(r.json);
            jt_curl_resp_free(&r);
            break;
        }
        jt_curl_resp_free(&r);
        if (jt_nats_now() > until)
            pl_fail(pl, "the seed example did not finish within %.0f s", PL_WAIT_S);
        jt_nats_sleep_ms(pause);
        pause = pause < 800 ? pause * 2 : 800;
    }
    check_completed(pl, rec, 2);
    print_message(
        "seed example on %s: %.6f J and %.6f s per run (net), %.0f trials of %.0f "
        "runs, cv %.2f%%, stop: %s\n",
        pl_str(rec, "worker"), num_at(pl, rec, "energy_metrics.median_total_energy_joules"),
        num_at(pl, rec, "energy_metrics.median_execution_time_seconds"),
        num_at(pl, rec, "statistics.trials"), num_at(pl, rec, "statistics.repeats_per_trial"),
        json_number_value(pl_at(rec, "statistics.cv_percent")),
        pl_str(json_object_get(rec, "statistics"), "early_stop_reason"));
    PL_CHECK(pl, strcmp(pl_str(rec, "task_id"), id) == 0);
    PL_CHECK(pl, json_integer_value(json_object_get(rec, "trials_total")) == 3);
    /* the seed's default: energy_measurement_trials 3 is the maximum */
    PL_CHECK(pl, num_at(pl, rec, "statistics.trials") <= 3);
    json_decref(rec);
}

/* ---- 2. an incorrect solution -------------------------------------------------------- */

static void incorrect_solution_fails(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    /* right for a == 1, wrong for a > 1, raises for b == None */
    static const char code[] = "def solve(a, b):\n"
                               "    return a + b if a == 1 else a - b\n";
    static const char cases[] = "[{\"test_id\":\"ok\",\"inputs\":[1,2],\"expected_output\":3},"
                                "{\"test_id\":\"wrong\",\"inputs\":[5,7],\"expected_output\":12},"
                                "{\"test_id\":\"raises\",\"inputs\":[3,null],"
                                "\"expected_output\":3}]";
    char *body = pl_job_body(code, cases, 2, 0, 0.05, 5.0);
    char id[128];
    pl_post(pl, body, id, sizeof id);
    free(body);
    json_t *rec = pl_wait_final(pl, id, PL_WAIT_S);
    if (strcmp(pl_str(rec, "status"), "failed") != 0) {
        pl_show("record", rec);
        pl_fail(pl, "an incorrect solution ended %s", pl_str(rec, "status"));
    }
    pl_require_keys(pl, rec, "record", RECORD_KEYS);
    PL_CHECK(pl, strcmp(pl_str(rec, "error_type"), "incorrect") == 0);
    check_validation(pl, rec, false, 1, 3);
    json_t *tr = pl_at(rec, "validation.test_results");
    static const char *const ids[] = {"ok", "wrong", "raises"};
    for (size_t i = 0; i < 3; i++) {
        json_t *t = json_array_get(tr, i);
        PL_CHECK(pl, strcmp(pl_str(t, "test_id"), ids[i]) == 0);
        PL_CHECK(pl, json_is_true(json_object_get(t, "passed")) == (i == 0));
        PL_CHECK(pl, strlen(pl_str(t, "status")) > 0);
    }
    PL_CHECK(pl, strcmp(pl_str(json_array_get(tr, 1), "status"), "wrong_answer") == 0);
    PL_CHECK(pl, strstr(pl_str(json_array_get(tr, 1), "message"), "expected") != NULL);
    PL_CHECK(pl, strstr(pl_str(json_array_get(tr, 2), "message"), "TypeError") != NULL);
    /* never measured */
    PL_CHECK(pl, json_object_get(rec, "trials") == NULL);
    PL_CHECK(pl, json_object_get(rec, "energy_metrics") == NULL);
    json_decref(rec);
}

/* ---- 3. twenty jobs at once: the lease serialises every measurement window -------------- */

#define BURST 20

typedef struct {
    double start, end;
    int job;
} window_t;

static int by_start(const void *a, const void *b)
{
    const window_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* n POSTs of bodies[i] at once on n connections; task ids into ids[i]. */
static void post_all_at_once(pl_t *pl, int n, char *const *bodies, char ids[][128])
{
    jt_curl_resp_t r[BURST];
    PL_CHECK(pl, n <= BURST);
    PL_CHECK(pl, jt_curl_post_all(pl->port, PL_MEASURE, n, (const char *const *)bodies, NULL, 60,
                                  r) == 0);
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        ids[i][0] = '\0';
        if (r[i].status == 202 && json_is_string(json_object_get(r[i].json, "task_id"))) {
            snprintf(ids[i], 128, "%s", pl_str(r[i].json, "task_id"));
            accepted++;
        } else {
            fprintf(stderr, "POST %d -> %ld: %.500s\n", i, r[i].status, r[i].body ? r[i].body : "");
        }
        jt_curl_resp_free(&r[i]);
    }
    PL_CHECK(pl, accepted == n);
}

static void twenty_jobs_no_overlap(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char *bodies[BURST];
    static char ids[BURST][128];
    for (int i = 0; i < BURST; i++) {
        bodies[i] = pl_small_job(1 + i % 2);
        PL_CHECK(pl, bodies[i] != NULL);
    }
    post_all_at_once(pl, BURST, bodies, ids);
    for (int i = 0; i < BURST; i++)
        free(bodies[i]);
    for (int i = 0; i < BURST; i++)
        for (int k = 0; k < i; k++)
            PL_CHECK(pl, strcmp(ids[i], ids[k]) != 0);

    static window_t w[BURST * 2];
    int nw = 0, per_worker[PL_WORKERS] = {0};
    for (int i = 0; i < BURST; i++) {
        json_t *rec = pl_wait_final(pl, ids[i], 2 * PL_WAIT_S);
        check_completed(pl, rec, 2);
        int wi = pl_worker_index(pl, pl_str(rec, "worker"));
        PL_CHECK(pl, wi >= 0);
        per_worker[wi]++;
        json_t *trials = json_object_get(rec, "trials");
        PL_CHECK(pl, json_array_size(trials) >= 1 && json_array_size(trials) <= 2);
        size_t k;
        json_t *t;
        json_array_foreach(trials, k, t)
        {
            w[nw].start = num_at(pl, t, "started_at");
            w[nw].end = num_at(pl, t, "ended_at");
            w[nw].job = i;
            nw++;
        }
        json_decref(rec);
    }
    qsort(w, (size_t)nw, sizeof w[0], by_start);
    double smallest_gap = 1e9;
    for (int i = 1; i < nw; i++) {
        double gap = w[i].start - w[i - 1].end;
        if (gap < 0)
            pl_fail(pl, "measurement windows overlap: job %d [%.6f, %.6f] and job %d [%.6f, %.6f]",
                    w[i - 1].job, w[i - 1].start, w[i - 1].end, w[i].job, w[i].start, w[i].end);
        if (w[i].job != w[i - 1].job && gap < smallest_gap)
            smallest_gap = gap;
    }
    print_message("%d windows of %d jobs, none overlapping; smallest gap between jobs %.6f s; "
                  "jobs per worker: %s %d, %s %d\n",
                  nw, BURST, smallest_gap, pl->w[0].id, per_worker[0], pl->w[1].id, per_worker[1]);
    /* while one worker measures, the other validates the next job: both take part */
    PL_CHECK(pl, per_worker[0] > 0 && per_worker[1] > 0);
}

/* ---- 4. cancel a queued and a running job --------------------------------------------- */

static void delete_task(pl_t *pl, const char *id, const char *want_status)
{
    char path[256];
    jt_curl_resp_t r;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    PL_CHECK(pl, jt_curl_request(pl->port, "DELETE", path, NULL, 0, NULL, 20, &r) == 0);
    if (r.status != 202 || strcmp(pl_str(r.json, "status"), want_status) != 0)
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
    PL_CHECK(pl, strcmp(pl_str(rec, "status"), "queued") == 0);
    json_decref(rec);

    delete_task(pl, queued, "cancelled");
    rec = pl_get(pl, queued, NULL);
    PL_CHECK(pl, strcmp(pl_str(rec, "status"), "cancelled") == 0);
    json_decref(rec);

    delete_task(pl, running, "cancelling");
    rec = pl_wait_final(pl, running, 60);
    if (strcmp(pl_str(rec, "status"), "cancelled") != 0) {
        pl_show("record", rec);
        pl_fail(pl, "the running job ended %s", pl_str(rec, "status"));
    }
    PL_CHECK(pl, strcmp(pl_str(rec, "error_type"), "cancelled") == 0);
    PL_CHECK(pl, json_is_object(json_object_get(rec, "validation"))); /* the gate had passed */
    json_decref(rec);

    /* the socket is free again: the waiting job completes */
    rec = pl_wait_final(pl, waiting, PL_WAIT_S);
    check_completed(pl, rec, 2);
    json_decref(rec);

    /* the cancelled queued job is taken from the queue but never run */
    double until = jt_nats_now() + 30;
    while (jt_bus_pending_jobs(&pl->bus) != 0 && jt_nats_now() < until)
        jt_nats_sleep_ms(100);
    PL_CHECK(pl, jt_bus_pending_jobs(&pl->bus) == 0);
    rec = pl_get(pl, queued, NULL);
    PL_CHECK(pl, strcmp(pl_str(rec, "status"), "cancelled") == 0);
    PL_CHECK(pl, json_object_get(rec, "validation") == NULL);
    PL_CHECK(pl, json_object_get(rec, "trials") == NULL);
    json_decref(rec);

    /* no process forked for a job remains; none at all once the workers stop */
    pl_check_no_sandbox_left(pl, 15.0);
    for (int i = 0; i < PL_WORKERS; i++)
        PL_CHECK(pl, pl_stop(&pl->w[i], 30.0) == 0);
    pl_check_no_process_left(pl, 10.0);
}

/* ---- 5. kill -9 of the measuring worker ----------------------------------------------- */

static void kill9_measuring_worker(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    natsSubscription *results = NULL;
    PL_CHECK(pl, natsConnection_SubscribeSync(&results, pl->bus.nc, JT_SUBJECT_RESULT_PREFIX "*") ==
                     NATS_OK);
    PL_CHECK(pl, natsConnection_Flush(pl->bus.nc) == NATS_OK);
    char *body = pl_burn_job(4, 1.0);
    char id[128];
    pl_post(pl, body, id, sizeof id);
    free(body);
    json_t *rec = pl_wait_status(pl, id, "measuring", PL_WAIT_S);
    int victim = pl_worker_index(pl, pl_str(rec, "worker"));
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
    PL_CHECK(pl, strcmp(pl_str(rec, "worker"), pl->w[survivor].id) == 0);
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

/* ---- 6. restart the gateway ----------------------------------------------------------- */

static void gateway_restart_keeps_state(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char done[128], wrong[128], inflight[128], after[128];
    char *body = pl_small_job(1);
    pl_post(pl, body, done, sizeof done);
    json_t *rec_done = pl_wait_final(pl, done, PL_WAIT_S);
    check_completed(pl, rec_done, 2);
    char *bad = pl_job_body("def solve(a, b):\n    return 0\n", PL_ADD_CASES, 1, 0, 0.05, 5.0);
    pl_post(pl, bad, wrong, sizeof wrong);
    free(bad);
    json_t *rec_wrong = pl_wait_final(pl, wrong, PL_WAIT_S);
    PL_CHECK(pl, strcmp(pl_str(rec_wrong, "status"), "failed") == 0);
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

/* ---- 7. Idempotency-Key ------------------------------------------------------------------ */

static void idempotency_one_task(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    natsSubscription *results = NULL;
    PL_CHECK(pl, natsConnection_SubscribeSync(&results, pl->bus.nc, JT_SUBJECT_RESULT_PREFIX "*") ==
                     NATS_OK);
    PL_CHECK(pl, natsConnection_Flush(pl->bus.nc) == NATS_OK);
    char *body = pl_small_job(2);
    const char *hdr = "Idempotency-Key: pipeline-retry-1";
    char a[128], b[128], c[128], d[128];
    pl_post_to(pl, PL_MEASURE, body, hdr, a, sizeof a);
    pl_post_to(pl, "/api/v1/measure", body, hdr, b, sizeof b); /* the alias too */
    PL_CHECK(pl, strcmp(a, b) == 0);
    PL_CHECK(pl, pl_jobs_last_seq(pl) == 1);
    json_t *rec = pl_wait_final(pl, a, PL_WAIT_S);
    check_completed(pl, rec, 2);
    json_decref(rec);
    /* a retry after the end still names the same task and publishes nothing */
    pl_post_to(pl, PL_MEASURE, body, hdr, c, sizeof c);
    PL_CHECK(pl, strcmp(a, c) == 0);
    PL_CHECK(pl, pl_jobs_last_seq(pl) == 1);
    /* another key is another task */
    pl_post_to(pl, PL_MEASURE, body, "Idempotency-Key: pipeline-retry-2", d, sizeof d);
    PL_CHECK(pl, strcmp(a, d) != 0);
    PL_CHECK(pl, pl_jobs_last_seq(pl) == 2);
    rec = pl_wait_final(pl, d, PL_WAIT_S);
    check_completed(pl, rec, 2);
    json_decref(rec);
    free(body);

    /* one result per task */
    char sa[256], sd[256];
    PL_CHECK(pl, jt_bus_task_subject(sa, sizeof sa, JT_SUBJECT_RESULT_PREFIX, a));
    PL_CHECK(pl, jt_bus_task_subject(sd, sizeof sd, JT_SUBJECT_RESULT_PREFIX, d));
    int na = 0, nd = 0, other = 0;
    natsMsg *msg = NULL;
    while (natsSubscription_NextMsg(&msg, results, 3000) == NATS_OK) {
        const char *s = natsMsg_GetSubject(msg);
        na += strcmp(s, sa) == 0;
        nd += strcmp(s, sd) == 0;
        other += strcmp(s, sa) != 0 && strcmp(s, sd) != 0;
        natsMsg_Destroy(msg);
        msg = NULL;
    }
    natsSubscription_Destroy(results);
    if (na != 1 || nd != 1 || other != 0)
        pl_fail(pl, "results: %d for the retried task, %d for the other, %d unknown", na, nd,
                other);
}

/* ---- 8. a job published straight to NATS -------------------------------------------- */

static void direct_nats_job(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char id[64];
    snprintf(id, sizeof id, "direct-%d", (int)getpid());
    natsSubscription *prog = pl_subscribe(pl, JT_SUBJECT_PROGRESS_PREFIX, id);
    natsSubscription *res = pl_subscribe(pl, JT_SUBJECT_RESULT_PREFIX, id);
    char *body = pl_burn_job(3, 0.2);
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    if (jt_job_from_json(&job, body, strlen(body), &err) != JT_OK)
        pl_fail(pl, "test job rejected: %s: %s", err.path, err.message);
    free(body);
    uint8_t *data = NULL;
    size_t len = 0;
    PL_CHECK(pl, jt_job_to_msgpack(&job, &data, &len) == JT_OK);
    jt_job_cleanup(&job);
    pl_publish_job(pl, id, data, len);
    free(data);

    json_t *rec = pl_next_record(res, PL_WAIT_S);
    if (rec == NULL)
        pl_fail(pl, "no result on %s%s within %.0f s", JT_SUBJECT_RESULT_PREFIX, id, PL_WAIT_S);
    check_completed(pl, rec, 1);
    PL_CHECK(pl, strcmp(pl_str(rec, "task_id"), id) == 0);
    PL_CHECK(pl, strcmp(pl_str(rec, "candidate_id"), "pipeline-candidate") == 0);
    json_t *more = pl_next_record(res, 2.0);
    PL_CHECK(pl, more == NULL); /* one result */
    /* the gateway serves the same record from the task state */
    json_t *got = pl_get(pl, id, NULL);
    PL_CHECK(pl, got != NULL && strcmp(pl_str(got, "status"), "completed") == 0);
    PL_CHECK(pl, json_equal(json_object_get(got, "trials"), json_object_get(rec, "trials")));
    json_decref(got);
    json_decref(rec);

    /* progress: stages forward only, trials counted up, the end last */
    int last_rank = -1, last_trial = -1, n = 0, measuring_trials = 0;
    bool validating = false, ended = false;
    json_t *p;
    while ((p = pl_next_record(prog, 2.0)) != NULL) {
        const char *st = pl_str(p, "status");
        int rank = pl_status_rank(st);
        int trial = (int)json_integer_value(json_object_get(p, "trial"));
        if (rank < 0 || rank < last_rank || ended || (rank == 3 && trial < last_trial)) {
            pl_show("progress record", p);
            pl_fail(pl, "progress out of order (record %d)", n);
        }
        pl_require_keys(pl, p, "progress record", RECORD_KEYS);
        validating = validating || strcmp(st, "validating") == 0;
        if (rank == 3) {
            last_trial = trial;
            measuring_trials += trial >= 1;
            PL_CHECK(pl, json_integer_value(json_object_get(p, "trials_total")) == 3);
        }
        ended = pl_final(st);
        last_rank = rank;
        n++;
        json_decref(p);
    }
    print_message("%d progress records, %d of them for measured trials\n", n, measuring_trials);
    PL_CHECK(pl, validating && measuring_trials >= 1 && ended);
    natsSubscription_Destroy(prog);
    natsSubscription_Destroy(res);
}

/* ---- 9. Server-Sent Events -------------------------------------------------------------- */

typedef struct {
    long id;
    char event[32];
    json_t *data;
} sse_event_t;

/* Split an event stream into events (comments and retry lines skipped). */
static int parse_events(char *text, sse_event_t *ev, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *block = strtok_r(text, "\n", &save); block != NULL && n < max;
         block = strtok_r(NULL, "\n", &save)) {
        if (strncmp(block, "id: ", 4) == 0) {
            memset(&ev[n], 0, sizeof ev[n]);
            ev[n].id = strtol(block + 4, NULL, 10);
            n++;
        } else if (n > 0 && strncmp(block, "event: ", 7) == 0) {
            snprintf(ev[n - 1].event, sizeof ev[n - 1].event, "%s", block + 7);
        } else if (n > 0 && strncmp(block, "data: ", 6) == 0 && ev[n - 1].data == NULL) {
            ev[n - 1].data = json_loads(block + 6, 0, NULL);
        }
    }
    return n;
}

static void sse_events_in_order(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char id[128], path[256];
    char cases[256];
    snprintf(cases, sizeof cases, "[{\"test_id\":\"b1\",\"inputs\":[%ld],\"expected_output\":%lu}]",
             PL_BURN_N, (unsigned long)pl_burn_expected(PL_BURN_N));
    char *body = pl_job_body(PL_BURN_SRC, cases, 4, 1, 0.3, 0.001);
    pl_post(pl, body, id, sizeof id);
    free(body);
    snprintf(path, sizeof path, "/api/v1/tasks/%s/events", id);
    jt_curl_resp_t r;
    /* the stream ends by itself with the result event */
    int rc = jt_curl_request(pl->port, "GET", path, NULL, 0, NULL, (long)PL_WAIT_S, &r);
    if (rc != 0 || r.status != 200)
        pl_fail(pl, "GET %s: rc %d, status %ld", path, rc, r.status);
    PL_CHECK(pl, strcasestr(r.headers, "Content-Type: text/event-stream") != NULL);
    static sse_event_t ev[512];
    int n = parse_events(r.body, ev, 512);
    jt_curl_resp_free(&r);
    PL_CHECK(pl, n >= 3);
    int last_rank = -1, last_trial = -1, trials_seen = 0, stages = 0;
    char stages_text[512] = "";
    for (int i = 0; i < n; i++) {
        json_t *d = ev[i].data;
        const char *st = pl_str(d, "status");
        int rank = pl_status_rank(st);
        int trial = (int)json_integer_value(json_object_get(d, "trial"));
        bool last = i == n - 1;
        if (ev[i].id != i + 1 || d == NULL || rank < last_rank ||
            strcmp(ev[i].event, last ? "result" : "progress") != 0 ||
            (rank == 3 && trial < last_trial) || strcmp(pl_str(d, "task_id"), id) != 0) {
            pl_show("event data", d);
            pl_fail(pl, "event %d (id %ld, %s) out of order", i, ev[i].id, ev[i].event);
        }
        if (rank != last_rank) {
            stages++;
            size_t used = strlen(stages_text);
            snprintf(stages_text + used, sizeof stages_text - used, "%s ", st);
        }
        if (rank == 3 && trial > last_trial && trial >= 1)
            trials_seen++;
        if (rank == 3)
            last_trial = trial;
        PL_CHECK(pl, json_is_string(json_object_get(d, "stage")));
        last_rank = rank;
    }
    print_message("%d events; statuses %s; %d trial steps\n", n, stages_text, trials_seen);
    check_completed(pl, ev[n - 1].data, 1);
    PL_CHECK(pl, stages >= 2 && trials_seen >= 2);
    for (int i = 0; i < n; i++)
        json_decref(ev[i].data);
}

/* ---- 10. bad HTTP requests against the running system ------------------------------------ */

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
        {"GET", "/api/v1/tasks/not.a.valid.id", NULL, NULL, 404, "task_not_found", "task_id"},
        {"GET", long_id, NULL, NULL, 404, "task_not_found", "task_id"},
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
        bool ok = r.status == b->status && strcmp(pl_str(r.json, "error"), b->error) == 0 &&
                  json_is_string(json_object_get(r.json, "message")) &&
                  json_is_string(json_object_get(r.json, "request_id")) &&
                  json_is_object(details) && field_matches(pl_str(details, "field"), b->field);
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
    if (r.status != 413 || strcmp(pl_str(r.json, "error"), "payload_too_large") != 0)
        pl_fail(pl, "a %zu-byte body gave %ld %s", big, r.status, r.body ? r.body : "");
    jt_curl_resp_free(&r);
    print_message("%zu bad requests answered 4xx with the envelope\n", n + 1);

    /* nothing reached the queue, nothing broke: a good job still completes */
    PL_CHECK(pl, pl_jobs_last_seq(pl) == 0);
    PL_CHECK(pl, jt_proc_alive(pl->gw.pid) && jt_proc_alive(pl->w[0].pid) &&
                     jt_proc_alive(pl->w[1].pid));
    char good[128];
    char *body = pl_small_job(1);
    pl_post(pl, body, good, sizeof good);
    free(body);
    json_t *rec = pl_wait_final(pl, good, PL_WAIT_S);
    check_completed(pl, rec, 2);
    json_decref(rec);
}

/* ---- 11. bad msgpack on the bus ---------------------------------------------------------- */

static void bad_msgpack_on_bus(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    char garbage_id[64], typed_id[64], good[128];
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
    PL_CHECK(pl, strcmp(pl_str(rec, "status"), "failed") == 0);
    PL_CHECK(pl, strcmp(pl_str(rec, "error_type"), "invalid_job") == 0);
    PL_CHECK(pl, strstr(pl_str(rec, "error"), "invalid job") != NULL);
    json_decref(rec);
    rec = pl_wait_final(pl, typed_id, PL_WAIT_S);
    PL_CHECK(pl, strcmp(pl_str(rec, "status"), "failed") == 0);
    PL_CHECK(pl, strcmp(pl_str(rec, "error_type"), "invalid_job") == 0);
    if (strstr(pl_str(rec, "error"), "candidate_code") == NULL) {
        pl_show("record", rec);
        pl_fail(pl, "the error does not name the bad field");
    }
    json_decref(rec);

    /* the workers are unharmed: both alive, a good job completes, the queue drains */
    PL_CHECK(pl, jt_proc_alive(pl->w[0].pid) && jt_proc_alive(pl->w[1].pid));
    char *body = pl_small_job(1);
    pl_post(pl, body, good, sizeof good);
    free(body);
    rec = pl_wait_final(pl, good, PL_WAIT_S);
    check_completed(pl, rec, 2);
    json_decref(rec);
    double until = jt_nats_now() + 30;
    while (jt_bus_pending_jobs(&pl->bus) != 0 && jt_nats_now() < until)
        jt_nats_sleep_ms(100);
    PL_CHECK(pl, jt_bus_pending_jobs(&pl->bus) == 0);
    pl_wait_ready(pl, PL_WORKERS, 30.0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, pl_setup, pl_teardown)

static const struct CMUnitTest tests[] = {
    CASE(seed_example_completes), CASE(incorrect_solution_fails),
    CASE(twenty_jobs_no_overlap), CASE(cancel_queued_and_running),
    CASE(kill9_measuring_worker), CASE(gateway_restart_keeps_state),
    CASE(idempotency_one_task),   CASE(direct_nats_job),
    CASE(sse_events_in_order),    CASE(bad_http_requests),
    CASE(bad_msgpack_on_bus),
};

JT_UNIT_MAIN(tests)
