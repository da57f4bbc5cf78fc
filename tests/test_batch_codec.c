/* test_batch_codec.c -- jt_batch_from_json / _from_msgpack / _compare_from_json / _to_msgpack. */
#include "unit_main.h"

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_codec.h"
#include "job_msgpack.h"
#include "task_id.h"
#include "text_builder.h"
#include "value.h"

#define PROBLEM                                                                                    \
    "\"function_name\":\"solve\",\"test_cases\":[{\"inputs\":[1,2],\"expected_output\":3}]"
#define ADD "def solve(a, b):\\n    return a + b\\n"
#define CAND(id) "{\"candidate_id\":\"" id "\",\"candidate_code\":\"" ADD "\"}"
#define TWO "[" CAND("c0") "," CAND("c1") "]"

/* A batch body: the problem, candidates (JSON text) and extra members (",\"k\":v"). */
static char *batch_body(const char *candidates, const char *extra)
{
    return fmt("{" PROBLEM ",\"candidates\":%s%s}", candidates, extra);
}

/* The same members as msgpack, converted by jansson and jt_value_from_json, which shares no
 * code with the JSON entry's body reader. */
static jt_blob_t to_msgpack(const char *json)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    assert_non_null(v);
    jt_blob_t mp = {NULL, 0};
    jt_error_t err;
    assert_int_equal(jt_value_from_json(v, "", &mp, &err), JT_OK);
    json_decref(v);
    return mp;
}

static void assert_batch_clean(const jt_batch_t *b)
{
    assert_null(b->candidates);
    assert_int_equal(b->n_candidates, 0);
    assert_null(b->batch_id);
    assert_null(b->callback_url);
    assert_null(b->problem.test_cases);
    assert_true(b->max_measurement_seconds == JT_DEFAULT_BATCH_MEASUREMENT_SECONDS);
}

/* The JSON body and its msgpack twin are both refused with code at path, the same message. */
static void expect_refused(const char *json, jt_status_t code, const char *path)
{
    jt_batch_t b;
    jt_error_t ej, em;
    jt_batch_init(&b);
    jt_status_t st = jt_batch_from_json(&b, json, strlen(json), &ej);
    if (st != code || strcmp(ej.path, path) != 0)
        fprintf(stderr, "body: %.300s\nwant %s at '%s', got %s at '%s': %s\n", json,
                jt_status_name(code), path, jt_status_name(st), st ? ej.path : "",
                st ? ej.message : "");
    assert_int_equal(st, code);
    assert_string_equal(ej.path, path);
    assert_true(ej.message[0] != '\0');
    assert_batch_clean(&b);
    jt_blob_t mp = to_msgpack(json);
    assert_int_equal(jt_batch_from_msgpack(&b, mp.data, mp.len, &em), code);
    assert_string_equal(em.path, ej.path);
    assert_string_equal(em.message, ej.message);
    assert_batch_clean(&b);
    jt_blob_free(&mp);
}

static void expect_refused_free(char *json, jt_status_t code, const char *path)
{
    expect_refused(json, code, path);
    free(json);
}

static void parse_ok(const char *json, jt_batch_t *b)
{
    jt_error_t err;
    jt_batch_init(b);
    jt_status_t st = jt_batch_from_json(b, json, strlen(json), &err);
    if (st != JT_OK)
        fprintf(stderr, "refused at '%s': %s\n", err.path, err.message);
    assert_int_equal(st, JT_OK);
}

/* ---- accepted ----------------------------------------------------------------------------- */

