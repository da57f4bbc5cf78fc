/* test_pipeline.c -- end to end: nats-server, gateway, two workers, fake RAPL; HTTP and NATS
 * clients. The life of a job: submitted, validated, measured, reported. */
#include "unit_main.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus_record.h"
#include "bus_names.h"
#include "candidate.h"
#include "curl_client.h"
#include "job.h"
#include "job_json.h"
#include "job_msgpack.h"
#include "json_path.h"
#include "pipeline_bus.h"
#include "pipeline_fixture.h"
#include "pipeline_http.h"
#include "pipeline_job.h"
#include "pipeline_record.h"
#include "record_keys.h"

/* Every case (argv[1]) is one ctest entry (tests/pipeline.cmake) and starts
 * the whole system afresh (support/pipeline_fixture.h). Faults (cancels, kill -9,
 * gateway restart, bad input) are in test_pipeline_faults.c. */

/* ---- status and NATS records ------------------------------------------------------- */

static int pl_status_rank(const char *status)
{
    static const char *const order[] = {"queued",    "validating", "waiting_for_socket",
                                        "measuring", "completed",  "failed",
                                        "cancelled"};
    for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
        if (strcmp(status, order[i]) == 0)
            return i < 4 ? i : 4; /* the three ends share the last rank */
    return -1;
}

static bool pl_final(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
           strcmp(status, "cancelled") == 0;
}

static natsSubscription *pl_subscribe(pl_t *pl, const char *prefix, const char *id)
{
    char subject[320];
    natsSubscription *sub = NULL;
    PL_CHECK(pl, jt_bus_task_subject(subject, sizeof subject, prefix, id));
    PL_CHECK(pl, natsConnection_SubscribeSync(&sub, pl->bus.nc, subject) == NATS_OK);
    PL_CHECK(pl, natsConnection_Flush(pl->bus.nc) == NATS_OK);
    return sub;
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
    PL_CHECK(pl, strcmp(jt_json_str(r.json, "status"), "queued") == 0);
    char id[128], poll[256];
    snprintf(id, sizeof id, "%s", jt_json_str(r.json, "task_id"));
    snprintf(poll, sizeof poll, "%s", jt_json_str(r.json, "poll_url"));
    PL_CHECK(pl, strstr(poll, id) != NULL);
    jt_curl_resp_free(&r);

    /* poll the poll_url as the README says, until the task ends */
    double until = jt_nats_now() + PL_WAIT_S;
    long pause = 100;
    json_t *rec = NULL;
    for (;;) {
        PL_CHECK(pl, jt_curl_request(pl->port, "GET", poll, NULL, 0, NULL, 20, &r) == 0);
        PL_CHECK(pl, r.status == 200);
        const char *st = jt_json_str(r.json, "status");
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
        jt_json_str(rec, "worker"), num_at(pl, rec, "energy_metrics.median_total_energy_joules"),
        num_at(pl, rec, "energy_metrics.median_execution_time_seconds"),
        num_at(pl, rec, "statistics.trials"), num_at(pl, rec, "statistics.repeats_per_trial"),
        json_number_value(jt_json_at(rec, "statistics.cv_percent")),
        jt_json_str(json_object_get(rec, "statistics"), "early_stop_reason"));
    PL_CHECK(pl, strcmp(jt_json_str(rec, "task_id"), id) == 0);
    PL_CHECK(pl, json_integer_value(json_object_get(rec, "trials_total")) == 3);
    /* the seed's default: energy_measurement_trials 3 is the maximum */
    PL_CHECK(pl, num_at(pl, rec, "statistics.trials") <= 3);
    json_decref(rec);

    /* The gateway knows each worker's calibration from its heartbeat only. */
    jt_curl_resp_t st;
    PL_CHECK(pl, jt_curl_request(pl->port, "GET", "/api/v1/socket0/status", NULL, 0, NULL, 20,
                                 &st) == 0);
    json_t *w = json_array_get(jt_json_at(st.json, "calibration.workers"), 0);
    PL_CHECK(pl, json_is_true(json_object_get(w, "calibrated")));
    PL_CHECK(pl, strlen(jt_json_str(w, "calibrated_at")) == 20); /* YYYY-MM-DDTHH:MM:SSZ */
    PL_CHECK(pl, json_integer_value(json_object_get(w, "calibration_valid_days")) > 0);
    jt_curl_resp_free(&st);
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
    if (strcmp(jt_json_str(rec, "status"), "failed") != 0) {
        pl_show("record", rec);
        pl_fail(pl, "an incorrect solution ended %s", jt_json_str(rec, "status"));
    }
    pl_require_keys(pl, rec, "record", RECORD_KEYS);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "error_type"), "incorrect") == 0);
    check_validation(pl, rec, false, 1, 3);
    json_t *tr = jt_json_at(rec, "validation.test_results");
    static const char *const ids[] = {"ok", "wrong", "raises"};
    for (size_t i = 0; i < 3; i++) {
        json_t *t = json_array_get(tr, i);
        PL_CHECK(pl, strcmp(jt_json_str(t, "test_id"), ids[i]) == 0);
        PL_CHECK(pl, json_is_true(json_object_get(t, "passed")) == (i == 0));
        PL_CHECK(pl, strlen(jt_json_str(t, "status")) > 0);
    }
    PL_CHECK(pl, strcmp(jt_json_str(json_array_get(tr, 1), "status"), "wrong_answer") == 0);
    PL_CHECK(pl, strstr(jt_json_str(json_array_get(tr, 1), "message"), "expected") != NULL);
    PL_CHECK(pl, strstr(jt_json_str(json_array_get(tr, 2), "message"), "TypeError") != NULL);
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
            snprintf(ids[i], 128, "%s", jt_json_str(r[i].json, "task_id"));
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
        int wi = pl_worker_index(pl, jt_json_str(rec, "worker"));
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

