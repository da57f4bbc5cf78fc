/* batch_state.h -- batches in the batches KV bucket: record, problem, code, gate results, blocks.
 *
 * Keys of JT_KV_BATCHES (the batch id is a task id: task_id.h):
 *   <id>               the batch record (JSON, below), the one source of the batch's state
 *   <id>.problem       the problem: a job msgpack (job_msgpack.h) whose candidate_code is ""
 *   <id>.code.<i>      candidate i's code (raw bytes)
 *   <id>.gate.<i>      candidate i's gate result: {"validation", "test_results"} (JSON)
 *   <id>.block.<n>     block n as measured by a worker (JSON, docs/ranking.md "Blocks")
 *   <id>.result        the final ranking (JSON, docs/ranking.md "The ranking")
 * Record: {"batch_id", "status", "created_at", "updated_at", "problem_name", "function_name",
 *   "n_candidates", "reference" (candidate id or null), "callback_url" (or absent),
 *   "max_measurement_seconds", "target_precision_percent", "request_id",
 *   "counts": {"queued", "correct", "failed"}, "blocks", "trials", "measurement_seconds",
 *   "candidates": [{"candidate_id", "state": queued|correct|failed, "passed_tests",
 *                   "total_tests", "error_summary"}]}
 * status: queued | validating | measuring | completed | failed | cancelled (task_state.h names).
 * Any thread may call these functions.
 */
#ifndef JT_BATCH_STATE_H
#define JT_BATCH_STATE_H

#include <jansson.h>
#include <nats/nats.h>
#include <stdint.h>

#include "batch.h"
#include "bus.h"
#include "status.h"
#include "task_state.h"

#define JT_BATCH_KEY_MAX 192 /* the longest key above, NUL included */

/* Store a new batch under batch_id: problem, every candidate's code, then its record
 * (status queued, counts, candidates queued; request_id may be NULL), created only if no
 * batch of that id exists (JT_ERR_EXISTS otherwise: a replay, nothing written). Then
 * publishes one gate message per candidate (Nats-Msg-Id "<id>.gate.<i>") and sets the
 * status to validating. On a bus failure the batch is marked failed when its record exists
 * and the error returned (JT_ERR_IO / JT_ERR_TIMEOUT): never a half-queued batch that
 * looks alive. */
jt_status_t jt_batch_store_submit(jt_bus_t *bus, const char *batch_id, const jt_batch_t *b,
                                  const char *request_id, jt_error_t *err);

/* Create the record of batch_id as record (a batch refused before it could be stored:
 * status failed with the reason). JT_ERR_EXISTS when a record exists. */
jt_status_t jt_batch_record_create(jt_bus_t *bus, const char *batch_id, const json_t *record,
                                   jt_error_t *err);

/* Fetch the record: *record (new reference) and *rev (may be NULL). JT_ERR_MISSING when
 * unknown or expired. */
jt_status_t jt_batch_record_get(jt_bus_t *bus, const char *batch_id, json_t **record,
                                uint64_t *rev, jt_error_t *err);

/* Change the record with edit, compare-and-set, retried on conflicts: edit(record, ctx)
 * changes the record in place and returns 1 to write it, 0 to leave it as it is, -1 to
 * stop with JT_ERR_PROTOCOL. *out (may be NULL) receives the record as written (new
 * reference). updated_at is set on every write. */
jt_status_t jt_batch_record_update(jt_bus_t *bus, const char *batch_id,
                                   int (*edit)(json_t *record, void *ctx), void *ctx,
                                   json_t **out, jt_error_t *err);

/* The problem and candidate i's code as candidate i's job (jt_batch_candidate_job). */
jt_status_t jt_batch_load_job(jt_bus_t *bus, const char *batch_id, size_t i,
                              const json_t *record, jt_job_t *job, jt_error_t *err);

/* Candidate i's code: *code (malloc'd, NUL-terminated, caller frees) and *len. */
jt_status_t jt_batch_load_code(jt_bus_t *bus, const char *batch_id, size_t i, char **code,
                               size_t *len, jt_error_t *err);

/* Any other key of the batch, as JSON: kind "gate", "block" or "result"; index i ignored for
 * "result". JT_ERR_MISSING when absent. */
jt_status_t jt_batch_json_get(jt_bus_t *bus, const char *batch_id, const char *kind, size_t i,
                              json_t **value, jt_error_t *err);

/* Store value under kind/i (see jt_batch_json_get). create_only: JT_ERR_EXISTS when the key
 * exists already (blocks are written once). */
jt_status_t jt_batch_json_put(jt_bus_t *bus, const char *batch_id, const char *kind, size_t i,
                              const json_t *value, bool create_only, jt_error_t *err);

/* Ask a batch to stop: the cancel flag (JT_KV_CANCELS key "batch.<id>"), then, when the batch
 * is not final, status cancelled. *record (may be NULL) receives the record after it. */
jt_status_t jt_batch_cancel(jt_bus_t *bus, const char *batch_id, json_t **record,
                            jt_error_t *err);

/* Whether a cancel was asked for the batch (the flag exists). */
bool jt_batch_cancel_requested(jt_bus_t *bus, const char *batch_id);

/* Whether the record's status is final (completed, failed, cancelled). */
bool jt_batch_record_final(const json_t *record);

/* Publish the record on JT_SUBJECT_BATCH_PROGRESS_PREFIX<id> as msgpack. When it is final,
 * also on JT_SUBJECT_BATCH_RESULT_PREFIX<id>, and its webhook (event = the status) is queued
 * when it has a callback_url (once: the delivery id names the event). Best effort: errors are
 * logged. */
void jt_batch_publish(jt_bus_t *bus, const json_t *record);

#endif
