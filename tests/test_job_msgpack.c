/* test_job_msgpack.c -- msgpack job codec tests: round-trips, framing, schema, codes and paths. */
#include "unit_main.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "job_json.h"
#include "job_msgpack.h"
#include "job_msgpack_helpers.h"

static void assert_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_blob_eq(const jt_blob_t *a, const jt_blob_t *b)
{
    assert_int_equal(a->data == NULL, b->data == NULL);
    assert_int_equal(a->len, b->len);
    if (a->len > 0)
        assert_memory_equal(a->data, b->data, a->len);
}

static void assert_jobs_equal(const jt_job_t *a, const jt_job_t *b)
{
    assert_str_eq(a->task_id, b->task_id);
    assert_str_eq(a->candidate_code, b->candidate_code);
    assert_int_equal(a->candidate_code_len, b->candidate_code_len);
    assert_str_eq(a->function_name, b->function_name);
    assert_int_equal(a->n_test_cases, b->n_test_cases);
    for (size_t i = 0; i < a->n_test_cases; i++) {
        assert_str_eq(a->test_cases[i].test_id, b->test_cases[i].test_id);
        assert_blob_eq(&a->test_cases[i].inputs, &b->test_cases[i].inputs);
        assert_blob_eq(&a->test_cases[i].expected_output, &b->test_cases[i].expected_output);
        assert_blob_eq(&a->test_cases[i].metadata, &b->test_cases[i].metadata);
    }
    assert_memory_equal(&a->timeout_seconds, &b->timeout_seconds, sizeof(double));
    assert_int_equal(a->memory_limit_mb, b->memory_limit_mb);
    assert_int_equal(a->energy_measurement_trials, b->energy_measurement_trials);
    assert_int_equal(a->warmup_trials, b->warmup_trials);
    assert_memory_equal(&a->min_trial_seconds, &b->min_trial_seconds, sizeof(double));
    assert_memory_equal(&a->target_cv_percent, &b->target_cv_percent, sizeof(double));
    assert_memory_equal(&a->thermal_wait_seconds, &b->thermal_wait_seconds, sizeof(double));
    assert_str_eq(a->candidate_id, b->candidate_id);
    assert_str_eq(a->problem_name, b->problem_name);
    assert_memory_equal(&a->abs_tol, &b->abs_tol, sizeof(double));
    assert_memory_equal(&a->rel_tol, &b->rel_tol, sizeof(double));
    assert_int_equal(a->stop_on_first_failure, b->stop_on_first_failure);
    assert_int_equal(a->repetition_mode, b->repetition_mode);
}

static void set_blob(jt_blob_t *b, const char *bytes, size_t len)
{
    b->data = malloc(len ? len : 1);
    assert_non_null(b->data);
    memcpy(b->data, bytes, len);
    b->len = len;
}

/* A job with every field away from its default, built by hand. */
static void full_job(jt_job_t *job)
{
    jt_job_init(job);
    job->task_id = strdup("task-1_x");
    job->candidate_code = strdup("def f(x):\n    return [x, 'h\xc3\xa9']\n");
    job->candidate_code_len = strlen(job->candidate_code);
    job->function_name = strdup("f");
    job->n_test_cases = 2;
    job->test_cases = calloc(2, sizeof *job->test_cases);
    assert_non_null(job->test_cases);
    job->test_cases[0].test_id = strdup("first");
    set_blob(&job->test_cases[0].inputs, LIT("\x92\xca\x3f\xc0\x00\x00\xa1x")); /* [1.5f32,"x"] */
    set_blob(&job->test_cases[0].expected_output, LIT("\xc0"));
    set_blob(&job->test_cases[0].metadata, LIT("\x81\xa1w\xcf\xff\xff\xff\xff\xff\xff\xff\xff"));
    job->test_cases[1].test_id = strdup("t2");
    set_blob(&job->test_cases[1].inputs, LIT("\x81\xa1k\x90"));
    set_blob(&job->test_cases[1].expected_output, LIT("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"));
    job->timeout_seconds = 0.1 + 12;
    job->memory_limit_mb = 8192;
    job->energy_measurement_trials = 50;
    job->warmup_trials = 0;
    job->min_trial_seconds = 1.0 / 3;
    job->target_cv_percent = 100;
    job->thermal_wait_seconds = 299.5;
    job->candidate_id = strdup("cand \xe2\x9c\x93");
    job->problem_name = strdup("two-sum");
    job->abs_tol = 0;
    job->rel_tol = 1e-300;
    job->stop_on_first_failure = true;
    job->repetition_mode = JT_REPEAT_SAME_PROCESS;
}

