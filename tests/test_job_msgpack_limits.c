/* test_job_msgpack_limits.c -- msgpack job codec tests: value bounds (depth, sizes, UTF-8) and
 * numbers. */
#include "unit_main.h"

#include <math.h>
#include <stdlib.h>

#include <msgpack.h>

#include "job_msgpack.h"
#include "job_msgpack_helpers.h"

/* ---- values ----------------------------------------------------------------------- */

static void non_string_keys(void **state)
{
    (void)state;
    expect_mp_error(LIT("\x81\x01\x02"), JT_ERR_INVALID, "");
    expect_mp_job_error(LIT("\x81\x01\x02"), NULL, NULL, 0, JT_ERR_INVALID, "test_cases[0].inputs");
    expect_mp_job_error(LIT("\x91\x81\xc0\x02"), NULL, NULL, 0, JT_ERR_INVALID,
                        "test_cases[0].inputs[0]");
    /* a key that is itself a map or an array */
    expect_mp_job_error(LIT("\x81\x80\x01"), NULL, NULL, 0, JT_ERR_INVALID, "test_cases[0].inputs");
    expect_mp_job_error(LIT("\x81\x91\x01\x01"), NULL, NULL, 0, JT_ERR_INVALID,
                        "test_cases[0].inputs");
}

static void bin_and_ext(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\xc4\x02hi"), NULL, NULL, 0, JT_ERR_INVALID, "test_cases[0].inputs");
    expect_mp_job_error(LIT("\x92\x01\xd4\x01\x00"), NULL, NULL, 0, JT_ERR_INVALID,
                        "test_cases[0].inputs[1]");
    expect_mp_job_error(LIT("\x81\xa1k\xc7\x01\x05x"), NULL, NULL, 0, JT_ERR_INVALID,
                        "test_cases[0].inputs.k");
    expect_mp_job_error(LIT("\x01"), "problem_name", LIT("\xc4\x01p"), JT_ERR_INVALID,
                        "problem_name");
    /* candidate_code sent as bin: same key again is a duplicate, so build it directly */
    mp_t m;
    mp_init(&m);
    msgpack_pack_map(&m.pk, 2);
    mp_str(&m, "candidate_code");
    mp_raw(&m, LIT("\xc4\x01x"));
    mp_str(&m, "test_cases");
    mp_raw(&m, LIT("\x91\x82\xa6inputs\x01\xaf"
                   "expected_output\x01"));
    expect_mp_error(m.sb.data, m.sb.size, JT_ERR_INVALID, "candidate_code");
    msgpack_sbuffer_destroy(&m.sb);
}

static void depth_64_accepted(void **state)
{
    (void)state;
    char in[JT_MAX_DEPTH];
    memset(in, 0x91, JT_MAX_DEPTH - 3);
    in[JT_MAX_DEPTH - 3] = 0x01;
    jt_job_t job;
    mp_job_with_ok(in, JT_MAX_DEPTH - 2, NULL, NULL, 0, &job);
    assert_int_equal(job.test_cases[0].inputs.len, JT_MAX_DEPTH - 2);
    assert_memory_equal(job.test_cases[0].inputs.data, in, JT_MAX_DEPTH - 2);
    jt_job_cleanup(&job);
}

static char *repeat_path(const char *base, const char *step, size_t n)
{
    char *p = malloc(strlen(base) + strlen(step) * n + 1);
    assert_non_null(p);
    strcpy(p, base);
    for (size_t i = 0; i < n; i++)
        strcat(p, step);
    return p;
}

