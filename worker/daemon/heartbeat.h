/* heartbeat.h -- the worker's liveness record in the workers KV bucket (read by the gateway).
 *
 * Any thread may call these (each is one blocking KV request).
 */
#ifndef JT_HEARTBEAT_H
#define JT_HEARTBEAT_H

#include <jansson.h>
#include <nats/nats.h>
#include <stdbool.h>

#include "status.h"

#define JT_HEARTBEAT_INTERVAL_MS 3000

/* What a worker says about itself; the strings are borrowed. */
typedef struct {
    const char *worker_id; /* the KV key */
    const char *host;
    long pid;
    const char *meter_type; /* "estimate", "rapl-sysfs", ... */
    bool energy_is_estimated;
    bool calibrated;                /* idle power from a fresh calibration file */
    const char *calibration_reason; /* why not calibrated; NULL when calibrated */
    double calibration_idle_watts;
    const char *calibrated_at;      /* the calibration file's UTC ISO time; NULL without one */
    int calibration_valid_days;     /* its validity; 0 without one */
    int measurement_core;
    int socket;
    const char *sandbox_cgroup;         /* "v2", "v1" or "none" */
    const char *const *sandbox_missing; /* what the boxes lack (jt_runner_box_missing) */
    size_t n_sandbox_missing;
} jt_heartbeat_info_t;

/* The heartbeat JSON of the pipeline contract: {"worker_id", "host", "pid",
 * "state": "busy" when task_id is not NULL else "idle", "task_id", "meter_type",
 * "energy_is_estimated", "calibrated", "calibration_reason",
 * "calibration_idle_watts", "calibrated_at" (null without a calibration file),
 * "calibration_valid_days", "measurement_core", "socket", "updated_at",
 * "sandbox": {"cgroup", "missing": [names]}}.
 * The gateway learns every worker's calibration state from this record only.
 * New reference, NULL when out of memory. */
json_t *jt_heartbeat_record(const jt_heartbeat_info_t *info, const char *task_id);

/* Put the record under info->worker_id in kv (the bucket TTL removes it
 * when the worker stops beating). JT_OK or an error in *err. */
jt_status_t jt_heartbeat_put(kvStore *kv, const jt_heartbeat_info_t *info, const char *task_id,
                             jt_error_t *err);

/* Delete the worker's key (clean shutdown: the gateway stops counting it at
 * once). JT_OK or an error in *err. */
jt_status_t jt_heartbeat_remove(kvStore *kv, const char *worker_id, jt_error_t *err);

#endif
