/* pipeline_job.c -- the pipeline tests' jobs: request bodies of the candidates of candidate.h. */
#include "pipeline_job.h"

#include <jansson.h>
#include <stdlib.h>

#include "candidate.h"

char *pl_job_body(const char *code, const char *cases, int trials, int warmup,
                  double min_trial_seconds, double target_cv)
{
    json_t *j =
        json_pack("{s:s, s:s, s:o, s:i, s:i, s:f, s:f, s:f, s:s, s:s}", "candidate_code", code,
                  "function_name", "solve", "test_cases", json_loads(cases, 0, NULL),
                  "energy_measurement_trials", trials, "warmup_trials", warmup, "min_trial_seconds",
                  min_trial_seconds, "target_cv_percent", target_cv, "timeout_seconds", 60.0,
                  "candidate_id", "pipeline-candidate", "problem_name", "pipeline");
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

char *pl_small_job(int trials)
{
    return pl_job_body(ADD_SRC, ADD_CASES, trials, 0, 0.05, 5.0);
}

char *pl_burn_job(int trials, double min_trial_seconds)
{
    char cases[256];
    jt_burn_cases(cases, sizeof cases);
    return pl_job_body(BURN_SOLVE_SRC, cases, trials, 0, min_trial_seconds, 0.001);
}
