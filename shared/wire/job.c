/* job.c -- lifecycle of jt_job_t and its blobs. */
#include "job.h"

#include <stdlib.h>
#include <string.h>

void jt_job_init(jt_job_t *job)
{
    memset(job, 0, sizeof *job);
    job->timeout_seconds = JT_DEFAULT_TIMEOUT_SECONDS;
    job->memory_limit_mb = JT_DEFAULT_MEMORY_LIMIT_MB;
    job->energy_measurement_trials = JT_DEFAULT_TRIALS;
    job->warmup_trials = JT_DEFAULT_WARMUP_TRIALS;
    job->min_trial_seconds = JT_DEFAULT_MIN_TRIAL_SECONDS;
    job->target_cv_percent = JT_DEFAULT_TARGET_CV_PERCENT;
    job->thermal_wait_seconds = JT_DEFAULT_THERMAL_WAIT_SECONDS;
    job->abs_tol = JT_DEFAULT_ABS_TOL;
    job->rel_tol = JT_DEFAULT_REL_TOL;
    job->repetition_mode = JT_REPEAT_FRESH_PROCESS;
}

void jt_job_cleanup(jt_job_t *job)
{
    for (size_t i = 0; i < job->n_test_cases; i++) {
        jt_test_case_t *tc = &job->test_cases[i];
        free(tc->test_id);
        jt_blob_free(&tc->inputs);
        jt_blob_free(&tc->expected_output);
        jt_blob_free(&tc->metadata);
    }
    free(job->test_cases);
    free(job->task_id);
    free(job->candidate_code);
    free(job->function_name);
    free(job->candidate_id);
    free(job->problem_name);
    free(job->callback_url);
    jt_job_init(job);
}

const char *jt_repetition_mode_name(jt_repetition_mode_t m)
{
    return m == JT_REPEAT_SAME_PROCESS ? "same_process" : "fresh_process";
}

void jt_blob_free(jt_blob_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}
