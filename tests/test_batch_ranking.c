/* test_batch_ranking.c -- batches end to end on the moving fake tree: the ranking, and a worker
 * killed mid-batch.
 *
 * Every case (argv[1]) is one ctest entry (tests/pipeline.cmake) and starts the whole system
 * afresh (support/pipeline_fixture.h) with a drifting idle baseline. Batches are published as
 * a direct NATS client would (msgpack on JT_SUBJECT_BATCHES); the outcome is read from the
 * batches KV bucket (batch_state.h).
 */
#include "unit_main.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "batch.h"
#include "batch_codec.h"
#include "batch_state.h"
#include "bus_names.h"
#include "curl_client.h"
#include "pipeline_fixture.h"
#include "pipeline_http.h"

#define BATCH_WAIT_S 600.0
#define BASE_WORK 60000 /* loop iterations of work level 0: a few ms of CPU per run */

/* Work level of each of the 20 ranked candidates: 15 levels 1.25x apart, levels 0, 3, 6, 9
 * and 12 twice (identical code). */
static const int LEVEL[20] = {0, 0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10, 11, 12, 12, 13, 14};

static char *burn_code(int level)
{
    char *code = NULL;
    long work = lround(BASE_WORK * pow(1.25, level));
    if (asprintf(&code,
                 "W = %ld\n"
                 "def solve(n):\n"
                 "    s = 0\n"
                 "    for i in range(W):\n"
                 "        s += i\n"
                 "    return n * 2\n",
                 work) < 0)
        return NULL;
    return code;
}

/* The problem fields shared by every batch of this file. */
static void set_problem(json_t *b, double budget_s)
{
    json_object_set_new(b, "function_name", json_string("solve"));
    json_object_set_new(b, "test_cases",
                        json_pack("[{s:s,s:[i],s:i},{s:s,s:[i],s:i}]", "test_id", "one", "inputs",
                                  1, "expected_output", 2, "test_id", "two", "inputs", 21,
                                  "expected_output", 42));
    json_object_set_new(b, "min_trial_seconds", json_real(0.1));
    json_object_set_new(b, "warmup_trials", json_integer(1));
    json_object_set_new(b, "max_measurement_seconds", json_real(budget_s));
}

static json_t *candidate(const char *id, char *code)
{
    json_t *c = json_pack("{s:s,s:s}", "candidate_id", id, "candidate_code", code);
    free(code);
    return c;
}

