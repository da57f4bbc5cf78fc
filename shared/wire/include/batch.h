/* batch.h -- a batch: one problem measured for many candidates, and its bounds (docs/ranking.md).
 *
 * A batch is what a client sends to POST /api/v1/batches (JSON) or publishes on
 * JT_SUBJECT_BATCHES (msgpack): every field of a job except candidate_code and task_id
 * (the problem), plus `candidates` [{candidate_id, candidate_code}], an optional
 * `reference` {candidate_id, candidate_code}, `callback_url`, `max_measurement_seconds`,
 * `target_precision_percent` and `batch_id`.
 */
#ifndef JT_BATCH_H
#define JT_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "status.h"

#define JT_MAX_BATCH_CANDIDATES 1000u             /* candidates, the reference included */
#define JT_MAX_BATCH_BODY_BYTES (64u * 1024 * 1024) /* REST body or msgpack batch */
#define JT_DEFAULT_BATCH_MEASUREMENT_SECONDS 3600.0 /* budget of measurement socket time */
#define JT_MAX_BATCH_MEASUREMENT_SECONDS 86400.0
#define JT_DEFAULT_TARGET_PRECISION_PERCENT 3.0   /* interval half-width / median */

typedef struct {
    char *candidate_id; /* owned; a valid id (task_id.h) */
    char *code;         /* owned, NUL-terminated, <= JT_MAX_CODE_BYTES */
    size_t code_len;
    bool is_reference;
} jt_candidate_t;

typedef struct {
    char *batch_id;              /* optional in requests; NULL when absent */
    jt_job_t problem;            /* every job field; candidate_code "" and task_id NULL */
    jt_candidate_t *candidates;  /* the reference, when given, is the last one */
    size_t n_candidates;         /* 1 .. JT_MAX_BATCH_CANDIDATES */
    char *callback_url;          /* optional (webhook.h checks it against the allowlist) */
    double max_measurement_seconds;  /* budget; default JT_DEFAULT_BATCH_MEASUREMENT_SECONDS */
    double target_precision_percent; /* adaptive trials stop below it (default 3) */
} jt_batch_t;

/* Set *b to an empty batch (problem with job defaults). Never fails. */
void jt_batch_init(jt_batch_t *b);

/* Free everything *b owns and re-initialise it. */
void jt_batch_cleanup(jt_batch_t *b);

/* Index of the reference candidate, or -1 without one. */
int jt_batch_reference(const jt_batch_t *b);

/* Candidate i's job: a deep copy of the problem with candidate i's code and candidate_id,
 * task_id set to task_id (may be NULL). *job must be initialised; JT_ERR_NOMEM on failure. */
jt_status_t jt_batch_candidate_job(const jt_batch_t *b, size_t i, const char *task_id,
                                   jt_job_t *job, jt_error_t *err);

#endif