static void minimal_defaults(void **state)
{
    (void)state;
    char *body = batch_body(TWO, "");
    jt_batch_t b;
    parse_ok(body, &b);
    assert_int_equal(b.n_candidates, 2);
    assert_string_equal(b.candidates[0].candidate_id, "c0");
    assert_string_equal(b.candidates[1].candidate_id, "c1");
    assert_string_equal(b.candidates[1].code, "def solve(a, b):\n    return a + b\n");
    assert_int_equal(b.candidates[1].code_len, strlen(b.candidates[1].code));
    assert_false(b.candidates[0].is_reference || b.candidates[1].is_reference);
    assert_int_equal(jt_batch_reference(&b), -1);
    assert_null(b.batch_id);
    assert_null(b.callback_url);
    assert_true(b.max_measurement_seconds == JT_DEFAULT_BATCH_MEASUREMENT_SECONDS);
    assert_true(b.target_precision_percent == JT_DEFAULT_TARGET_PRECISION_PERCENT);
    /* The problem: the job's defaults, no candidate of its own. */
    assert_string_equal(b.problem.candidate_code, "");
    assert_null(b.problem.task_id);
    assert_null(b.problem.candidate_id);
    assert_string_equal(b.problem.function_name, "solve");
    assert_int_equal(b.problem.n_test_cases, 1);
    assert_int_equal(b.problem.energy_measurement_trials, JT_DEFAULT_TRIALS);
    jt_batch_cleanup(&b);
    assert_batch_clean(&b);
    free(body);
}

static void all_fields(void **state)
{
    (void)state;
    char *body =
        fmt("{\"batch_id\":\"b-1\",\"problem_name\":\"sum\",\"function_name\":\"f\","
            "\"test_cases\":[{\"test_id\":\"x\",\"inputs\":[1],\"expected_output\":1}],"
            "\"timeout_seconds\":5,\"energy_measurement_trials\":7,"
            "\"repetition_mode\":\"same_process\",\"comparison\":{\"abs_tol\":0.5},"
            "\"candidates\":[" CAND("fast") "," CAND(
                "slow") "],"
                        "\"reference\":{\"candidate_id\":\"base\",\"candidate_code\":\"x = 1\"},"
                        "\"callback_url\":\"HTTPS://hooks.example:8443/jt?x=1\","
                        "\"max_measurement_seconds\":86400,\"target_precision_percent\":100}");
    jt_batch_t b;
    parse_ok(body, &b);
    assert_string_equal(b.batch_id, "b-1");
    assert_int_equal(b.n_candidates, 3);
    assert_int_equal(jt_batch_reference(&b), 2);
    assert_true(b.candidates[2].is_reference);
    assert_string_equal(b.candidates[2].candidate_id, "base");
    assert_string_equal(b.candidates[2].code, "x = 1");
    assert_string_equal(b.callback_url, "HTTPS://hooks.example:8443/jt?x=1");
    assert_true(b.max_measurement_seconds == 86400.0);
    assert_true(b.target_precision_percent == 100.0);
    assert_string_equal(b.problem.problem_name, "sum");
    assert_string_equal(b.problem.function_name, "f");
    assert_string_equal(b.problem.test_cases[0].test_id, "x");
    assert_true(b.problem.timeout_seconds == 5.0);
    assert_int_equal(b.problem.energy_measurement_trials, 7);
    assert_int_equal(b.problem.repetition_mode, JT_REPEAT_SAME_PROCESS);
    assert_true(b.problem.abs_tol == 0.5);
    jt_batch_cleanup(&b);
    free(body);
}

/* null stands for an absent optional field. */
static void null_means_default(void **state)
{
    (void)state;
    char *body = batch_body(TWO, ",\"reference\":null,\"callback_url\":null,\"batch_id\":null,"
                                 "\"max_measurement_seconds\":null,"
                                 "\"target_precision_percent\":null,\"problem_name\":null");
    jt_batch_t b;
    parse_ok(body, &b);
    assert_int_equal(b.n_candidates, 2);
    assert_int_equal(jt_batch_reference(&b), -1);
    assert_null(b.callback_url);
    assert_true(b.max_measurement_seconds == JT_DEFAULT_BATCH_MEASUREMENT_SECONDS);
    jt_batch_cleanup(&b);
    free(body);
}