/* Publish batch (consumed) as msgpack with Nats-Msg-Id = its batch_id. */
static void publish_batch(pl_t *pl, json_t *batch)
{
    char *text = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    jt_batch_t b;
    jt_batch_init(&b);
    jt_error_t err;
    if (jt_batch_from_json(&b, text, strlen(text), &err) != JT_OK)
        pl_fail(pl, "the test's batch is invalid: %s: %s", err.path, err.message);
    free(text);
    uint8_t *data = NULL;
    size_t len = 0;
    PL_CHECK(pl, jt_batch_to_msgpack(&b, &data, &len) == JT_OK);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = b.batch_id;
    jsErrCode jerr = 0;
    natsStatus s = js_Publish(NULL, pl->bus.js, JT_SUBJECT_BATCHES, data, (int)len, &po, &jerr);
    free(data);
    jt_batch_cleanup(&b);
    if (s != NATS_OK)
        pl_fail(pl, "publishing the batch failed: %s (jerr %d)", natsStatus_GetText(s), (int)jerr);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Wait until the batch's record is final; returns it (new reference). */
static json_t *wait_batch_final(pl_t *pl, const char *id, double seconds)
{
    double until = jt_nats_now() + seconds, next_print = 0;
    for (;;) {
        json_t *rec = NULL;
        jt_error_t err;
        if (jt_batch_record_get(&pl->bus, id, &rec, NULL, &err) == JT_OK) {
            int st = jt_task_status_parse(str(rec, "status"));
            if (st >= 0 && jt_task_status_final((jt_task_status_t)st))
                return rec;
            if (jt_nats_now() >= next_print) {
                print_message("batch %s: %s, %lld blocks, %lld trials, %.0f s measured\n", id,
                              str(rec, "status"),
                              (long long)json_integer_value(json_object_get(rec, "blocks")),
                              (long long)json_integer_value(json_object_get(rec, "trials")),
                              json_number_value(json_object_get(rec, "measurement_seconds")));
                next_print = jt_nats_now() + 15;
            }
            json_decref(rec);
        }
        if (jt_nats_now() > until)
            pl_fail(pl, "batch %s did not end within %.0f s", id, seconds);
        jt_nats_sleep_ms(500);
    }
}

static json_t *result_of(pl_t *pl, const char *id)
{
    json_t *res = NULL;
    jt_error_t err;
    if (jt_batch_json_get(&pl->bus, id, "result", 0, &res, &err) != JT_OK)
        pl_fail(pl, "batch %s has no stored result: %s", id, err.message);
    return res;
}

static const json_t *entry_of(const json_t *ranking, const char *cid)
{
    size_t i;
    json_t *e;
    json_array_foreach(ranking, i, e) if (strcmp(str(e, "candidate_id"), cid) == 0) return e;
    return NULL;
}

/* ---- 1. twenty candidates with known work ratios ------------------------------------- */

static void ranks_twenty_candidates(void **state)
{
    pl_t *pl = *state;
    pl->idle_drift = true;
    pl_boot(pl);
    json_t *b = json_object();
    json_object_set_new(b, "batch_id", json_string("rank20"));
    set_problem(b, 180.0);
    json_t *cands = json_array();
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%02d", i);
        json_array_append_new(cands, candidate(id, burn_code(LEVEL[i])));
    }
    json_array_append_new(cands, candidate("wrong", strdup("def solve(n):\n    return n + 1\n")));
    json_object_set_new(b, "candidates", cands);
    publish_batch(pl, b);

    json_t *rec = wait_batch_final(pl, "rank20", BATCH_WAIT_S);
    if (strcmp(str(rec, "status"), "completed") != 0)
        pl_fail(pl, "batch ended %s: %s", str(rec, "status"), str(rec, "error"));
    json_t *res = result_of(pl, "rank20");
    const json_t *ranking = json_object_get(res, "ranking");
    print_message("method: %s\n", json_dumps(json_object_get(res, "method"), JSON_COMPACT));
    PL_CHECK(pl, json_array_size(ranking) == 20);

    /* the wrong candidate: failed at the gate with its test results, not ranked */
    PL_CHECK(pl, entry_of(ranking, "wrong") == NULL);
    const json_t *failed = json_object_get(res, "failed");
    PL_CHECK(pl, json_array_size(failed) == 1);
    PL_CHECK(pl, strcmp(str(json_array_get(failed, 0), "candidate_id"), "wrong") == 0);
    PL_CHECK(pl, strcmp(str(json_array_get(failed, 0), "stage"), "validation") == 0);
    json_t *gate = NULL;
    jt_error_t err;
    PL_CHECK(pl, jt_batch_json_get(&pl->bus, "rank20", "gate", 20, &gate, &err) == JT_OK);
    const json_t *v = json_object_get(gate, "validation");
    PL_CHECK(pl, json_is_false(json_object_get(v, "is_correct")));
    PL_CHECK(pl, json_array_size(json_object_get(v, "test_results")) == 2);
    json_decref(gate);

    double median[20];
    json_int_t rank[20], tier[20];
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%02d", i);
        const json_t *e = entry_of(ranking, id);
        PL_CHECK(pl, e != NULL);
        median[i] = json_number_value(json_object_get(e, "median_energy_joules"));
        rank[i] = json_integer_value(json_object_get(e, "rank"));
        tier[i] = json_integer_value(json_object_get(e, "tier"));
        print_message("%s level %2d: %.5f J [%.5f, %.5f] rank %lld [%lld, %lld] tier %lld, "
                      "%lld trials\n",
                      id, LEVEL[i], median[i], json_number_value(json_object_get(e, "ci95_low")),
                      json_number_value(json_object_get(e, "ci95_high")), (long long)rank[i],
                      (long long)json_integer_value(json_object_get(e, "rank_low")),
                      (long long)json_integer_value(json_object_get(e, "rank_high")),
                      (long long)tier[i],
                      (long long)json_integer_value(json_object_get(e, "trials")));
    }
    int wrong_order = 0, split_pairs = 0;
    for (int i = 0; i < 20; i++)
        for (int j = 0; j < 20; j++)
            if (LEVEL[i] > LEVEL[j] && (median[i] <= median[j] || rank[i] <= rank[j])) {
                print_message("out of order: c%02d (level %d) vs c%02d (level %d)\n", i, LEVEL[i],
                              j, LEVEL[j]);
                wrong_order++;
            }
    for (int i = 0; i + 1 < 20; i++)
        if (LEVEL[i] == LEVEL[i + 1] && tier[i] != tier[i + 1]) {
            print_message("identical pair c%02d/c%02d in tiers %lld and %lld\n", i, i + 1,
                          (long long)tier[i], (long long)tier[i + 1]);
            split_pairs++;
        }
    json_decref(res);
    json_decref(rec);
    if (wrong_order > 0 || split_pairs > 0)
        pl_fail(pl, "%d pairs 1.25x or more apart out of order, %d identical pairs split",
                wrong_order, split_pairs);
}

