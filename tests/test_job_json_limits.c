/* test_job_json_limits.c -- jt_job_from_json tests: size, count and depth bounds, number ranges. */
#include "unit_main.h"

#include <stdlib.h>

#include "job_json_helpers.h"

/* ---- bounds ----------------------------------------------------------------------- */

static void empty_test_cases(void **state)
{
    (void)state;
    expect_error("{\"candidate_code\":" CODE ",\"test_cases\":[]}", JT_ERR_INVALID, "test_cases");
}

static char *body_n_cases(size_t n)
{
    text_t t = {0};
    text_cat(&t, "{\"candidate_code\":" CODE ",\"test_cases\":[");
    for (size_t i = 0; i < n; i++)
        text_cat(&t, i ? "," TC : TC);
    text_cat(&t, "]}");
    return t.p;
}

static void too_many_test_cases(void **state)
{
    (void)state;
    char *b = body_n_cases(JT_MAX_TEST_CASES);
    jt_job_t job;
    parse_ok(b, &job);
    assert_int_equal(job.n_test_cases, JT_MAX_TEST_CASES);
    assert_string_equal(job.test_cases[JT_MAX_TEST_CASES - 1].test_id, "t1000");
    jt_job_cleanup(&job);
    free(b);
    expect_error_free(body_n_cases(JT_MAX_TEST_CASES + 1), JT_ERR_TOO_LARGE, "test_cases");
}

static char *body_code_len(size_t n)
{
    text_t t = {0};
    text_cat(&t, "{\"candidate_code\":\"");
    text_rep(&t, "a", n);
    text_cat(&t, "\",\"test_cases\":[" TC "]}");
    return t.p;
}

static void code_too_large(void **state)
{
    (void)state;
    char *b = body_code_len(JT_MAX_CODE_BYTES);
    jt_job_t job;
    parse_ok(b, &job);
    assert_int_equal(job.candidate_code_len, JT_MAX_CODE_BYTES);
    jt_job_cleanup(&job);
    free(b);
    expect_error_free(body_code_len(JT_MAX_CODE_BYTES + 1), JT_ERR_TOO_LARGE, "candidate_code");
    expect_error_free(body_code_len(JT_MAX_STRING_BYTES + 1), JT_ERR_TOO_LARGE, "candidate_code");
}

static void body_too_large(void **state)
{
    (void)state;
    text_t t = {0};
    char *b = body_with("");
    text_cat(&t, b);
    free(b);
    while (t.len < JT_MAX_BODY_BYTES)
        text_cat(&t, " ");
    t.len = JT_MAX_BODY_BYTES; /* exactly the limit: accepted */
    t.p[t.len] = '\0';
    jt_job_t job;
    parse_ok(t.p, &job);
    jt_job_cleanup(&job);
    text_cat(&t, " ");
    expect_error_n(t.p, t.len, JT_ERR_TOO_LARGE, "");
    free(t.p);
}

static char *body_inputs_string(size_t n, bool in_array)
{
    text_t t = {0};
    text_cat(&t, "{\"candidate_code\":" CODE ",\"test_cases\":[{\"expected_output\":1,\"inputs\":");
    text_cat(&t, in_array ? "[0,\"" : "\"");
    text_rep(&t, "b", n);
    text_cat(&t, in_array ? "\"]}]}" : "\"}]}");
    return t.p;
}

static void string_too_large(void **state)
{
    (void)state;
    expect_ok_free(body_inputs_string(JT_MAX_STRING_BYTES, false));
    expect_error_free(body_inputs_string(JT_MAX_STRING_BYTES + 1, false), JT_ERR_TOO_LARGE,
                      "test_cases[0].inputs");
    expect_error_free(body_inputs_string(JT_MAX_STRING_BYTES + 1, true), JT_ERR_TOO_LARGE,
                      "test_cases[0].inputs[1]");
    text_t t = {0}; /* an object key is a string too */
    text_cat(&t, "{\"candidate_code\":" CODE ",\"test_cases\":[{\"inputs\":1,\"expected_output\":1,"
                 "\"metadata\":{\"");
    text_rep(&t, "k", JT_MAX_STRING_BYTES + 1);
    text_cat(&t, "\":1}}]}");
    expect_error_free(t.p, JT_ERR_TOO_LARGE, "test_cases[0].metadata");
}

/* inputs nested k arrays deep: the document is 3 + k deep (body, test_cases, test case). */
static char *body_deep_inputs(size_t k)
{
    text_t t = {0};
    text_cat(&t, "{\"candidate_code\":" CODE ",\"test_cases\":[{\"expected_output\":1,\"inputs\":");
    text_rep(&t, "[", k);
    text_cat(&t, "1");
    text_rep(&t, "]", k);
    text_cat(&t, "}]}");
    return t.p;
}

static char *body_deep_metadata(size_t k)
{
    text_t t = {0};
    text_cat(&t, "{\"candidate_code\":" CODE ",\"test_cases\":[{\"expected_output\":1,\"inputs\":1,"
                 "\"metadata\":");
    text_rep(&t, "{\"a\":", k);
    text_cat(&t, "1");
    text_rep(&t, "}", k);
    text_cat(&t, "}]}");
    return t.p;
}

