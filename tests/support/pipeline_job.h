/* pipeline_job.h -- the pipeline tests' jobs: request bodies of the candidates of candidate.h. */
#ifndef JT_TESTS_PIPELINE_JOB_H
#define JT_TESTS_PIPELINE_JOB_H

/* A request body (malloc'd; NULL when out of memory): code, test cases (JSON text), the
 * measurement knobs, timeout 60 s. */
char *pl_job_body(const char *code, const char *cases, int trials, int warmup,
                  double min_trial_seconds, double target_cv);

/* A small correct job (ADD_SRC): trials, no warmup, short trials. */
char *pl_small_job(int trials);

/* A CPU-bound job (BURN_SOLVE_SRC) of `trials` trials of at least min_trial_seconds each. */
char *pl_burn_job(int trials, double min_trial_seconds);

#endif
