/* test_job_json.c -- unit tests of jt_job_from_json: accepted bodies, types, fields, syntax, names.
 */
#include "unit_main.h"

#include <stdlib.h>

#include "job_json_helpers.h"
#include "task_id.h"

/* ---- accepted bodies -------------------------------------------------------------- */

static void minimal_defaults(void **state)
{
    (void)state;
    char *b = body_with("");
    jt_job_t job;
    parse_ok(b, &job);
    assert_string_equal(job.candidate_code, "def solve(a, b):\n    return a + b\n");
    assert_int_equal(job.candidate_code_len, strlen(job.candidate_code));
    assert_int_equal(job.n_test_cases, 1);
    assert_string_equal(job.test_cases[0].test_id, "t1");
    assert_blob(&job.test_cases[0].inputs, "\x92\x01\x02", 3);
    assert_blob(&job.test_cases[0].expected_output, "\x03", 1);
    assert_null(job.test_cases[0].metadata.data);
    assert_defaults(&job);
    jt_job_cleanup(&job);
    free(b);
}

static void all_fields(void **state)
{
    (void)state;
    const char *b =
        "{\"task_id\":\"job-42_A\",\"candidate_code\":\"x = 1\\n\",\"function_name\":\"my_fn\","
        "\"test_cases\":[{\"test_id\":\"first\",\"inputs\":{\"a\":1},\"expected_output\":null,"
        "\"metadata\":{\"w\":2}},{\"test_id\":7,\"inputs\":\"s\",\"expected_output\":[1.5]}],"
        "\"timeout_seconds\":12.5,\"memory_limit_mb\":1024,\"energy_measurement_trials\":9,"
        "\"warmup_trials\":0,\"min_trial_seconds\":0.5,\"target_cv_percent\":2,"
        "\"thermal_wait_seconds\":3,\"candidate_id\":\"cand\",\"problem_name\":\"prob\","
        "\"comparison\":{\"abs_tol\":0.001,\"rel_tol\":0},\"stop_on_first_failure\":true,"
        "\"repetition_mode\":\"same_process\"}";
    jt_job_t job;
    parse_ok(b, &job);
    assert_string_equal(job.task_id, "job-42_A");
    assert_string_equal(job.candidate_code, "x = 1\n");
    assert_int_equal(job.candidate_code_len, 6);
    assert_string_equal(job.function_name, "my_fn");
    assert_int_equal(job.n_test_cases, 2);
    assert_string_equal(job.test_cases[0].test_id, "first");
    assert_blob(&job.test_cases[0].inputs,
                "\x81\xa1"
                "a\x01",
                4);
    assert_blob(&job.test_cases[0].expected_output, "\xc0", 1);
    assert_blob(&job.test_cases[0].metadata, "\x81\xa1w\x02", 4);
    assert_string_equal(job.test_cases[1].test_id, "7");
    assert_blob(&job.test_cases[1].inputs, "\xa1s", 2);
    assert_blob(&job.test_cases[1].expected_output, "\x91\xcb\x3f\xf8\0\0\0\0\0\0", 10);
    assert_null(job.test_cases[1].metadata.data);
    assert_true(job.timeout_seconds == 12.5);
    assert_int_equal(job.memory_limit_mb, 1024);
    assert_int_equal(job.energy_measurement_trials, 9);
    assert_int_equal(job.warmup_trials, 0);
    assert_true(job.min_trial_seconds == 0.5);
    assert_true(job.target_cv_percent == 2.0);
    assert_true(job.thermal_wait_seconds == 3.0);
    assert_string_equal(job.candidate_id, "cand");
    assert_string_equal(job.problem_name, "prob");
    assert_true(job.abs_tol == 0.001);
    assert_true(job.rel_tol == 0.0);
    assert_true(job.stop_on_first_failure);
    assert_int_equal(job.repetition_mode, JT_REPEAT_SAME_PROCESS);
    jt_job_cleanup(&job);
}