/* ---- round-trips ------------------------------------------------------------------ */

static void roundtrip_all_fields(void **state)
{
    (void)state;
    jt_job_t a, b;
    full_job(&a);
    uint8_t *buf, *buf2;
    size_t len, len2;
    assert_int_equal(jt_job_to_msgpack(&a, &buf, &len), JT_OK);
    mp_decode_ok(buf, len, &b);
    assert_jobs_equal(&a, &b);
    assert_int_equal(jt_job_to_msgpack(&b, &buf2, &len2), JT_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    free(buf);
    free(buf2);
    jt_job_cleanup(&a);
    jt_job_cleanup(&b);
}

static void roundtrip_minimal(void **state)
{
    (void)state;
    jt_job_t a, b;
    mp_job_with_ok(LIT("\x01"), NULL, NULL, 0, &a);
    assert_string_equal(a.function_name, "solve");
    assert_string_equal(a.test_cases[0].test_id, "t1");
    assert_null(a.task_id);
    assert_int_equal(a.memory_limit_mb, JT_DEFAULT_MEMORY_LIMIT_MB);
    uint8_t *buf;
    size_t len;
    assert_int_equal(jt_job_to_msgpack(&a, &buf, &len), JT_OK);
    mp_decode_ok(buf, len, &b);
    assert_jobs_equal(&a, &b);
    free(buf);
    jt_job_cleanup(&a);
    jt_job_cleanup(&b);
}

static void json_to_msgpack_roundtrip(void **state)
{
    (void)state;
    const char *body =
        "{\"task_id\":\"T-9\",\"candidate_code\":\"import math\\ndef g(*a, **k):\\n    return "
        "math.pi\\n\",\"function_name\":\"g\",\"test_cases\":[{\"inputs\":{\"x\":[1,2.5,-3,"
        "\"\\u00e9\\u0000\",null,true,{\"y\":[]}]},\"expected_output\":3.141592653589793,"
        "\"metadata\":{\"note\":\"m\"}},{\"test_id\":12,\"inputs\":[],\"expected_output\":null}],"
        "\"timeout_seconds\":7,\"memory_limit_mb\":64,\"energy_measurement_trials\":3,"
        "\"warmup_trials\":10,\"min_trial_seconds\":0.05,\"target_cv_percent\":1.5,"
        "\"thermal_wait_seconds\":300,\"candidate_id\":\"c\",\"problem_name\":\"p\","
        "\"comparison\":{\"rel_tol\":1e-6},\"stop_on_first_failure\":false,"
        "\"repetition_mode\":\"fresh_process\"}";
    jt_job_t a, b;
    jt_job_init(&a);
    jt_error_t err;
    assert_int_equal(jt_job_from_json(&a, body, strlen(body), &err), JT_OK);
    uint8_t *buf;
    size_t len;
    assert_int_equal(jt_job_to_msgpack(&a, &buf, &len), JT_OK);
    mp_decode_ok(buf, len, &b);
    assert_jobs_equal(&a, &b);
    assert_true(b.abs_tol == JT_DEFAULT_ABS_TOL);
    assert_true(b.rel_tol == 1e-6);
    free(buf);
    jt_job_cleanup(&a);
    jt_job_cleanup(&b);
}

/* ---- framing ---------------------------------------------------------------------- */

static void truncated_every_prefix(void **state)
{
    (void)state;
    jt_job_t a;
    full_job(&a);
    uint8_t *buf;
    size_t len;
    assert_int_equal(jt_job_to_msgpack(&a, &buf, &len), JT_OK);
    for (size_t n = 0; n < len; n++) {
        /* an exact-size copy, so that ASan sees any read past the end */
        uint8_t *prefix = malloc(n ? n : 1);
        assert_non_null(prefix);
        memcpy(prefix, buf, n);
        expect_mp_error(prefix, n, JT_ERR_TRUNCATED, "");
        free(prefix);
    }
    free(buf);
    jt_job_cleanup(&a);
}

static void trailing_bytes(void **state)
{
    (void)state;
    mp_t m;
    mp_job_with(&m, LIT("\x01"), NULL, NULL, 0);
    mp_raw(&m, LIT("\xc0"));
    expect_mp_error(m.sb.data, m.sb.size, JT_ERR_TRAILING, "");
    mp_raw(&m, LIT("\x00"));
    expect_mp_error(m.sb.data, m.sb.size, JT_ERR_TRAILING, "");
    msgpack_sbuffer_destroy(&m.sb);
}

static void reserved_byte(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\xc1"), NULL, NULL, 0, JT_ERR_INVALID, "");
    expect_mp_error(LIT("\xc1"), JT_ERR_INVALID, "");
}

static void huge_counts(void **state)
{
    (void)state;
    /* headers that claim far more than the input holds: no huge allocation, TRUNCATED */
    static const struct {
        const char *bytes;
        size_t len;
    } claims[] = {
        {LIT("\xdd\xff\xff\xff\xff\x01")}, /* array32 */
        {LIT("\xdf\xff\xff\xff\xff\x01")}, /* map32 */
        {LIT("\xdb\xff\xff\xff\xff\x61")}, /* str32 */
        {LIT("\xc6\xff\xff\xff\xff\x61")}, /* bin32 */
        {LIT("\xc9\xff\xff\xff\xff\x01")}, /* ext32 */
        {LIT("\xdc\xff\xff")},             /* array16 */
    };
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        expect_mp_job_error(claims[i].bytes, claims[i].len, NULL, NULL, 0, JT_ERR_TRUNCATED, "");
        expect_mp_error(claims[i].bytes, claims[i].len, JT_ERR_TRUNCATED, "");
    }
}

