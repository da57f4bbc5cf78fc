/* energy_worker.h -- energy tests: worker commands, run and watched: calibrate, measure. */
#ifndef JT_TESTS_ENERGY_WORKER_H
#define JT_TESTS_ENERGY_WORKER_H

#include <jansson.h>
#include <stdbool.h>

#include "energy_case.h"
#include "energy_outcome.h"

/* Run the worker with args (NULL-terminated, after the program name),
 * capturing its output and watching the measurement core meanwhile. The
 * outcome belongs to the attempt; NULL (failure recorded) when it could not run. */
outcome_t *run_worker(env_t *e, const char *label, const char *const *args,
                      const char *const *extra);

/* Calibrate; a refusal because of a busy core or a noisy baseline is retried
 * twice (the load may belong to another program on this machine). False
 * (failure recorded) when the last try did not exit 0. */
bool calibrate(env_t *e);

/* The usual start of a case: fake tree with the default watts, calibrated;
 * false (failure recorded) otherwise. */
bool ready(env_t *e);

/* Run `measure --meter METER` on job (consumed); prints the summary. NULL
 * (failure recorded) when the worker could not run. */
outcome_t *measure_with(env_t *e, const char *label, json_t *job, const char *meter,
                        const char *const *extra);

/* Measure a job that must complete; NULL (failure recorded) otherwise. */
outcome_t *measure_ok(env_t *e, const char *label, json_t *job);

/* The usual case: ready(), then measure a job that must complete. job is
 * consumed either way; NULL (failure recorded) unless it completed. */
outcome_t *ready_measure(env_t *e, const char *label, json_t *job);

/* A comparison: ready(), job a, then job b only once a completed. Both jobs
 * are consumed either way. True when both completed, with *a_out and *b_out
 * set (the outcomes belong to the attempt); false (failure recorded), the
 * outputs untouched, otherwise. */
bool ready_measure_pair(env_t *e, const char *label_a, json_t *job_a, const char *label_b,
                        json_t *job_b, outcome_t **a_out, outcome_t **b_out);

#endif
