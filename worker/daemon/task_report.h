/* task_report.h -- one task's record as the worker changes it: stored in KV, published as progress.
 *
 * Every change is written to the tasks bucket (JSON) and published, msgpack
 * encoded, on JT_SUBJECT_PROGRESS_PREFIX<task id>; the final record also on
 * JT_SUBJECT_RESULT_PREFIX<task id>. Used by one thread (the job thread).
 */
#ifndef JT_TASK_REPORT_H
#define JT_TASK_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "job.h"
#include "retry.h"
#include "status.h"
#include "task_state.h"

/* How long jt_report_begin keeps reading and jt_report_final keeps writing through KV
 * trouble (no responders, timeouts while a bucket elects a leader) by default. */
#define JT_REPORT_PATIENCE_MS 30000

typedef struct {
    jt_bus_t *bus; /* borrowed */
    char task_id[JT_MAX_NAME_BYTES + 1];
    json_t *record;        /* owned: the latest record */
    uint64_t expected_rev; /* CAS the next write against this revision (0: the key was absent) */
    double started;        /* monotonic seconds when the worker picked the job */
    jt_retry_t retry;      /* back-off of the reads of begin and of the final write */
    bool ended_elsewhere;  /* someone else stored a final record: write nothing more */
} jt_report_t;

/* Load the task's record from KV (the gateway's "queued" one), or start a
 * fresh one for a job published straight to the bus. Sets "worker", and from
 * job (may be NULL) "candidate_id" and "problem_name"; "request_id" is kept
 * or null. *final (may be NULL) tells whether the stored record is already
 * final (a redelivered job that another worker finished, or a queued job the
 * gateway cancelled). A read that fails for a while (JT_ERR_TIMEOUT/IO) is retried with
 * back-off for JT_REPORT_PATIENCE_MS. JT_OK, or the last KV error. */
jt_status_t jt_report_begin(jt_report_t *r, jt_bus_t *bus, const char *task_id,
                            const char *worker_id, const jt_job_t *job, bool *final,
                            jt_error_t *err);

/* jt_report_begin with the back-off policy retry (copied; its stop and ctx must outlive r),
 * used for this read and for jt_report_final. */
jt_status_t jt_report_begin_retry(jt_report_t *r, jt_bus_t *bus, const char *task_id,
                                  const char *worker_id, const jt_job_t *job,
                                  const jt_retry_t *retry, bool *final, jt_error_t *err);

/* Record a non-final state: status, stage, progress 0..1, trial i of
 * trials_total, cv_percent (NaN: null) and elapsed_seconds. Every write is a
 * compare-and-set against the revision loaded or last written: when someone
 * else wrote in between, the record is read again; when it is final (the gateway
 * cancelled the task while queued, another worker finished a redelivery) nothing is
 * written, ended_elsewhere is set and JT_ERR_PROTOCOL returned; otherwise the write is
 * repeated against the new revision. One attempt: other errors are KV trouble. */
jt_status_t jt_report_progress(jt_report_t *r, jt_task_status_t status, const char *stage,
                               double progress, int trial, int trials_total, double cv_percent,
                               jt_error_t *err);

/* Record the final state. result (borrowed, may be NULL) is a measurement
 * JSON (jt_measurement_to_json) merged at top level; status, error_type and
 * error (either may be NULL) override it. Stores the record (compare-and-set as
 * above; KV trouble is retried with the back-off of begin), then publishes
 * it on the progress and result subjects. JT_OK once stored (publishing is
 * best effort), and also when another final record is stored already (then
 * ended_elsewhere is set and nothing is written or published: the task has its end);
 * an error when KV kept refusing it (then do not ack the job). */
jt_status_t jt_report_final(jt_report_t *r, jt_task_status_t status, json_t *result,
                            const char *error_type, const char *error, jt_error_t *err);

/* Free the record. */
void jt_report_cleanup(jt_report_t *r);

#endif