static void too_large(void **state)
{
    (void)state;
    uint8_t *big = calloc(JT_MAX_BODY_BYTES + 1, 1);
    assert_non_null(big);
    expect_mp_error(big, JT_MAX_BODY_BYTES + 1, JT_ERR_TOO_LARGE, "");
    free(big);

    /* 3 MiB of client values is fine */
    mp_t in;
    mp_init(&in);
    msgpack_pack_array(&in.pk, 3);
    char *s = malloc(JT_MAX_STRING_BYTES);
    assert_non_null(s);
    memset(s, 'z', JT_MAX_STRING_BYTES);
    for (int i = 0; i < 3; i++) {
        msgpack_pack_str(&in.pk, JT_MAX_STRING_BYTES);
        msgpack_pack_str_body(&in.pk, s, JT_MAX_STRING_BYTES);
    }
    jt_job_t job;
    mp_job_with_ok(in.sb.data, in.sb.size, NULL, NULL, 0, &job);
    assert_int_equal(job.test_cases[0].inputs.len, in.sb.size);
    jt_job_cleanup(&job);
    msgpack_sbuffer_destroy(&in.sb);
    free(s);
}

/* ---- schema ----------------------------------------------------------------------- */

static void duplicate_field(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\x01"), "candidate_code", LIT("\xa1x"), JT_ERR_INVALID,
                        "candidate_code");
    expect_mp_job_error(LIT("\x01"), "comparison",
                        LIT("\x82\xa7"
                            "abs_tol\x00\xa7"
                            "abs_tol\x01"),
                        JT_ERR_INVALID, "comparison.abs_tol");
    mp_t m;
    mp_init(&m);
    msgpack_pack_map(&m.pk, 2);
    mp_str(&m, "candidate_code");
    mp_str(&m, "x");
    mp_str(&m, "test_cases");
    mp_raw(&m, LIT("\x91\x83\xa6inputs\x01\xaf"
                   "expected_output\x01\xa6inputs\x02"));
    expect_mp_error(m.sb.data, m.sb.size, JT_ERR_INVALID, "test_cases[0].inputs");
    msgpack_sbuffer_destroy(&m.sb);
}

static void root_not_map(void **state)
{
    (void)state;
    expect_mp_error(LIT("\x90"), JT_ERR_INVALID, "");
    expect_mp_error(LIT("\xc0"), JT_ERR_INVALID, "");
    expect_mp_error(LIT("\xa1x"), JT_ERR_INVALID, "");
}