static void null_means_default(void **state)
{
    (void)state;
    char *b = fmt("{\"candidate_code\":" CODE ",\"test_cases\":[{\"test_id\":null,\"inputs\":null,"
                  "\"expected_output\":null,\"metadata\":null}],\"task_id\":null,"
                  "\"function_name\":null,\"timeout_seconds\":null,\"memory_limit_mb\":null,"
                  "\"energy_measurement_trials\":null,\"warmup_trials\":null,"
                  "\"min_trial_seconds\":null,\"target_cv_percent\":null,"
                  "\"thermal_wait_seconds\":null,\"candidate_id\":null,\"problem_name\":null,"
                  "\"comparison\":null,\"stop_on_first_failure\":null,\"repetition_mode\":null}");
    jt_job_t job;
    parse_ok(b, &job);
    assert_defaults(&job);
    assert_string_equal(job.test_cases[0].test_id, "t1");
    assert_blob(&job.test_cases[0].inputs, "\xc0", 1);
    assert_blob(&job.test_cases[0].expected_output, "\xc0", 1);
    assert_null(job.test_cases[0].metadata.data);
    jt_job_cleanup(&job);
    free(b);

    b = body_with(",\"comparison\":{\"abs_tol\":null,\"rel_tol\":0.5}");
    parse_ok(b, &job);
    assert_true(job.abs_tol == 1e-9);
    assert_true(job.rel_tol == 0.5);
    jt_job_cleanup(&job);
    free(b);
}