/* ---- 2. the measuring worker killed mid-batch ------------------------------------------ */

static void kill9_mid_batch(void **state)
{
    pl_t *pl = *state;
    pl->idle_drift = true;
    pl_boot(pl);
    json_t *b = json_object();
    json_object_set_new(b, "batch_id", json_string("killed"));
    set_problem(b, 60.0);
    json_t *cands = json_array();
    for (int i = 0; i < 12; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%02d", i);
        json_array_append_new(cands, candidate(id, burn_code(2 * (i % 6))));
    }
    json_object_set_new(b, "candidates", cands);
    publish_batch(pl, b);

    /* once a block is stored, kill the worker holding the measurement lease */
    double until = jt_nats_now() + BATCH_WAIT_S;
    json_int_t blocks = 0;
    while (blocks < 1) {
        if (jt_nats_now() > until)
            pl_fail(pl, "no block was stored");
        json_t *rec = NULL;
        jt_error_t err;
        if (jt_batch_record_get(&pl->bus, "killed", &rec, NULL, &err) == JT_OK) {
            blocks = json_integer_value(json_object_get(rec, "blocks"));
            json_decref(rec);
        }
        jt_nats_sleep_ms(100);
    }
    char holder[128] = "";
    for (int tries = 0; tries < 200 && holder[0] == '\0'; tries++) {
        kvEntry *e = NULL;
        kvKeysList keys = {0};
        if (kvStore_Keys(&keys, pl->bus.leases, NULL) == NATS_OK && keys.Count > 0 &&
            kvStore_Get(&e, pl->bus.leases, keys.Keys[0]) == NATS_OK) {
            json_t *l = json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL);
            snprintf(holder, sizeof holder, "%s", str(l, "holder"));
            json_decref(l);
        }
        kvEntry_Destroy(e);
        kvKeysList_Destroy(&keys);
        if (holder[0] == '\0')
            jt_nats_sleep_ms(20);
    }
    int victim = -1;
    for (int i = 0; i < PL_WORKERS; i++)
        if (strstr(holder, pl->w[i].id) != NULL)
            victim = i;
    if (victim < 0)
        pl_fail(pl, "no worker holds the lease (holder '%s')", holder);
    PL_CHECK(pl, kill(pl->w[victim].pid, SIGKILL) == 0);
    waitpid(pl->w[victim].pid, NULL, 0);
    pl->w[victim].pid = 0;
    print_message("killed %s after block %lld\n", pl->w[victim].id, (long long)blocks);

    json_t *rec = wait_batch_final(pl, "killed", BATCH_WAIT_S);
    if (strcmp(str(rec, "status"), "completed") != 0)
        pl_fail(pl, "batch ended %s: %s", str(rec, "status"), str(rec, "error"));
    json_int_t n_blocks = json_integer_value(json_object_get(rec, "blocks"));
    /* every stored block counted once: the trials per candidate in the ranking are the trials
     * of that candidate over blocks 0..n-1, and both workers measured some */
    int trials[12] = {0};
    bool by[PL_WORKERS] = {false};
    for (json_int_t k = 0; k < n_blocks; k++) {
        json_t *block = NULL;
        jt_error_t err;
        PL_CHECK(pl,
                 jt_batch_json_get(&pl->bus, "killed", "block", (size_t)k, &block, &err) == JT_OK);
        for (int i = 0; i < PL_WORKERS; i++)
            if (strcmp(str(block, "worker"), pl->w[i].id) == 0)
                by[i] = true;
        size_t t;
        json_t *tr;
        json_array_foreach(json_object_get(block, "trials"), t, tr)
        {
            json_int_t c = json_integer_value(json_object_get(tr, "candidate"));
            PL_CHECK(pl, c >= 0 && c < 12);
            trials[c]++;
        }
        json_decref(block);
    }
    json_t *probe = NULL;
    jt_error_t err;
    PL_CHECK(pl, jt_batch_json_get(&pl->bus, "killed", "block", (size_t)n_blocks, &probe, &err) ==
                     JT_ERR_MISSING);
    PL_CHECK(pl, by[0] && by[1]);
    json_t *res = result_of(pl, "killed");
    const json_t *ranking = json_object_get(res, "ranking");
    PL_CHECK(pl, json_array_size(ranking) == 12);
    for (int i = 0; i < 12; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%02d", i);
        const json_t *e = entry_of(ranking, id);
        PL_CHECK(pl, e != NULL);
        json_int_t n = json_integer_value(json_object_get(e, "trials"));
        if (n != trials[i])
            pl_fail(pl, "%s: %lld trials ranked, %d stored", id, (long long)n, trials[i]);
        PL_CHECK(pl, n >= 3);
    }
    print_message("%lld blocks, by both workers; every candidate's trials counted once\n",
                  (long long)n_blocks);
    json_decref(res);
    json_decref(rec);
}

