/* job_json_helpers.c -- bodies for jt_job_from_json and what to expect of it, for its tests. */
#include "job_json_helpers.h"

#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

char *body_with(const char *extra)
{
    return fmt("{\"candidate_code\":" CODE ",\"test_cases\":[" TC "]%s}", extra);
}

char *body_tc(const char *tc_extra)
{
    return fmt("{\"candidate_code\":" CODE
               ",\"test_cases\":[{\"inputs\":[1,2],\"expected_output\":3%s}]}",
               tc_extra);
}

void assert_job_clean(const jt_job_t *job)
{
    jt_job_t fresh;
    jt_job_init(&fresh);
    assert_memory_equal(job, &fresh, sizeof fresh);
}

void expect_error_n(const char *text, size_t len, jt_status_t code, const char *path)
{
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_job_from_json(&job, text, len, &err);
    if (st != code || strcmp(err.path, path) != 0)
        print_error("body %.120s...\nwant %s at '%s', got %s at '%s': %s\n", text,
                    jt_status_name(code), path, jt_status_name(st), err.path, err.message);
    assert_int_equal(st, code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.path, path);
    assert_true(err.message[0] != '\0');
    assert_job_clean(&job);
}

void expect_error(const char *text, jt_status_t code, const char *path)
{
    expect_error_n(text, strlen(text), code, path);
}

void expect_error_free(char *text, jt_status_t code, const char *path)
{
    expect_error(text, code, path);
    free(text);
}

void expect_message(const char *text, const char *fragment)
{
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    assert_int_not_equal(jt_job_from_json(&job, text, strlen(text), &err), JT_OK);
    if (strstr(err.message, fragment) == NULL)
        print_error("message '%s' lacks '%s'\n", err.message, fragment);
    assert_non_null(strstr(err.message, fragment));
}

void parse_ok(const char *text, jt_job_t *job)
{
    jt_job_init(job);
    jt_error_t err;
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_job_from_json(job, text, strlen(text), &err);
    if (st != JT_OK)
        print_error("body %.120s...\ngot %s at '%s': %s\n", text, jt_status_name(st), err.path,
                    err.message);
    assert_int_equal(st, JT_OK);
}

void expect_ok_free(char *text)
{
    jt_job_t job;
    parse_ok(text, &job);
    jt_job_cleanup(&job);
    free(text);
}

void assert_blob(const jt_blob_t *b, const char *bytes, size_t len)
{
    assert_non_null(b->data);
    assert_int_equal(b->len, len);
    assert_memory_equal(b->data, bytes, len);
}

void assert_defaults(const jt_job_t *job)
{
    assert_null(job->task_id);
    assert_string_equal(job->function_name, "solve");
    assert_true(job->timeout_seconds == 30.0);
    assert_int_equal(job->memory_limit_mb, 512);
    assert_int_equal(job->energy_measurement_trials, 5);
    assert_int_equal(job->warmup_trials, 2);
    assert_true(job->min_trial_seconds == 0.2);
    assert_true(job->target_cv_percent == 5.0);
    assert_true(job->thermal_wait_seconds == 0.0);
    assert_null(job->candidate_id);
    assert_null(job->problem_name);
    assert_true(job->abs_tol == 1e-9);
    assert_true(job->rel_tol == 1e-9);
    assert_false(job->stop_on_first_failure);
    assert_int_equal(job->repetition_mode, JT_REPEAT_FRESH_PROCESS);
}