static void depth_65_rejected(void **state)
{
    (void)state;
    char *path = repeat_path("test_cases[0].inputs", "[0]", JT_MAX_DEPTH - 3);
    char in[JT_MAX_DEPTH + 1];
    memset(in, 0x91, JT_MAX_DEPTH - 2);
    in[JT_MAX_DEPTH - 2] = 0x01;
    expect_mp_job_error(in, JT_MAX_DEPTH - 1, NULL, NULL, 0, JT_ERR_TOO_DEEP, path);
    in[JT_MAX_DEPTH - 2] = (char)0x90; /* an empty container is a level too */
    expect_mp_job_error(in, JT_MAX_DEPTH - 1, NULL, NULL, 0, JT_ERR_TOO_DEEP, path);
    in[JT_MAX_DEPTH - 2] = (char)0x80;
    expect_mp_job_error(in, JT_MAX_DEPTH - 1, NULL, NULL, 0, JT_ERR_TOO_DEEP, path);
    free(path);

    mp_t m; /* nested maps {"a": {"a": ...}} */
    mp_init(&m);
    for (size_t i = 0; i < JT_MAX_DEPTH - 2; i++) {
        msgpack_pack_map(&m.pk, 1);
        mp_str(&m, "a");
    }
    msgpack_pack_nil(&m.pk);
    path = repeat_path("test_cases[0].inputs", ".a", JT_MAX_DEPTH - 3);
    expect_mp_job_error(m.sb.data, m.sb.size, NULL, NULL, 0, JT_ERR_TOO_DEEP, path);
    free(path);
    msgpack_sbuffer_destroy(&m.sb);
}

static void depth_100000(void **state)
{
    (void)state;
    enum { DEEP = 100000 };
    char *in = malloc(DEEP + 1);
    assert_non_null(in);
    memset(in, 0x91, DEEP);
    in[DEEP] = (char)0xc0;
    char *path = repeat_path("test_cases[0].inputs", "[0]", JT_MAX_DEPTH - 3);
    expect_mp_job_error(in, DEEP + 1, NULL, NULL, 0, JT_ERR_TOO_DEEP, path);
    free(path);
    path = repeat_path("", "[0]", JT_MAX_DEPTH);
    expect_mp_error(in, DEEP + 1, JT_ERR_TOO_DEEP, path);
    expect_mp_error(in, DEEP, JT_ERR_TOO_DEEP, path); /* never terminated */
    free(path);
    free(in);
}

static void string_too_large(void **state)
{
    (void)state;
    mp_t in;
    mp_init(&in);
    char *s = calloc(JT_MAX_STRING_BYTES + 1, 1);
    assert_non_null(s);
    msgpack_pack_str(&in.pk, JT_MAX_STRING_BYTES + 1);
    msgpack_pack_str_body(&in.pk, s, JT_MAX_STRING_BYTES + 1);
    expect_mp_job_error(in.sb.data, in.sb.size, NULL, NULL, 0, JT_ERR_TOO_LARGE,
                        "test_cases[0].inputs");
    msgpack_sbuffer_destroy(&in.sb);
    free(s);
}

static void invalid_utf8(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\xa1\xff"), NULL, NULL, 0, JT_ERR_INVALID, "test_cases[0].inputs");
    expect_mp_job_error(LIT("\x81\xa1\xff\x01"), NULL, NULL, 0, JT_ERR_INVALID,
                        "test_cases[0].inputs");
    expect_mp_job_error(LIT("\x01"), "task_id", LIT("\xa2\xc3\x28"), JT_ERR_INVALID, "task_id");
    expect_mp_job_error(LIT("\x01"), "candidate_id", LIT("\xa3\xed\xa0\x80"), JT_ERR_INVALID,
                        "candidate_id");
}

/* ---- numbers ---------------------------------------------------------------------- */

#define F64_512 "\xcb\x40\x80\x00\x00\x00\x00\x00\x00"
#define F32_512 "\xca\x44\x00\x00\x00"

static void float_for_integer_field(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\x01"), "memory_limit_mb", F64_512, 9, JT_ERR_INVALID,
                        "memory_limit_mb");
    expect_mp_job_error(LIT("\x01"), "memory_limit_mb", F32_512, 5, JT_ERR_INVALID,
                        "memory_limit_mb");
    expect_mp_job_error(LIT("\x01"), "warmup_trials", LIT("\xca\x00\x00\x00\x00"), JT_ERR_INVALID,
                        "warmup_trials");
    expect_mp_job_error(LIT("\x01"), "energy_measurement_trials", LIT("\xcb\x3f\xf0\0\0\0\0\0\0"),
                        JT_ERR_INVALID, "energy_measurement_trials");
}

