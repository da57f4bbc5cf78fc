/* energy_job.c -- energy tests: the jobs measured, as JSON: code, test cases, trial shape. */
#include "energy_job.h"

#include "candidate.h"
#include "energy_core_watch.h"

const char PLAIN_SRC[] = BURN_SRC "def solve(n):\n"
                                  "    return burn(n)\n";

const shape_t RATIO_SHAPE = {5, 1, 0.3, 0.0001, NULL};

json_t *job_new(const char *code, const shape_t *s)
{
    json_t *job =
        json_pack("{s:s, s:[], s:i, s:i, s:f, s:f}", "candidate_code", code, "test_cases",
                  "energy_measurement_trials", s->trials, "warmup_trials", s->warmup,
                  "min_trial_seconds", s->min_trial_seconds, "target_cv_percent", s->target_cv);
    if (job && s->mode)
        json_object_set_new(job, "repetition_mode", json_string(s->mode));
    return job;
}

void job_add(json_t *job, json_t *inputs, json_t *expected)
{
    json_array_append_new(json_object_get(job, "test_cases"),
                          json_pack("{s:o, s:o}", "inputs", inputs, "expected_output", expected));
}

json_t *burn_job(const char *code, long n, const shape_t *s)
{
    json_t *job = job_new(code, s);
    job_add(job, json_pack("[I]", (json_int_t)n), json_integer(jt_burn_expected(n)));
    return job;
}
