/* heartbeat.c -- builds and stores the worker heartbeat record; removes it on shutdown. */
#include "heartbeat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "nats_status.h"

json_t *jt_heartbeat_record(const jt_heartbeat_info_t *info, const char *task_id)
{
    char now[40];
    jt_clock_utc_iso(now, sizeof now);
    json_t *missing = json_array();
    for (size_t i = 0; missing != NULL && i < info->n_sandbox_missing; i++)
        json_array_append_new(missing, json_string(info->sandbox_missing[i]));
    json_t *rec =
        json_pack("{s:s, s:s, s:I, s:s, s:s?, s:s, s:b, s:b, s:s?, s:f, s:s?, s:i, s:i, s:i, "
                  "s:s}",
                  "worker_id", info->worker_id, "host", info->host ? info->host : "", "pid",
                  (json_int_t)info->pid, "state", task_id ? "busy" : "idle", "task_id", task_id,
                  "meter_type", info->meter_type ? info->meter_type : "", "energy_is_estimated",
                  (int)info->energy_is_estimated, "calibrated", (int)info->calibrated,
                  "calibration_reason", info->calibration_reason, "calibration_idle_watts",
                  info->calibration_idle_watts, "calibrated_at", info->calibrated_at,
                  "calibration_valid_days", info->calibration_valid_days, "measurement_core",
                  info->measurement_core, "socket", info->socket, "updated_at", now);
    if (rec != NULL &&
        json_object_set_new(rec, "sandbox",
                            json_pack("{s:s, s:o}", "cgroup",
                                      info->sandbox_cgroup ? info->sandbox_cgroup : "none",
                                      "missing", missing ? missing : json_array())) == 0)
        return rec;
    json_decref(rec);
    return NULL;
}

static jt_status_t nats_error(jt_error_t *err, natsStatus s, const char *what, const char *key)
{
    char why[256];
    return jt_error_set(err, jt_nats_status(s), "heartbeat", "cannot %s heartbeat %s: %s", what,
                        key, jt_nats_describe(s, why, sizeof why));
}

jt_status_t jt_heartbeat_put(kvStore *kv, const jt_heartbeat_info_t *info, const char *task_id,
                             jt_error_t *err)
{
    json_t *rec = jt_heartbeat_record(info, task_id);
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (text == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "heartbeat", "out of memory");
    natsStatus s = kvStore_PutString(NULL, kv, info->worker_id, text);
    free(text);
    return s == NATS_OK ? JT_OK : nats_error(err, s, "store", info->worker_id);
}

jt_status_t jt_heartbeat_remove(kvStore *kv, const char *worker_id, jt_error_t *err)
{
    natsStatus s = kvStore_Purge(kv, worker_id, NULL);
    return s == NATS_OK ? JT_OK : nats_error(err, s, "remove", worker_id);
}