static void test_id_forms(void **state)
{
    (void)state;
    char *b = fmt("{\"candidate_code\":" CODE ",\"test_cases\":["
                  "{\"test_id\":\"a\",\"inputs\":1,\"expected_output\":1},"
                  "{\"test_id\":7,\"inputs\":1,\"expected_output\":1},"
                  "{\"test_id\":-3,\"inputs\":1,\"expected_output\":1},"
                  "{\"inputs\":1,\"expected_output\":1},"
                  "{\"test_id\":null,\"inputs\":1,\"expected_output\":1}]}");
    jt_job_t job;
    parse_ok(b, &job);
    static const char *const want[] = {"a", "7", "-3", "t4", "t5"};
    assert_int_equal(job.n_test_cases, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(job.test_cases[i].test_id, want[i]);
    jt_job_cleanup(&job);
    free(b);
}

/* Two test cases of one id, given or defaulted: refused at the second one's test_id. */
#define TCX "\"inputs\":1,\"expected_output\":1"

static void duplicate_test_ids(void **state)
{
    (void)state;
    static const struct {
        const char *cases, *path;
    } dup[] = {
        {"{\"test_id\":\"a\"," TCX "},{\"test_id\":\"a\"," TCX "}", "test_cases[1].test_id"},
        {"{\"test_id\":7," TCX "},{\"test_id\":\"7\"," TCX "}", "test_cases[1].test_id"},
        {"{\"test_id\":\"t2\"," TCX "},{" TCX "}", "test_cases[1].test_id"},
        {"{" TCX "},{\"test_id\":\"t1\"," TCX "}", "test_cases[1].test_id"},
        {"{\"test_id\":\"a\"," TCX "},{\"test_id\":\"b\"," TCX "},{\"test_id\":\"b\"," TCX
         "},{\"test_id\":\"a\"," TCX "}",
         "test_cases[2].test_id"},
    };
    for (size_t i = 0; i < sizeof dup / sizeof dup[0]; i++)
        expect_error_free(fmt("{\"candidate_code\":" CODE ",\"test_cases\":[%s]}", dup[i].cases),
                          JT_ERR_INVALID, dup[i].path);
    /* Alike but for case: distinct ids. */
    jt_job_t job;
    char *b = fmt("{\"candidate_code\":" CODE ",\"test_cases\":[{\"test_id\":\"A\"," TCX
                  "},{\"test_id\":\"a\"," TCX "}]}");
    parse_ok(b, &job);
    assert_int_equal(job.n_test_cases, 2);
    jt_job_cleanup(&job);
    free(b);
}

static void repetition_mode(void **state)
{
    (void)state;
    jt_job_t job;
    char *b = body_with(",\"repetition_mode\":\"same_process\"");
    parse_ok(b, &job);
    assert_int_equal(job.repetition_mode, JT_REPEAT_SAME_PROCESS);
    jt_job_cleanup(&job);
    free(b);
    b = body_with(",\"repetition_mode\":\"fresh_process\"");
    parse_ok(b, &job);
    assert_int_equal(job.repetition_mode, JT_REPEAT_FRESH_PROCESS);
    jt_job_cleanup(&job);
    free(b);
    expect_error_free(body_with(",\"repetition_mode\":\"FRESH_PROCESS\""), JT_ERR_INVALID,
                      "repetition_mode");
    expect_error_free(body_with(",\"repetition_mode\":\"\""), JT_ERR_INVALID, "repetition_mode");
}

/* ---- types, fields, presence ------------------------------------------------------ */

static void wrong_type_each_field(void **state)
{
    (void)state;
    static const struct {
        const char *extra, *path;
    } top[] = {
        {",\"function_name\":1", "function_name"},
        {",\"timeout_seconds\":\"30\"", "timeout_seconds"},
        {",\"memory_limit_mb\":\"512\"", "memory_limit_mb"},
        {",\"energy_measurement_trials\":[]", "energy_measurement_trials"},
        {",\"warmup_trials\":{}", "warmup_trials"},
        {",\"min_trial_seconds\":\"0.2\"", "min_trial_seconds"},
        {",\"target_cv_percent\":[5]", "target_cv_percent"},
        {",\"thermal_wait_seconds\":\"0\"", "thermal_wait_seconds"},
        {",\"candidate_id\":5", "candidate_id"},
        {",\"problem_name\":true", "problem_name"},
        {",\"task_id\":12", "task_id"},
        {",\"comparison\":[]", "comparison"},
        {",\"comparison\":{\"abs_tol\":\"x\"}", "comparison.abs_tol"},
        {",\"comparison\":{\"rel_tol\":[]}", "comparison.rel_tol"},
        {",\"stop_on_first_failure\":1", "stop_on_first_failure"},
        {",\"stop_on_first_failure\":\"true\"", "stop_on_first_failure"},
        {",\"repetition_mode\":1", "repetition_mode"},
    };
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        expect_error_free(body_with(top[i].extra), JT_ERR_INVALID, top[i].path);

    static const struct {
        const char *body, *path;
    } whole[] = {
        {"{\"candidate_code\":5,\"test_cases\":[" TC "]}", "candidate_code"},
        {"{\"candidate_code\":null,\"test_cases\":[" TC "]}", "candidate_code"},
        {"{\"candidate_code\":[\"x\"],\"test_cases\":[" TC "]}", "candidate_code"},
        {"{\"candidate_code\":" CODE ",\"test_cases\":{}}", "test_cases"},
        {"{\"candidate_code\":" CODE ",\"test_cases\":null}", "test_cases"},
        {"{\"candidate_code\":" CODE ",\"test_cases\":\"x\"}", "test_cases"},
        {"{\"candidate_code\":" CODE ",\"test_cases\":[5]}", "test_cases[0]"},
        {"{\"candidate_code\":" CODE ",\"test_cases\":[" TC ",[]]}", "test_cases[1]"},
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
        expect_error(whole[i].body, JT_ERR_INVALID, whole[i].path);

    static const char *const ids[] = {",\"test_id\":1.5", ",\"test_id\":true", ",\"test_id\":[]",
                                      ",\"test_id\":{}"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        expect_error_free(body_tc(ids[i]), JT_ERR_INVALID, "test_cases[0].test_id");
}

static void missing_required(void **state)
{
    (void)state;
    expect_error("{\"test_cases\":[" TC "]}", JT_ERR_MISSING, "candidate_code");
    expect_error("{}", JT_ERR_MISSING, "candidate_code");
    expect_error("{\"candidate_code\":" CODE "}", JT_ERR_MISSING, "test_cases");
    expect_error("{\"candidate_code\":" CODE ",\"test_cases\":[" TC ",{\"expected_output\":1}]}",
                 JT_ERR_MISSING, "test_cases[1].inputs");
    expect_error("{\"candidate_code\":" CODE ",\"test_cases\":[{\"inputs\":1}]}", JT_ERR_MISSING,
                 "test_cases[0].expected_output");
    expect_error("{\"candidate_code\":" CODE ",\"test_cases\":[{\"inputs\":null}]}", JT_ERR_MISSING,
                 "test_cases[0].expected_output");
}

static void unknown_field_top(void **state)
{
    (void)state;
    expect_error_free(body_with(",\"bogus\":1"), JT_ERR_UNKNOWN_FIELD, "bogus");
    expect_error_free(body_with(",\"timeout\":5"), JT_ERR_UNKNOWN_FIELD, "timeout");
    expect_error_free(body_with(",\"\\u00e9\":null"), JT_ERR_UNKNOWN_FIELD, "\xc3\xa9");
    char *b = body_with(",\"bogus\":1");
    expect_message(b, "known fields: task_id, candidate_code");
    free(b);
}

static void unknown_field_test_case(void **state)
{
    (void)state;
    expect_error_free(body_tc(",\"output\":1"), JT_ERR_UNKNOWN_FIELD, "test_cases[0].output");
    expect_error("{\"candidate_code\":" CODE ",\"test_cases\":[" TC ",{\"x\":1,\"inputs\":1}]}",
                 JT_ERR_UNKNOWN_FIELD, "test_cases[1].x");
}

static void unknown_field_comparison(void **state)
{
    (void)state;
    expect_error_free(body_with(",\"comparison\":{\"abs_tol\":1,\"tol\":2}"), JT_ERR_UNKNOWN_FIELD,
                      "comparison.tol");
}

/* ---- malformed JSON --------------------------------------------------------------- */

static void duplicate_keys(void **state)
{
    (void)state;
    expect_error("{\"candidate_code\":" CODE ",\"candidate_code\":\"x\",\"test_cases\":[" TC "]}",
                 JT_ERR_INVALID, "");
    expect_error_free(body_tc(",\"inputs\":2"), JT_ERR_INVALID, "");
    char *b = fmt("{\"candidate_code\":" CODE
                  ",\"test_cases\":[{\"inputs\":{\"a\":1,\"a\":2},\"expected_output\":1}]}");
    expect_error(b, JT_ERR_INVALID, "");
    expect_message(b, "duplicate");
    free(b);
}

static void invalid_utf8(void **state)
{
    (void)state;
    expect_error("{\"candidate_code\":\"\xff\",\"test_cases\":[" TC "]}", JT_ERR_INVALID, "");
    expect_error("{\"candidate_code\":\"\xc0\xaf\",\"test_cases\":[" TC "]}", JT_ERR_INVALID, "");
    expect_error("{\"candidate_code\":\"\\ud800\",\"test_cases\":[" TC "]}", JT_ERR_INVALID, "");
    expect_error("{\"candidate_code\":" CODE ",\"test_cases\":[{\"inputs\":\"\xed\xa0\x80\","
                 "\"expected_output\":1}]}",
                 JT_ERR_INVALID, "");
    expect_message("{\"candidate_code\":\"\xff\",\"test_cases\":[]}", "line 1");
}

static void invalid_json(void **state)
{
    (void)state;
    expect_error("", JT_ERR_INVALID, "");
    expect_error("{", JT_ERR_INVALID, "");
    expect_error("{\"candidate_code\":}", JT_ERR_INVALID, "");
    expect_error("{'candidate_code':1}", JT_ERR_INVALID, "");
    char *b = body_with("");
    char *trailing = fmt("%s x", b);
    expect_error(trailing, JT_ERR_INVALID, "");
    expect_error_n(b, strlen(b) - 1, JT_ERR_INVALID, ""); /* cut short; body need not end in NUL */
    free(trailing);
    free(b);
    expect_message("{\n\"candidate_code\" 1}", "line 2, column");
}

static void not_an_object(void **state)
{
    (void)state;
    static const char *const bodies[] = {"[1]", "\"x\"", "3", "null", "true", "[" TC "]"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_error(bodies[i], JT_ERR_INVALID, "");
    expect_message("[1]", "must be a JSON object, got an array");
}

static void nul_in_strings(void **state)
{
    (void)state;
    expect_error("{\"candidate_code\":\"x\\u0000y\",\"test_cases\":[" TC "]}", JT_ERR_INVALID,
                 "candidate_code");
    expect_error_free(body_with(",\"function_name\":\"so\\u0000lve\""), JT_ERR_INVALID,
                      "function_name");
    expect_error_free(body_with(",\"candidate_id\":\"\\u0000\""), JT_ERR_INVALID, "candidate_id");
    expect_error_free(body_with(",\"task_id\":\"a\\u0000\""), JT_ERR_INVALID, "task_id");
    expect_error_free(body_tc(",\"test_id\":\"a\\u0000b\""), JT_ERR_INVALID,
                      "test_cases[0].test_id");
    const char raw[] = "{\"candidate_code\":\"x\0y\",\"test_cases\":[" TC "]}";
    expect_error_n(raw, sizeof raw - 1, JT_ERR_INVALID, "");

    /* in client values a NUL is data */
    char *b = fmt("{\"candidate_code\":" CODE
                  ",\"test_cases\":[{\"inputs\":\"a\\u0000b\",\"expected_output\":1}]}");
    jt_job_t job;
    parse_ok(b, &job);
    assert_blob(&job.test_cases[0].inputs,
                "\xa3"
                "a\0b",
                4);
    jt_job_cleanup(&job);
    free(b);
}

/* ---- names ------------------------------------------------------------------------ */

static char *long_name(size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, 'n', n);
    s[n] = '\0';
    return s;
}

static void bad_task_id(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"a.b\"", "\"a b\"",     "\"\"",    "\"a*\"",
                                      "\"a>\"",  "\"\\u00e9\"", "\"a/b\"", "\"a\\n\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *extra = fmt(",\"task_id\":%s", bad[i]);
        expect_error_free(body_with(extra), JT_ERR_INVALID, "task_id");
        free(extra);
    }
    jt_job_t job;
    char *b = body_with(",\"task_id\":\"abc-DEF_123\"");
    parse_ok(b, &job);
    assert_string_equal(job.task_id, "abc-DEF_123");
    jt_job_cleanup(&job);
    free(b);

    /* task ids name KV keys and subjects: JT_TASK_ID_MAX (128) for everyone */
    char *name = long_name(JT_TASK_ID_MAX);
    char *extra = fmt(",\"task_id\":\"%s\"", name);
    expect_ok_free(body_with(extra));
    free(extra);
    free(name);
    name = long_name(JT_TASK_ID_MAX + 1);
    extra = fmt(",\"task_id\":\"%s\"", name);
    expect_error_free(body_with(extra), JT_ERR_TOO_LARGE, "task_id");
    free(extra);
    free(name);
}

static void bad_function_name(void **state)
{
    (void)state;
    static const char *const bad[] = {"\"1abc\"", "\"a-b\"",     "\"\"",    "\"class\"",
                                      "\"None\"", "\"\\u00f1\"", "\"a b\"", "\"f()\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *extra = fmt(",\"function_name\":%s", bad[i]);
        expect_error_free(body_with(extra), JT_ERR_INVALID, "function_name");
        free(extra);
    }
    static const char *const good[] = {"_x9", "match", "Solve_2"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *extra = fmt(",\"function_name\":\"%s\"", good[i]);
        char *b = body_with(extra);
        jt_job_t job;
        parse_ok(b, &job);
        assert_string_equal(job.function_name, good[i]);
        jt_job_cleanup(&job);
        free(b);
        free(extra);
    }
    char *name = long_name(JT_MAX_NAME_BYTES + 1);
    char *extra = fmt(",\"function_name\":\"%s\"", name);
    expect_error_free(body_with(extra), JT_ERR_TOO_LARGE, "function_name");
    free(extra);
    free(name);
}