static char *repeat_path(const char *base, const char *step, size_t n)
{
    text_t t = {0};
    text_cat(&t, base);
    text_rep(&t, step, n);
    return t.p;
}

static void depth_64_accepted(void **state)
{
    (void)state;
    char *b = body_deep_inputs(JT_MAX_DEPTH - 3);
    jt_job_t job;
    parse_ok(b, &job);
    assert_int_equal(job.test_cases[0].inputs.len, JT_MAX_DEPTH - 3 + 1);
    jt_job_cleanup(&job);
    free(b);
    expect_ok_free(body_deep_metadata(JT_MAX_DEPTH - 3));
}

static void depth_65_rejected(void **state)
{
    (void)state;
    char *path = repeat_path("test_cases[0].inputs", "[0]", JT_MAX_DEPTH - 3);
    expect_error_free(body_deep_inputs(JT_MAX_DEPTH - 2), JT_ERR_TOO_DEEP, path);
    free(path);

    path = repeat_path("test_cases[0].metadata", ".a", JT_MAX_DEPTH - 3);
    expect_error_free(body_deep_metadata(JT_MAX_DEPTH - 2), JT_ERR_TOO_DEEP, path);
    free(path);

    /* not the first element: the path follows the index */
    text_t t = {0};
    text_cat(&t,
             "{\"candidate_code\":" CODE ",\"test_cases\":[{\"expected_output\":1,\"inputs\":[0,");
    text_rep(&t, "[", JT_MAX_DEPTH - 3);
    text_rep(&t, "]", JT_MAX_DEPTH - 3);
    text_cat(&t, "]}]}");
    path = repeat_path("test_cases[0].inputs[1]", "[0]", JT_MAX_DEPTH - 4);
    expect_error_free(t.p, JT_ERR_TOO_DEEP, path);
    free(path);
}

static void depth_100000(void **state)
{
    (void)state;
    enum { DEEP = 100000 };
    char *path = repeat_path("test_cases[0].inputs", "[0]", JT_MAX_DEPTH - 3);
    expect_error_free(body_deep_inputs(DEEP), JT_ERR_TOO_DEEP, path);
    free(path);

    text_t t = {0};
    text_rep(&t, "[", DEEP);
    text_rep(&t, "]", DEEP);
    path = repeat_path("", "[0]", JT_MAX_DEPTH);
    expect_error(t.p, JT_ERR_TOO_DEEP, path);
    t.len = DEEP; /* never closed */
    t.p[t.len] = '\0';
    expect_error(t.p, JT_ERR_TOO_DEEP, path);
    free(path);
    free(t.p);

    t = (text_t){0};
    text_rep(&t, "{\"a\":", DEEP);
    text_cat(&t, "1");
    text_rep(&t, "}", DEEP);
    path = repeat_path("a", ".a", JT_MAX_DEPTH - 1);
    expect_error_free(t.p, JT_ERR_TOO_DEEP, path);
    free(path);

    /* brackets inside strings are not nesting */
    t = (text_t){0};
    text_cat(&t,
             "{\"candidate_code\":" CODE ",\"test_cases\":[{\"expected_output\":1,\"inputs\":\"");
    text_rep(&t, "[{", DEEP);
    text_cat(&t, "\\\"[\"}]}");
    expect_ok_free(t.p);
}

/* ---- numbers ---------------------------------------------------------------------- */

static double field_value(const jt_job_t *job, const char *field)
{
    if (strcmp(field, "timeout_seconds") == 0)
        return job->timeout_seconds;
    if (strcmp(field, "memory_limit_mb") == 0)
        return job->memory_limit_mb;
    if (strcmp(field, "energy_measurement_trials") == 0)
        return job->energy_measurement_trials;
    if (strcmp(field, "warmup_trials") == 0)
        return job->warmup_trials;
    if (strcmp(field, "min_trial_seconds") == 0)
        return job->min_trial_seconds;
    if (strcmp(field, "target_cv_percent") == 0)
        return job->target_cv_percent;
    if (strcmp(field, "thermal_wait_seconds") == 0)
        return job->thermal_wait_seconds;
    if (strcmp(field, "comparison.abs_tol") == 0)
        return job->abs_tol;
    if (strcmp(field, "comparison.rel_tol") == 0)
        return job->rel_tol;
    fail_msg("unknown field %s", field);
    return 0;
}

static char *body_number(const char *field, const char *value)
{
    if (strncmp(field, "comparison.", 11) == 0) {
        char *extra = fmt(",\"comparison\":{\"%s\":%s}", field + 11, value);
        char *b = body_with(extra);
        free(extra);
        return b;
    }
    char *extra = fmt(",\"%s\":%s", field, value);
    char *b = body_with(extra);
    free(extra);
    return b;
}

