/* hostile_job.h -- the sandbox tests' jobs: candidates and their test cases, as JSON. */
#ifndef JT_TESTS_HOSTILE_JOB_H
#define JT_TESTS_HOSTILE_JOB_H

#include <jansson.h>

#include "hostile_case.h"

/* The hostile module (tests/hostile/candidates.py), NUL-terminated in static storage; exits when
 * unreadable. */
const char *hostile_candidates(void);

/* A job of code (function_name NULL: the default) with no test cases yet, timeout seconds and
 * memory_mb, going on after a failed test. The caller owns it. */
json_t *hostile_job_new(const char *code, const char *function_name, int timeout, int memory_mb);

/* Append the test case id: inputs (consumed) must give expected (consumed). */
void hostile_job_add(json_t *job, const char *id, json_t *inputs, json_t *expected);

/* Append the call h_<kind>(arg) of the hostile module as test <kind> (port: the tcp case's). */
void hostile_job_add_call(json_t *job, const hostile_t *h, int port);

#endif