static void names_too_long(void **state)
{
    (void)state;
    static const char *const fields[] = {"candidate_id", "problem_name"};
    char *ok = long_name(JT_MAX_NAME_BYTES);
    char *bad = long_name(JT_MAX_NAME_BYTES + 1);
    for (size_t i = 0; i < 2; i++) {
        char *extra = fmt(",\"%s\":\"%s\"", fields[i], ok);
        expect_ok_free(body_with(extra));
        free(extra);
        extra = fmt(",\"%s\":\"%s\"", fields[i], bad);
        expect_error_free(body_with(extra), JT_ERR_TOO_LARGE, fields[i]);
        free(extra);
    }
    char *extra = fmt(",\"test_id\":\"%s\"", ok);
    expect_ok_free(body_tc(extra));
    free(extra);
    extra = fmt(",\"test_id\":\"%s\"", bad);
    expect_error_free(body_tc(extra), JT_ERR_TOO_LARGE, "test_cases[0].test_id");
    free(extra);
    free(ok);
    free(bad);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(minimal_defaults),
    cmocka_unit_test(all_fields),
    cmocka_unit_test(null_means_default),
    cmocka_unit_test(test_id_forms),
    cmocka_unit_test(duplicate_test_ids),
    cmocka_unit_test(repetition_mode),
    cmocka_unit_test(wrong_type_each_field),
    cmocka_unit_test(missing_required),
    cmocka_unit_test(unknown_field_top),
    cmocka_unit_test(unknown_field_test_case),
    cmocka_unit_test(unknown_field_comparison),
    cmocka_unit_test(duplicate_keys),
    cmocka_unit_test(invalid_utf8),
    cmocka_unit_test(invalid_json),
    cmocka_unit_test(not_an_object),
    cmocka_unit_test(nul_in_strings),
    cmocka_unit_test(bad_task_id),
    cmocka_unit_test(bad_function_name),
    cmocka_unit_test(names_too_long),
};

JT_UNIT_MAIN(tests)