static void number_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *field, *value;
        bool ok;
        double want;
    } cases[] = {
        {"timeout_seconds", "0.999", false, 0},
        {"timeout_seconds", "1", true, 1},
        {"timeout_seconds", "1.0", true, 1},
        {"timeout_seconds", "300", true, 300},
        {"timeout_seconds", "300.01", false, 0},
        {"timeout_seconds", "-5", false, 0},
        {"memory_limit_mb", "63", false, 0},
        {"memory_limit_mb", "64", true, 64},
        {"memory_limit_mb", "8192", true, 8192},
        {"memory_limit_mb", "8193", false, 0},
        {"memory_limit_mb", "-64", false, 0},
        {"energy_measurement_trials", "0", false, 0},
        {"energy_measurement_trials", "1", true, 1},
        {"energy_measurement_trials", "50", true, 50},
        {"energy_measurement_trials", "51", false, 0},
        {"warmup_trials", "-1", false, 0},
        {"warmup_trials", "0", true, 0},
        {"warmup_trials", "10", true, 10},
        {"warmup_trials", "11", false, 0},
        {"min_trial_seconds", "-0.001", false, 0},
        {"min_trial_seconds", "0", true, 0},
        {"min_trial_seconds", "1e-6", true, 1e-6},
        {"min_trial_seconds", "10", true, 10},
        {"min_trial_seconds", "10.000001", false, 0},
        {"target_cv_percent", "0", false, 0},
        {"target_cv_percent", "0.01", true, 0.01},
        {"target_cv_percent", "100", true, 100},
        {"target_cv_percent", "100.5", false, 0},
        {"thermal_wait_seconds", "-0.5", false, 0},
        {"thermal_wait_seconds", "0", true, 0},
        {"thermal_wait_seconds", "300", true, 300},
        {"thermal_wait_seconds", "301", false, 0},
        {"comparison.abs_tol", "-1e-12", false, 0},
        {"comparison.abs_tol", "0", true, 0},
        {"comparison.abs_tol", "1e300", true, 1e300},
        {"comparison.rel_tol", "-1", false, 0},
        {"comparison.rel_tol", "0", true, 0},
        {"comparison.rel_tol", "0.25", true, 0.25},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = body_number(cases[i].field, cases[i].value);
        if (cases[i].ok) {
            jt_job_t job;
            parse_ok(b, &job);
            assert_true(field_value(&job, cases[i].field) == cases[i].want);
            jt_job_cleanup(&job);
        } else {
            expect_error(b, JT_ERR_INVALID, cases[i].field);
        }
        free(b);
    }
    char *b = body_number("timeout_seconds", "300.01");
    expect_message(b, "expected a number from 1 to 300, got 300.01");
    free(b);
}

static void float_for_integer_field(void **state)
{
    (void)state;
    static const struct {
        const char *field, *value;
    } cases[] = {
        {"memory_limit_mb", "512.0"}, {"memory_limit_mb", "5e2"},
        {"memory_limit_mb", "512.5"}, {"energy_measurement_trials", "5.0"},
        {"warmup_trials", "2.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = body_number(cases[i].field, cases[i].value);
        expect_error(b, JT_ERR_INVALID, cases[i].field);
        expect_message(b, "expected an integer");
        free(b);
    }
}

static void bool_for_number_field(void **state)
{
    (void)state;
    static const char *const fields[] = {
        "timeout_seconds",      "memory_limit_mb",    "energy_measurement_trials",
        "warmup_trials",        "min_trial_seconds",  "target_cv_percent",
        "thermal_wait_seconds", "comparison.abs_tol", "comparison.rel_tol",
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *b = body_number(fields[i], i % 2 ? "true" : "false");
        expect_error(b, JT_ERR_INVALID, fields[i]);
        expect_message(b, "got a boolean");
        free(b);
    }
}

/* Integers beyond 64 bits are client values (exact), not field values. */
static void big_integer(void **state)
{
    (void)state;
    char *b = body_number("memory_limit_mb", "99999999999999999999");
    expect_error(b, JT_ERR_INVALID, "memory_limit_mb");
    expect_message(b, "beyond 64 bits");
    free(b);
    expect_ok_free(body_tc(",\"metadata\":-99999999999999999999"));
    expect_error_free(body_tc(",\"metadata\":1e999"), JT_ERR_INVALID, "");
    /* representable but out of range for the field */
    expect_error_free(body_number("memory_limit_mb", "9223372036854775807"), JT_ERR_INVALID,
                      "memory_limit_mb");
    expect_error_free(body_number("warmup_trials", "-9223372036854775808"), JT_ERR_INVALID,
                      "warmup_trials");
    expect_ok_free(body_tc(",\"metadata\":9223372036854775807"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(empty_test_cases),      cmocka_unit_test(too_many_test_cases),
    cmocka_unit_test(code_too_large),        cmocka_unit_test(body_too_large),
    cmocka_unit_test(string_too_large),      cmocka_unit_test(depth_64_accepted),
    cmocka_unit_test(depth_65_rejected),     cmocka_unit_test(depth_100000),
    cmocka_unit_test(number_bounds),         cmocka_unit_test(float_for_integer_field),
    cmocka_unit_test(bool_for_number_field), cmocka_unit_test(big_integer),
};

JT_UNIT_MAIN(tests)