/* Candidate i's job: a deep copy of the problem with its code and id, alive after the batch. */
static void candidate_job(void **state)
{
    (void)state;
    static const char body[] =
        "{\"test_cases\":[{\"inputs\":[1180591620717411303424],\"expected_output\":null}],"
        "\"warmup_trials\":0,\"candidates\":[" CAND(
            "c0") "],"
                  "\"reference\":{\"candidate_id\":\"ref\",\"candidate_code\":\"r = 2\"}}";
    jt_batch_t b;
    parse_ok(body, &b);
    jt_job_t job;
    jt_error_t err;
    jt_job_init(&job);
    assert_int_equal(jt_batch_candidate_job(&b, 1, "task-1", &job, &err), JT_OK);
    assert_int_equal(jt_batch_candidate_job(&b, 2, NULL, &job, &err), JT_ERR_INVALID);
    jt_job_t job0;
    jt_job_init(&job0);
    assert_int_equal(jt_batch_candidate_job(&b, 0, NULL, &job0, &err), JT_OK);
    uint8_t *p0 = NULL, *pj = NULL;
    size_t l0 = 0, lj = 0;
    assert_int_equal(jt_job_to_msgpack(&b.problem, &p0, &l0), JT_OK);
    jt_batch_cleanup(&b); /* the jobs own their copies */
    assert_string_equal(job.task_id, "task-1");
    assert_string_equal(job.candidate_id, "ref");
    assert_string_equal(job.candidate_code, "r = 2");
    assert_int_equal(job.candidate_code_len, 5);
    assert_int_equal(job.warmup_trials, 0);
    assert_null(job0.task_id);
    assert_string_equal(job0.candidate_id, "c0");
    /* Apart from the candidate's own fields the job is the problem, byte for byte. */
    free(job0.candidate_code);
    free(job0.candidate_id);
    job0.candidate_code = strdup("");
    job0.candidate_code_len = 0;
    job0.candidate_id = NULL;
    assert_int_equal(jt_job_to_msgpack(&job0, &pj, &lj), JT_OK);
    assert_int_equal(lj, l0);
    assert_memory_equal(pj, p0, l0);
    free(p0);
    free(pj);
    jt_job_cleanup(&job);
    jt_job_cleanup(&job0);
}

/* ---- refused ------------------------------------------------------------------------------ */

static void refused_candidates(void **state)
{
    (void)state;
    expect_refused_free(batch_body("[]", ""), JT_ERR_INVALID, "candidates");
    expect_refused_free(batch_body("null", ""), JT_ERR_INVALID, "candidates");
    expect_refused_free(batch_body("{}", ""), JT_ERR_INVALID, "candidates");
    expect_refused("{" PROBLEM "}", JT_ERR_MISSING, "candidates");
    expect_refused_free(batch_body("[" CAND("c0") ",7]", ""), JT_ERR_INVALID, "candidates[1]");
    expect_refused_free(batch_body("[{\"candidate_id\":\"c0\"}]", ""), JT_ERR_MISSING,
                        "candidates[0].candidate_code");
    expect_refused_free(batch_body("[{\"candidate_code\":\"x=1\"}]", ""), JT_ERR_MISSING,
                        "candidates[0].candidate_id");
    expect_refused_free(batch_body("[" CAND("c0") ",{\"candidate_id\":\"c1\",\"candidate_code\":"
                                                  "\"x\",\"colour\":1}]",
                                   ""),
                        JT_ERR_UNKNOWN_FIELD, "candidates[1].colour");
    expect_refused_free(batch_body("[{\"candidate_id\":\"c0\",\"candidate_code\":5}]", ""),
                        JT_ERR_INVALID, "candidates[0].candidate_code");
    expect_refused_free(
        batch_body("[{\"candidate_id\":\"c0\",\"candidate_code\":\"a\\u0000b\"}]", ""),
        JT_ERR_INVALID, "candidates[0].candidate_code");
    expect_refused_free(batch_body(TWO, ",\"reference\":{\"candidate_id\":\"r\"}"), JT_ERR_MISSING,
                        "reference.candidate_code");
    expect_refused_free(batch_body(TWO, ",\"reference\":[]"), JT_ERR_INVALID, "reference");
}