static void int_for_float_field(void **state)
{
    (void)state;
    jt_job_t job;
    mp_job_with_ok(LIT("\x01"), "timeout_seconds", LIT("\x1e"), &job);
    assert_true(job.timeout_seconds == 30.0);
    jt_job_cleanup(&job);
    mp_job_with_ok(LIT("\x01"), "thermal_wait_seconds", LIT("\xcd\x01\x2c"), &job); /* uint16 300 */
    assert_true(job.thermal_wait_seconds == 300.0);
    jt_job_cleanup(&job);
    mp_job_with_ok(LIT("\x01"), "timeout_seconds", LIT("\xca\x41\x48\x00\x00"), &job); /* 12.5f32 */
    assert_true(job.timeout_seconds == 12.5);
    jt_job_cleanup(&job);
    mp_job_with_ok(LIT("\x01"), "comparison",
                   LIT("\x81\xa7"
                       "abs_tol\x00"),
                   &job);
    assert_true(job.abs_tol == 0.0);
    jt_job_cleanup(&job);
}

static void bool_for_number_field(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\x01"), "timeout_seconds", LIT("\xc3"), JT_ERR_INVALID,
                        "timeout_seconds");
    expect_mp_job_error(LIT("\x01"), "memory_limit_mb", LIT("\xc2"), JT_ERR_INVALID,
                        "memory_limit_mb");
    expect_mp_job_error(LIT("\x01"), "comparison",
                        LIT("\x81\xa7"
                            "rel_tol\xc3"),
                        JT_ERR_INVALID, "comparison.rel_tol");
}

static void integer_out_of_range(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\x01"), "memory_limit_mb", LIT("\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
                        JT_ERR_INVALID, "memory_limit_mb");
    expect_mp_job_error(LIT("\x01"), "memory_limit_mb", LIT("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
                        JT_ERR_INVALID, "memory_limit_mb");
    expect_mp_job_error(LIT("\x01"), "warmup_trials", LIT("\xff"), JT_ERR_INVALID, "warmup_trials");
    expect_mp_job_error(LIT("\x01"), "energy_measurement_trials", LIT("\x33"), JT_ERR_INVALID,
                        "energy_measurement_trials");
    /* a negative value in a signed encoding that fits is still accepted when in range */
    jt_job_t job;
    mp_job_with_ok(LIT("\x01"), "warmup_trials", LIT("\xd3\x00\x00\x00\x00\x00\x00\x00\x0a"), &job);
    assert_int_equal(job.warmup_trials, 10);
    jt_job_cleanup(&job);
}

static void non_finite_numbers(void **state)
{
    (void)state;
    expect_mp_job_error(LIT("\x01"), "timeout_seconds", LIT("\xcb\x7f\xf8\0\0\0\0\0\0"),
                        JT_ERR_INVALID, "timeout_seconds");
    expect_mp_job_error(LIT("\x01"), "thermal_wait_seconds", LIT("\xcb\xff\xf0\0\0\0\0\0\0"),
                        JT_ERR_INVALID, "thermal_wait_seconds");
    expect_mp_job_error(LIT("\x01"), "comparison",
                        LIT("\x81\xa7"
                            "abs_tol\xca\x7f\x80\x00\x00"),
                        JT_ERR_INVALID, "comparison.abs_tol");
    /* NaN and infinities are fine inside client values */
    jt_job_t job;
    mp_job_with_ok(LIT("\x92\xcb\x7f\xf8\0\0\0\0\0\0\xca\xff\x80\x00\x00"), NULL, NULL, 0, &job);
    jt_job_cleanup(&job);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(non_string_keys),      cmocka_unit_test(bin_and_ext),
    cmocka_unit_test(depth_64_accepted),    cmocka_unit_test(depth_65_rejected),
    cmocka_unit_test(depth_100000),         cmocka_unit_test(string_too_large),
    cmocka_unit_test(invalid_utf8),         cmocka_unit_test(float_for_integer_field),
    cmocka_unit_test(int_for_float_field),  cmocka_unit_test(bool_for_number_field),
    cmocka_unit_test(integer_out_of_range), cmocka_unit_test(non_finite_numbers),
};

JT_UNIT_MAIN(tests)
