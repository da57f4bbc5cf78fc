/* energy_job.h -- energy tests: the jobs measured, as JSON: code, test cases, trial shape. */
#ifndef JT_TESTS_ENERGY_JOB_H
#define JT_TESTS_ENERGY_JOB_H

#include <jansson.h>

/* CPU work of one plain call: about 50-100 ms of Python on a current core,
 * so that a run's fork and exit (several ms here) stay small beside it. */
#define BURN_N 1000000L

/* The candidates' shared work is BURN_SRC (energy_core_watch.h: the speed probe runs it too);
 * the plain candidate: solve(n) returns burn(n). */
extern const char PLAIN_SRC[];

/* The trial parameters of a job. */
typedef struct {
    int trials;
    int warmup;
    double min_trial_seconds;
    double target_cv;
    const char *mode; /* NULL: the default (fresh_process) */
} shape_t;

/* Ratios are judged on 5 trials of at least 0.3 s, all of them measured. */
extern const shape_t RATIO_SHAPE;

/* A job of `code` in shape s with no test cases yet; the caller owns it. */
json_t *job_new(const char *code, const shape_t *s);

/* Append a test case to job; inputs and expected are consumed. */
void job_add(json_t *job, json_t *inputs, json_t *expected);

/* A job of one test case: solve(n) == burn(n). */
json_t *burn_job(const char *code, long n, const shape_t *s);

#endif