static void unknown_fields(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\x01"), "bogus", LIT("\x01"), JT_ERR_UNKNOWN_FIELD, "bogus");
    expect_mp_job_error(LIT("\x01"), "comparison", LIT("\x81\xa3tol\x01"), JT_ERR_UNKNOWN_FIELD,
                        "comparison.tol");
    mp_t m;
    mp_init(&m);
    msgpack_pack_map(&m.pk, 2);
    mp_str(&m, "candidate_code");
    mp_str(&m, "x");
    mp_str(&m, "test_cases");
    mp_raw(&m, LIT("\x91\x83\xa6inputs\x01\xaf"
                   "expected_output\x01\xa5"
                   "extra\x01"));
    expect_mp_error(m.sb.data, m.sb.size, JT_ERR_UNKNOWN_FIELD, "test_cases[0].extra");
    msgpack_sbuffer_destroy(&m.sb);
}

static void missing_required(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        const char *path;
    } cases[] = {
        {LIT("\x81\xaatest_cases\x91\x82\xa6inputs\x01\xaf"
             "expected_output\x01"),
         "candidate_code"},
        {LIT("\x81\xae"
             "candidate_code\xa1x"),
         "test_cases"},
        {LIT("\x82\xae"
             "candidate_code\xa1x\xaatest_cases\x91\x81\xaf"
             "expected_output\x01"),
         "test_cases[0].inputs"},
        {LIT("\x82\xae"
             "candidate_code\xa1x\xaatest_cases\x91\x81\xa6inputs\x01"),
         "test_cases[0].expected_output"},
        {LIT("\x80"), "candidate_code"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_mp_error(cases[i].bytes, cases[i].len, JT_ERR_MISSING, cases[i].path);
}

static void blobs_canonical(void **state)
{
    (void)state;
    /* [uint64 1, int8 -1, int8 5, str8 "a", array16 [nil], float32 1.5] */
    static const char in[] = "\x96\xcf\0\0\0\0\0\0\0\x01\xd0\xff\xd0\x05\xd9\x01"
                             "a"
                             "\xdc\x00\x01\xc0\xca\x3f\xc0\x00\x00";
    static const char want[] = "\x96\x01\xff\x05\xa1"
                               "a\x91\xc0\xca\x3f\xc0\x00\x00";
    jt_job_t job;
    mp_job_with_ok(in, sizeof in - 1, NULL, NULL, 0, &job);
    assert_int_equal(job.test_cases[0].inputs.len, sizeof want - 1);
    assert_memory_equal(job.test_cases[0].inputs.data, want, sizeof want - 1);
    jt_job_cleanup(&job);
}

static void nul_in_code(void **state)
{
    (void)state;
    mp_t m;
    mp_init(&m);
    msgpack_pack_map(&m.pk, 2);
    mp_str(&m, "candidate_code");
    mp_raw(&m, LIT("\xa3x\0y"));
    mp_str(&m, "test_cases");
    mp_raw(&m, LIT("\x91\x82\xa6inputs\x01\xaf"
                   "expected_output\x01"));
    expect_mp_error(m.sb.data, m.sb.size, JT_ERR_INVALID, "candidate_code");
    msgpack_sbuffer_destroy(&m.sb);
}

/* A msgpack job (as published straight to NATS) with two test cases named alike: refused at
 * the second one's test_id, as the REST body is. */
static void duplicate_test_ids(void **state)
{
    (void)state;
    jt_job_t job, back;
    uint8_t *wire = NULL;
    size_t len = 0;
    jt_error_t err;
    full_job(&job);
    free(job.test_cases[1].test_id);
    job.test_cases[1].test_id = strdup("first");
    assert_int_equal(jt_job_to_msgpack(&job, &wire, &len), JT_OK);
    jt_job_init(&back);
    assert_int_equal(jt_job_from_msgpack(&back, wire, len, &err), JT_ERR_INVALID);
    assert_string_equal(err.path, "test_cases[1].test_id");
    free(wire);
    jt_job_cleanup(&job);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(roundtrip_all_fields),
    cmocka_unit_test(roundtrip_minimal),
    cmocka_unit_test(json_to_msgpack_roundtrip),
    cmocka_unit_test(truncated_every_prefix),
    cmocka_unit_test(trailing_bytes),
    cmocka_unit_test(reserved_byte),
    cmocka_unit_test(huge_counts),
    cmocka_unit_test(too_large),
    cmocka_unit_test(duplicate_field),
    cmocka_unit_test(root_not_map),
    cmocka_unit_test(unknown_fields),
    cmocka_unit_test(missing_required),
    cmocka_unit_test(blobs_canonical),
    cmocka_unit_test(nul_in_code),
    cmocka_unit_test(duplicate_test_ids),
};

JT_UNIT_MAIN(tests)