static void refused_ids(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"\"",    "\"a b\"", "\"x/y\"",    "\"..\"",
                                      "\"%41\"", "7",       "\"\\u00e9\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *cands =
            fmt("[" CAND("c0") ",{\"candidate_id\":%s,\"candidate_code\":\"x\"}]", bad[i]);
        expect_refused_free(batch_body(cands, ""), JT_ERR_INVALID, "candidates[1].candidate_id");
        free(cands);
    }
    text_t t = {0};
    text_cat(&t, "[{\"candidate_code\":\"x\",\"candidate_id\":\"");
    text_rep(&t, "i", JT_TASK_ID_MAX + 1);
    text_cat(&t, "\"}]");
    expect_refused_free(batch_body(t.p, ""), JT_ERR_TOO_LARGE, "candidates[0].candidate_id");
    free(t.p);
    /* Duplicates: the later one is at fault; the reference counts as the last candidate. */
    expect_refused_free(
        batch_body("[" CAND("a") "," CAND("b") "," CAND("c") "," CAND("b") "," CAND("a") "]", ""),
        JT_ERR_INVALID, "candidates[3].candidate_id");
    expect_refused_free(batch_body(TWO, ",\"reference\":" CAND("c1")), JT_ERR_INVALID,
                        "reference.candidate_id");
}

static void refused_problem_fields(void **state)
{
    (void)state;
    expect_refused_free(batch_body(TWO, ",\"task_id\":\"t1\""), JT_ERR_UNKNOWN_FIELD, "task_id");
    expect_refused_free(batch_body(TWO, ",\"candidate_code\":\"x\""), JT_ERR_UNKNOWN_FIELD,
                        "candidate_code");
    expect_refused_free(batch_body(TWO, ",\"candidate_id\":\"x\""), JT_ERR_UNKNOWN_FIELD,
                        "candidate_id");
    expect_refused_free(batch_body(TWO, ",\"colour\":\"red\""), JT_ERR_UNKNOWN_FIELD, "colour");
    expect_refused_free(batch_body(TWO, ",\"a\":{}"), JT_ERR_UNKNOWN_FIELD, "a");
    /* The job parser's own rules, at the same paths. */
    expect_refused("{\"candidates\":" TWO "}", JT_ERR_MISSING, "test_cases");
    expect_refused("{\"test_cases\":[{\"expected_output\":1}],\"candidates\":" TWO "}",
                   JT_ERR_MISSING, "test_cases[0].inputs");
    expect_refused_free(batch_body(TWO, ",\"timeout_seconds\":0"), JT_ERR_INVALID,
                        "timeout_seconds");
    expect_refused_free(batch_body(TWO, ",\"comparison\":{\"x\":1}"), JT_ERR_UNKNOWN_FIELD,
                        "comparison.x");
    /* An unknown field is listed against the batch's fields, not a job's. */
    jt_batch_t b;
    jt_error_t err;
    jt_batch_init(&b);
    char *body = batch_body(TWO, ",\"colour\":\"red\"");
    assert_int_equal(jt_batch_from_json(&b, body, strlen(body), &err), JT_ERR_UNKNOWN_FIELD);
    assert_non_null(strstr(err.message, "candidates, reference, callback_url"));
    assert_non_null(strstr(err.message, "a job but task_id"));
    free(body);
    /* Not an object at all. */
    assert_int_equal(jt_batch_from_json(&b, "[1]", 3, &err), JT_ERR_INVALID);
    assert_string_equal(err.path, "");
    jt_blob_t mp = to_msgpack("[1]");
    assert_int_equal(jt_batch_from_msgpack(&b, mp.data, mp.len, &err), JT_ERR_INVALID);
    assert_string_equal(err.path, "");
    jt_blob_free(&mp);
    assert_batch_clean(&b);
}

/* Members added to a body, and the refusal they earn. */
typedef struct {
    const char *members;
    jt_status_t code;
    const char *path;
} refusal_t;