/* ---- 3. over HTTP: a comparison, then a batch cancelled while it is measured ---------- */

/* POST body (consumed) to path; expects 202; the batch id into id. */
static void post_batch(pl_t *pl, const char *path, json_t *body, char *id, size_t len)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    jt_curl_resp_t r;
    int rc = jt_curl_request(pl->port, "POST", path, text, -1, NULL, 60, &r);
    free(text);
    if (rc != 0 || r.status != 202 || r.json == NULL)
        pl_fail(pl, "POST %s answered %ld: %s", path, r.status, r.body ? r.body : "");
    snprintf(id, len, "%s", str(r.json, "batch_id"));
    jt_curl_resp_free(&r);
    PL_CHECK(pl, id[0] != '\0');
}

/* GET /api/v1/batches/<id> (new reference); fails the case unless 200. */
static json_t *get_batch(pl_t *pl, const char *id)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/batches/%s", id);
    jt_curl_resp_t r;
    if (jt_curl_request(pl->port, "GET", path, NULL, 0, NULL, 30, &r) != 0 || r.status != 200 ||
        r.json == NULL)
        pl_fail(pl, "GET %s answered %ld", path, r.status);
    json_t *rec = json_incref(r.json);
    jt_curl_resp_free(&r);
    return rec;
}

