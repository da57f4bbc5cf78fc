/* hostile_cross.h -- two `jouletrace-worker validate` commands at once, each with its runner.
 *
 * The cross-worker case starts both workers on one sandbox directory (as workers of one host
 * share JOULETRACE_SANDBOX_DIR), waits for both within the case's deadline, and parses each
 * report. Job, output and error files are the test's own (mode 0600) and removed afterwards.
 */
#ifndef JT_TESTS_HOSTILE_CROSS_H
#define JT_TESTS_HOSTILE_CROSS_H

#include <jansson.h>

#include "hostile_case.h"

/* One of the two commands: its job (consumed by hostile_run_pair), then what it left. */
typedef struct {
    const char *who;
    json_t *job;
    int exit_code;  /* -1 when killed */
    json_t *report; /* parsed stdout, NULL if none; the caller releases it */
    char err_tail[2048];
} hostile_worker_t;

/* Run both workers at once on c->sandbox; afterwards sweep the sandbox directory (leftovers are
 * failures of c). */
void hostile_run_pair(ctx_t *c, hostile_worker_t w[2]);

#endif