static void refused_options(void **state)
{
    (void)state;
    static const refusal_t rows[] = {
        {",\"callback_url\":\"ftp://h/x\"", JT_ERR_INVALID, "callback_url"},
        {",\"callback_url\":\"http://\"", JT_ERR_INVALID, "callback_url"},
        {",\"callback_url\":\"https:///x\"", JT_ERR_INVALID, "callback_url"},
        {",\"callback_url\":\"http://h/a b\"", JT_ERR_INVALID, "callback_url"},
        {",\"callback_url\":\"http://h/\\u00e9\"", JT_ERR_INVALID, "callback_url"},
        {",\"callback_url\":\"/relative\"", JT_ERR_INVALID, "callback_url"},
        {",\"callback_url\":1", JT_ERR_INVALID, "callback_url"},
        {",\"max_measurement_seconds\":0", JT_ERR_INVALID, "max_measurement_seconds"},
        {",\"max_measurement_seconds\":-5", JT_ERR_INVALID, "max_measurement_seconds"},
        {",\"max_measurement_seconds\":86400.5", JT_ERR_INVALID, "max_measurement_seconds"},
        {",\"max_measurement_seconds\":\"60\"", JT_ERR_INVALID, "max_measurement_seconds"},
        {",\"target_precision_percent\":0", JT_ERR_INVALID, "target_precision_percent"},
        {",\"target_precision_percent\":100.01", JT_ERR_INVALID, "target_precision_percent"},
        {",\"target_precision_percent\":true", JT_ERR_INVALID, "target_precision_percent"},
        {",\"batch_id\":\"no/slash\"", JT_ERR_INVALID, "batch_id"},
        {",\"batch_id\":\"\"", JT_ERR_INVALID, "batch_id"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expect_refused_free(batch_body(TWO, rows[i].members), rows[i].code, rows[i].path);
    text_t t = {0};
    text_cat(&t, ",\"callback_url\":\"http://h/");
    text_rep(&t, "p", JT_MAX_CALLBACK_URL_BYTES - 9 + 1);
    text_cat(&t, "\"");
    expect_refused_free(batch_body(TWO, t.p), JT_ERR_TOO_LARGE, "callback_url");
    /* Exactly the limit is accepted. */
    t.p[t.len - 2] = '"';
    t.p[t.len - 1] = '\0';
    char *body = batch_body(TWO, t.p);
    jt_batch_t b;
    parse_ok(body, &b);
    assert_int_equal(strlen(b.callback_url), JT_MAX_CALLBACK_URL_BYTES);
    jt_batch_cleanup(&b);
    free(body);
    free(t.p);
}

/* msgpack alone can repeat a key or end early; JSON refuses those at its syntax. */
static void msgpack_only(void **state)
{
    (void)state;
    jt_batch_t b;
    jt_error_t err;
    jt_batch_init(&b);
    jt_blob_t mp = to_msgpack("{" PROBLEM ",\"candidates\":" TWO "}");
    assert_int_equal(jt_batch_from_msgpack(&b, mp.data, mp.len - 1, &err), JT_ERR_TRUNCATED);
    uint8_t *longer = malloc(mp.len + 1);
    memcpy(longer, mp.data, mp.len);
    longer[mp.len] = 0xc0;
    assert_int_equal(jt_batch_from_msgpack(&b, longer, mp.len + 1, &err), JT_ERR_TRAILING);
    free(longer);
    /* The map header says one more member, appended: "candidates" again. */
    assert_int_equal(mp.data[0] & 0xf0, 0x80);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (mp.data[0] & 0x0f) + 1u);
    msgpack_sbuffer_write(&sb, (const char *)mp.data + 1, mp.len - 1);
    msgpack_pack_str_with_body(&pk, "candidates", 10);
    msgpack_pack_array(&pk, 0);
    assert_int_equal(jt_batch_from_msgpack(&b, (const uint8_t *)sb.data, sb.size, &err),
                     JT_ERR_INVALID);
    assert_string_equal(err.path, "candidates");
    assert_non_null(strstr(err.message, "more than once"));
    assert_batch_clean(&b);
    msgpack_sbuffer_destroy(&sb);
    jt_blob_free(&mp);
}

/* What jt_batch_to_msgpack writes reads back to the same batch, and to the same bytes. */
static void roundtrip(void **state)
{
    (void)state;
    char *body =
        batch_body("[" CAND("a") "," CAND("b") "]",
                   ",\"reference\":" CAND("r") ",\"callback_url\":\"http://h/x\","
                                               "\"max_measurement_seconds\":60,\"batch_id\":\"B1\","
                                               "\"problem_name\":\"p\"");
    jt_batch_t b, c;
    jt_error_t err;
    parse_ok(body, &b);
    uint8_t *w1 = NULL, *w2 = NULL;
    size_t l1 = 0, l2 = 0;
    assert_int_equal(jt_batch_to_msgpack(&b, &w1, &l1), JT_OK);
    jt_batch_init(&c);
    assert_int_equal(jt_batch_from_msgpack(&c, w1, l1, &err), JT_OK);
    assert_int_equal(c.n_candidates, 3);
    assert_int_equal(jt_batch_reference(&c), 2);
    assert_string_equal(c.candidates[2].candidate_id, "r");
    assert_string_equal(c.callback_url, "http://h/x");
    assert_string_equal(c.batch_id, "B1");
    assert_true(c.max_measurement_seconds == 60.0);
    assert_string_equal(c.problem.problem_name, "p");
    assert_int_equal(jt_batch_to_msgpack(&c, &w2, &l2), JT_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(w1, w2, l1);
    free(w1);
    free(w2);
    jt_batch_cleanup(&b);
    jt_batch_cleanup(&c);
    free(body);
}

/* ---- bounds ------------------------------------------------------------------------------- */

/* n candidates of code_len bytes each ("#" comments), ids "c<i>". */
static char *body_n_candidates(size_t n, size_t code_len, const char *extra)
{
    text_t t = {0};
    char *code = malloc(code_len + 1);
    memset(code, '#', code_len);
    code[code_len] = '\0';
    text_cat(&t, "{" PROBLEM ",\"candidates\":[");
    for (size_t i = 0; i < n; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s{\"candidate_id\":\"c%zu\",\"candidate_code\":\"",
                 i ? "," : "", i);
        text_cat(&t, head);
        text_add(&t, code, code_len);
        text_cat(&t, "\"}");
    }
    text_cat(&t, "]");
    text_cat(&t, extra);
    text_cat(&t, "}");
    free(code);
    return t.p;
}

static void candidate_count(void **state)
{
    (void)state;
    jt_batch_t b;
    char *body = body_n_candidates(JT_MAX_BATCH_CANDIDATES, 4, "");
    parse_ok(body, &b);
    assert_int_equal(b.n_candidates, JT_MAX_BATCH_CANDIDATES);
    assert_string_equal(b.candidates[JT_MAX_BATCH_CANDIDATES - 1].candidate_id, "c999");
    jt_batch_cleanup(&b);
    free(body);
    expect_refused_free(body_n_candidates(JT_MAX_BATCH_CANDIDATES + 1, 4, ""), JT_ERR_TOO_LARGE,
                        "candidates");
    /* The reference counts. */
    expect_refused_free(body_n_candidates(JT_MAX_BATCH_CANDIDATES, 4, ",\"reference\":" CAND("r")),
                        JT_ERR_TOO_LARGE, "candidates");
    body = body_n_candidates(JT_MAX_BATCH_CANDIDATES - 1, 4, ",\"reference\":" CAND("r"));
    parse_ok(body, &b);
    assert_int_equal(b.n_candidates, JT_MAX_BATCH_CANDIDATES);
    assert_int_equal(jt_batch_reference(&b), JT_MAX_BATCH_CANDIDATES - 1);
    jt_batch_cleanup(&b);
    free(body);
}

static void code_bounds(void **state)
{
    (void)state;
    jt_batch_t b;
    char *body = body_n_candidates(2, JT_MAX_CODE_BYTES, "");
    parse_ok(body, &b);
    assert_int_equal(b.candidates[1].code_len, JT_MAX_CODE_BYTES);
    jt_batch_cleanup(&b);
    free(body);
    expect_refused_free(body_n_candidates(2, JT_MAX_CODE_BYTES + 1, ""), JT_ERR_TOO_LARGE,
                        "candidates[0].candidate_code");
}

/* A batch body may be far larger than a job's, up to JT_MAX_BATCH_BODY_BYTES. */
static void body_bounds(void **state)
{
    (void)state;
    size_t per = (JT_MAX_BATCH_BODY_BYTES - 4096) / JT_MAX_BATCH_CANDIDATES - 48;
    char *body = body_n_candidates(JT_MAX_BATCH_CANDIDATES, per, "");
    size_t len = strlen(body);
    assert_true(len > JT_MAX_BODY_BYTES && len <= JT_MAX_BATCH_BODY_BYTES);
    jt_batch_t b;
    parse_ok(body, &b);
    assert_int_equal(b.n_candidates, JT_MAX_BATCH_CANDIDATES);
    assert_int_equal(b.candidates[999].code_len, per);
    jt_batch_cleanup(&b);
    /* Padded with blanks to one byte over the bound: refused before it is parsed. */
    char *big = malloc(JT_MAX_BATCH_BODY_BYTES + 2);
    memcpy(big, body, len);
    memset(big + len, ' ', JT_MAX_BATCH_BODY_BYTES + 1 - len);
    jt_error_t err;
    jt_batch_init(&b);
    assert_int_equal(jt_batch_from_json(&b, big, JT_MAX_BATCH_BODY_BYTES, &err), JT_OK);
    jt_batch_cleanup(&b);
    assert_int_equal(jt_batch_from_json(&b, big, JT_MAX_BATCH_BODY_BYTES + 1, &err),
                     JT_ERR_TOO_LARGE);
    assert_string_equal(err.path, "");
    assert_non_null(strstr(err.message, "64 MiB"));
    assert_int_equal(
        jt_batch_from_msgpack(&b, (const uint8_t *)big, JT_MAX_BATCH_BODY_BYTES + 1, &err),
        JT_ERR_TOO_LARGE);
    assert_batch_clean(&b);
    free(big);
    free(body);
}

/* The problem is bounded like a job, and every candidate's job must fit a job's bound. */
static void problem_bounds(void **state)
{
    (void)state;
    /* 3/8 + 7 * 4/8 MiB of strings: a problem 128 KiB under a job's bound. */
    text_t t = {0};
    text_cat(&t, "{\"test_cases\":[{\"inputs\":[\"");
    char *pad = malloc(JT_MAX_STRING_BYTES);
    memset(pad, 'x', JT_MAX_STRING_BYTES);
    text_add(&t, pad, JT_MAX_STRING_BYTES / 8 * 3);
    text_cat(&t, "\"],\"metadata\":[");
    for (size_t i = 0; i < 7; i++) {
        text_cat(&t, i ? ",\"" : "\"");
        text_add(&t, pad, JT_MAX_STRING_BYTES / 2);
        text_cat(&t, "\"");
    }
    text_cat(&t, "],\"expected_output\":1}],\"candidates\":[" CAND("small") ",");
    size_t head = t.len;
    /* A big candidate: its job with the 4 MiB problem exceeds the bound. */
    text_cat(&t, "{\"candidate_id\":\"big\",\"candidate_code\":\"");
    text_add(&t, pad, JT_MAX_CODE_BYTES);
    text_cat(&t, "\"}]}");
    expect_refused(t.p, JT_ERR_TOO_LARGE, "candidates[1].candidate_code");
    /* Without it the batch is accepted. */
    t.len = head - 1;
    text_cat(&t, "]}");
    jt_batch_t b;
    parse_ok(t.p, &b);
    jt_batch_cleanup(&b);
    free(t.p);
    /* A problem over a job's bound: the whole body is too large. */
    t = (text_t){0};
    text_cat(&t, "{\"candidates\":" TWO ",\"test_cases\":[");
    for (size_t i = 0; i < 9; i++) {
        text_cat(&t, i ? ",{\"inputs\":\"" : "{\"inputs\":\"");
        text_add(&t, pad, JT_MAX_STRING_BYTES / 2);
        text_cat(&t, "\",\"expected_output\":1}");
    }
    text_cat(&t, "]}");
    expect_refused(t.p, JT_ERR_TOO_LARGE, "");
    free(t.p);
    free(pad);
}

/* ---- comparisons -------------------------------------------------------------------------- */

static void compare_shape(void **state)
{
    (void)state;
    static const char body[] =
        "{" PROBLEM ",\"a\":{\"candidate_code\":\"x = 1\"},"
        "\"b\":{\"candidate_code\":\"y = 2\"},\"max_measurement_seconds\":30}";
    jt_batch_t b;
    jt_error_t err;
    jt_batch_init(&b);
    assert_int_equal(jt_batch_compare_from_json(&b, body, strlen(body), &err), JT_OK);
    assert_int_equal(b.n_candidates, 2);
    assert_string_equal(b.candidates[0].candidate_id, "b");
    assert_string_equal(b.candidates[0].code, "y = 2");
    assert_false(b.candidates[0].is_reference);
    assert_string_equal(b.candidates[1].candidate_id, "a");
    assert_string_equal(b.candidates[1].code, "x = 1");
    assert_int_equal(jt_batch_reference(&b), 1);
    assert_true(b.max_measurement_seconds == 30.0);
    jt_batch_cleanup(&b);
    static const char named[] =
        "{" PROBLEM ",\"a\":{\"candidate_id\":\"old\",\"candidate_code\":\"\"},"
        "\"b\":{\"candidate_id\":\"new\",\"candidate_code\":\"\"}}";
    jt_batch_init(&b);
    assert_int_equal(jt_batch_compare_from_json(&b, named, strlen(named), &err), JT_OK);
    assert_string_equal(b.candidates[0].candidate_id, "new");
    assert_string_equal(b.candidates[1].candidate_id, "old");
    jt_batch_cleanup(&b);
}

static void compare_refused(void **state)
{
    (void)state;
    static const refusal_t rows[] = {
        {",\"b\":{\"candidate_code\":\"\"}", JT_ERR_MISSING, "a"},
        {",\"a\":{\"candidate_code\":\"\"}", JT_ERR_MISSING, "b"},
        {",\"a\":{},\"b\":{\"candidate_code\":\"\"}", JT_ERR_MISSING, "a.candidate_code"},
        {",\"a\":{\"candidate_code\":\"\"},\"b\":{\"candidate_code\":\"\",\"x\":1}",
         JT_ERR_UNKNOWN_FIELD, "b.x"},
        {",\"a\":{\"candidate_code\":\"\",\"candidate_id\":\"b\"},\"b\":{\"candidate_code\":\"\"}",
         JT_ERR_INVALID, "a.candidate_id"},
        {",\"a\":null,\"b\":{\"candidate_code\":\"\"}", JT_ERR_INVALID, "a"},
        {",\"a\":{\"candidate_code\":\"\"},\"b\":{\"candidate_code\":\"\"},\"candidates\":[]",
         JT_ERR_UNKNOWN_FIELD, "candidates"},
        {",\"a\":{\"candidate_code\":\"\"},\"b\":{\"candidate_code\":\"\"},\"batch_id\":\"x\"",
         JT_ERR_UNKNOWN_FIELD, "batch_id"},
        {",\"a\":{\"candidate_code\":\"\"},\"b\":{\"candidate_code\":\"\"},\"candidate_code\":\"\"",
         JT_ERR_UNKNOWN_FIELD, "candidate_code"},
        {",\"a\":{\"candidate_code\":\"\"},\"b\":{\"candidate_code\":\"\"},"
         "\"callback_url\":\"gopher://x\"",
         JT_ERR_INVALID, "callback_url"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *body = fmt("{" PROBLEM "%s}", rows[i].members);
        jt_batch_t b;
        jt_error_t err;
        jt_batch_init(&b);
        jt_status_t st = jt_batch_compare_from_json(&b, body, strlen(body), &err);
        if (st != rows[i].code || strcmp(err.path, rows[i].path) != 0)
            fprintf(stderr, "row %zu: got %s at '%s': %s\n", i, jt_status_name(st), err.path,
                    err.message);
        assert_int_equal(st, rows[i].code);
        assert_string_equal(err.path, rows[i].path);
        assert_batch_clean(&b);
        free(body);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(minimal_defaults),
    cmocka_unit_test(all_fields),
    cmocka_unit_test(null_means_default),
    cmocka_unit_test(candidate_job),
    cmocka_unit_test(refused_candidates),
    cmocka_unit_test(refused_ids),
    cmocka_unit_test(refused_problem_fields),
    cmocka_unit_test(refused_options),
    cmocka_unit_test(msgpack_only),
    cmocka_unit_test(roundtrip),
    cmocka_unit_test(candidate_count),
    cmocka_unit_test(code_bounds),
    cmocka_unit_test(body_bounds),
    cmocka_unit_test(problem_bounds),
    cmocka_unit_test(compare_shape),
    cmocka_unit_test(compare_refused),
};

JT_UNIT_MAIN(tests)