static void compare_and_cancel_over_http(void **state)
{
    pl_t *pl = *state;
    pl_boot(pl);
    /* b does 1.25^3 = 1.95x the work of a */
    json_t *body = json_object();
    set_problem(body, 120.0);
    json_object_set_new(body, "a", candidate("a", burn_code(0)));
    json_object_set_new(body, "b", candidate("b", burn_code(3)));
    char id[160];
    post_batch(pl, "/api/v1/compare", body, id, sizeof id);
    json_t *rec = NULL;
    for (double until = jt_nats_now() + BATCH_WAIT_S;; jt_nats_sleep_ms(500)) {
        rec = get_batch(pl, id);
        int st = jt_task_status_parse(str(rec, "status"));
        if (st >= 0 && jt_task_status_final((jt_task_status_t)st))
            break;
        json_decref(rec);
        if (jt_nats_now() > until)
            pl_fail(pl, "comparison %s did not end", id);
    }
    if (strcmp(str(rec, "status"), "completed") != 0)
        pl_fail(pl, "comparison ended %s: %s", str(rec, "status"), str(rec, "error"));
    const json_t *cmp = json_object_get(rec, "comparison");
    double ratio = json_number_value(json_object_get(cmp, "ratio"));
    print_message("comparison: %s\n", json_dumps(cmp, JSON_COMPACT));
    PL_CHECK(pl, json_is_true(json_object_get(cmp, "b_uses_more")));
    PL_CHECK(pl, ratio > 1.4 && ratio < 2.8);
    PL_CHECK(pl, json_number_value(json_object_get(cmp, "p_value")) < 0.05);
    PL_CHECK(pl, strcmp(str(json_array_get(json_object_get(rec, "ranking"), 0), "candidate_id"),
                        "a") == 0);
    json_decref(rec);

    /* a batch with a long budget, cancelled once it measures: no block after the answer */
    body = json_object();
    set_problem(body, 3600.0);
    json_t *cands = json_array();
    for (int i = 0; i < 4; i++) {
        char cid[8];
        snprintf(cid, sizeof cid, "x%d", i);
        json_array_append_new(cands, candidate(cid, burn_code(0))); /* identical: never apart */
    }
    json_object_set_new(body, "candidates", cands);
    post_batch(pl, "/api/v1/batches", body, id, sizeof id);
    for (double until = jt_nats_now() + BATCH_WAIT_S;; jt_nats_sleep_ms(200)) {
        rec = get_batch(pl, id);
        json_int_t blocks = json_integer_value(json_object_get(rec, "blocks"));
        json_decref(rec);
        if (blocks >= 2)
            break;
        if (jt_nats_now() > until)
            pl_fail(pl, "batch %s measured no block", id);
    }
    char path[256];
    snprintf(path, sizeof path, "/api/v1/batches/%s", id);
    jt_curl_resp_t r;
    PL_CHECK(pl, jt_curl_request(pl->port, "DELETE", path, NULL, 0, NULL, 30, &r) == 0);
    PL_CHECK(pl, r.status == 202);
    PL_CHECK(pl, strcmp(str(r.json, "status"), "cancelled") == 0);
    jt_curl_resp_free(&r);
    jt_nats_sleep_ms(1500); /* a block in flight is stopped, not stored */
    rec = get_batch(pl, id);
    json_int_t blocks = json_integer_value(json_object_get(rec, "blocks"));
    json_decref(rec);
    jt_nats_sleep_ms(5000);
    rec = get_batch(pl, id);
    PL_CHECK(pl, strcmp(str(rec, "status"), "cancelled") == 0);
    PL_CHECK(pl, json_integer_value(json_object_get(rec, "blocks")) == blocks);
    json_decref(rec);
    json_t *probe = NULL;
    jt_error_t err;
    PL_CHECK(pl, jt_batch_json_get(&pl->bus, id, "block", (size_t)blocks, &probe, &err) ==
                     JT_ERR_MISSING);
    /* the lease is free again: a single job completes */
    char task[128];
    pl_post(pl,
            "{\"candidate_code\": \"def solve(n):\\n    return n * 2\\n\", \"test_cases\": "
            "[{\"inputs\": [1], \"expected_output\": 2}], \"warmup_trials\": 0, "
            "\"energy_measurement_trials\": 2, \"min_trial_seconds\": 0.05}",
            task, sizeof task);
    rec = pl_wait_final(pl, task, PL_WAIT_S);
    PL_CHECK(pl, strcmp(str(rec, "status"), "completed") == 0);
    json_decref(rec);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, pl_setup, pl_teardown)
static const struct CMUnitTest tests[] = {
    CASE(ranks_twenty_candidates),
    CASE(kill9_mid_batch),
    CASE(compare_and_cancel_over_http),
};

JT_UNIT_MAIN(tests)
