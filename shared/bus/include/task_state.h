/* task_state.h -- the latest record of every task, kept in the tasks KV bucket.
 *
 * A record is a JSON object: {"task_id", "status", "stage", "progress",
 * "trial", "trials_total", "cv_percent", "elapsed_seconds", "created_at",
 * "updated_at", "worker", "candidate_id", "problem_name", ...}. status is
 * one of queued | validating | waiting_for_socket | measuring | completed |
 * failed | cancelled; once the task ended, the fields of the measurement
 * result (docs/measurement.md "The result") are merged into the record at its
 * top level. Any thread may call these functions.
 */
#ifndef JT_TASK_STATE_H
#define JT_TASK_STATE_H

#include <jansson.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "status.h"
#include "task_id.h"

typedef enum {
    JT_TASK_QUEUED = 0,
    JT_TASK_VALIDATING,
    JT_TASK_WAITING_FOR_SOCKET,
    JT_TASK_MEASURING,
    JT_TASK_COMPLETED,
    JT_TASK_FAILED,
    JT_TASK_CANCELLED,
    JT_TASK_STATUS_COUNT
} jt_task_status_t;

/* Wire name of a task status; never NULL. */
const char *jt_task_status_name(jt_task_status_t s);

/* Parse a wire name; -1 when unknown. */
int jt_task_status_parse(const char *name);

/* Whether the status is final (completed, failed, cancelled). */
bool jt_task_status_final(jt_task_status_t s);

/* Store record (not consumed) as the task's latest state. When expected_rev
 * is nonzero the write only succeeds if the stored revision is still
 * expected_rev (JT_ERR_PROTOCOL otherwise: someone else wrote). *rev (may be
 * NULL) receives the new revision. */
jt_status_t jt_task_put(kvStore *tasks, const char *task_id, const json_t *record,
                        uint64_t expected_rev, uint64_t *rev, jt_error_t *err);

/* Fetch the latest record: *record (new reference) and *rev (may be NULL).
 * JT_ERR_MISSING when the task is unknown (or expired). */
jt_status_t jt_task_get(kvStore *tasks, const char *task_id, json_t **record, uint64_t *rev,
                        jt_error_t *err);

/* A fresh record {"task_id", "status", "created_at", "updated_at", ...} with
 * the given status (new reference). created_at/updated_at are UTC ISO 8601. */
json_t *jt_task_record_new(const char *task_id, jt_task_status_t status);

/* Set status and updated_at on record. */
void jt_task_record_set_status(json_t *record, jt_task_status_t status);

#endif