/* ---- 4. Idempotency-Key ------------------------------------------------------------------ */

static void idempotency_one_task(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    natsSubscription *results = pl_subscribe_results(pl);
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

/* ---- 5. a job published straight to NATS -------------------------------------------- */

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

    json_t *rec = jt_bus_record_next(res, PL_WAIT_S);
    if (rec == NULL)
        pl_fail(pl, "no result on %s%s within %.0f s", JT_SUBJECT_RESULT_PREFIX, id, PL_WAIT_S);
    check_completed(pl, rec, 1);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "task_id"), id) == 0);
    PL_CHECK(pl, strcmp(jt_json_str(rec, "candidate_id"), "pipeline-candidate") == 0);
    json_t *more = jt_bus_record_next(res, 2.0);
    PL_CHECK(pl, more == NULL); /* one result */
    /* the gateway serves the same record from the task state */
    json_t *got = pl_get(pl, id, NULL);
    PL_CHECK(pl, got != NULL && strcmp(jt_json_str(got, "status"), "completed") == 0);
    PL_CHECK(pl, json_equal(json_object_get(got, "trials"), json_object_get(rec, "trials")));
    json_decref(got);
    json_decref(rec);

    /* progress: stages forward only, trials counted up, the end last */
    int last_rank = -1, last_trial = -1, n = 0, measuring_trials = 0;
    bool validating = false, ended = false;
    json_t *p;
    while ((p = jt_bus_record_next(prog, 2.0)) != NULL) {
        const char *st = jt_json_str(p, "status");
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

/* ---- 6. Server-Sent Events -------------------------------------------------------------- */

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
    jt_burn_cases(cases, sizeof cases);
    char *body = pl_job_body(BURN_SOLVE_SRC, cases, 4, 1, 0.3, 0.001);
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
        const char *st = jt_json_str(d, "status");
        int rank = pl_status_rank(st);
        int trial = (int)json_integer_value(json_object_get(d, "trial"));
        bool last = i == n - 1;
        if (ev[i].id != i + 1 || d == NULL || rank < last_rank ||
            strcmp(ev[i].event, last ? "result" : "progress") != 0 ||
            (rank == 3 && trial < last_trial) || strcmp(jt_json_str(d, "task_id"), id) != 0) {
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

#define CASE(f) cmocka_unit_test_setup_teardown(f, pl_setup, pl_teardown)

static const struct CMUnitTest tests[] = {
    CASE(seed_example_completes), CASE(incorrect_solution_fails), CASE(twenty_jobs_no_overlap),
    CASE(idempotency_one_task),   CASE(direct_nats_job),          CASE(sse_events_in_order),
};

JT_UNIT_MAIN(tests)
