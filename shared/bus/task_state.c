/* task_state.c -- task records (JSON) in the tasks KV bucket: names, read, write, compare-and-set.
 */
#include "task_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "nats_status.h"

/* A stored record travels as one NATS message: stay under the broker's
 * max_payload (8 MB in the broker/ configs) with room for the subject and headers. */
#define TASK_RECORD_MAX_BYTES (8 * 1024 * 1024 - 4096)

static const char *const status_names[JT_TASK_STATUS_COUNT] = {
    [JT_TASK_QUEUED] = "queued",
    [JT_TASK_VALIDATING] = "validating",
    [JT_TASK_WAITING_FOR_SOCKET] = "waiting_for_socket",
    [JT_TASK_MEASURING] = "measuring",
    [JT_TASK_COMPLETED] = "completed",
    [JT_TASK_FAILED] = "failed",
    [JT_TASK_CANCELLED] = "cancelled",
};

const char *jt_task_status_name(jt_task_status_t s)
{
    if ((unsigned)s >= JT_TASK_STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

int jt_task_status_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < JT_TASK_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

bool jt_task_status_final(jt_task_status_t s)
{
    return s == JT_TASK_COMPLETED || s == JT_TASK_FAILED || s == JT_TASK_CANCELLED;
}

jt_status_t jt_task_put(kvStore *tasks, const char *task_id, const json_t *record,
                        uint64_t expected_rev, uint64_t *rev, jt_error_t *err)
{
    char why[256];

    if (tasks == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "tasks", "no tasks bucket");
    if (!jt_task_id_valid(task_id))
        return jt_error_set(err, JT_ERR_INVALID, "task_id",
                            "task id must be 1..%d characters of [A-Za-z0-9_-]", JT_TASK_ID_MAX);
    if (!json_is_object(record))
        return jt_error_set(err, JT_ERR_INVALID, "record", "task record must be a JSON object");

    char *text = json_dumps(record, JSON_COMPACT);
    if (text == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "record", "cannot serialise task record %s",
                            task_id);
    size_t len = strlen(text);
    if (len > TASK_RECORD_MAX_BYTES) {
        free(text);
        return jt_error_set(err, JT_ERR_TOO_LARGE, "record",
                            "task record %s is %zu bytes, more than the %d allowed", task_id, len,
                            TASK_RECORD_MAX_BYTES);
    }

    uint64_t r = 0;
    natsStatus s;
    if (expected_rev != 0)
        s = kvStore_Update(&r, tasks, task_id, text, (int)len, expected_rev);
    else
        s = kvStore_Put(&r, tasks, task_id, text, (int)len);
    free(text);
    if (s == NATS_OK) {
        if (rev != NULL)
            *rev = r;
        return JT_OK;
    }

    jt_nats_describe(s, why, sizeof why);
    if (s == NATS_ERR && expected_rev != 0)
        return jt_error_set(err, JT_ERR_PROTOCOL, task_id,
                            "task %s changed since revision %llu (someone else wrote it): %s",
                            task_id, (unsigned long long)expected_rev, why);
    if (s == NATS_MAX_PAYLOAD)
        return jt_error_set(err, JT_ERR_TOO_LARGE, task_id,
                            "task record %s (%zu bytes) exceeds the server's max_payload: %s",
                            task_id, len, why);
    return jt_error_set(err, jt_nats_status(s), task_id,
                        "cannot store task %s: %s", task_id, why);
}

jt_status_t jt_task_get(kvStore *tasks, const char *task_id, json_t **record, uint64_t *rev,
                        jt_error_t *err)
{
    kvEntry *e = NULL;
    char why[256];

    if (tasks == NULL || record == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "tasks", "no tasks bucket or output");
    if (!jt_task_id_valid(task_id))
        return jt_error_set(err, JT_ERR_INVALID, "task_id",
                            "task id must be 1..%d characters of [A-Za-z0-9_-]", JT_TASK_ID_MAX);

    natsStatus s = kvStore_Get(&e, tasks, task_id);
    if (s == NATS_NOT_FOUND)
        return jt_error_set(err, JT_ERR_MISSING, task_id,
                            "unknown task %s (never submitted, or expired)", task_id);
    if (s != NATS_OK) {
        jt_nats_describe(s, why, sizeof why);
        return jt_error_set(err, jt_nats_status(s), task_id,
                            "cannot read task %s: %s", task_id, why);
    }

    json_error_t jerr;
    json_t *value =
        json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), JSON_REJECT_DUPLICATES, &jerr);
    uint64_t r = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    if (value == NULL || !json_is_object(value)) {
        json_decref(value);
        return jt_error_set(err, JT_ERR_PROTOCOL, task_id,
                            "stored record of task %s is not a JSON object%s%s", task_id,
                            value == NULL ? ": " : "", value == NULL ? jerr.text : "");
    }
    *record = value;
    if (rev != NULL)
        *rev = r;
    return JT_OK;
}

json_t *jt_task_record_new(const char *task_id, jt_task_status_t status)
{
    char now[40];
    if (task_id == NULL)
        return NULL;
    jt_clock_utc_iso(now, sizeof now);
    return json_pack("{s:s, s:s, s:s, s:f, s:s, s:s}", "task_id", task_id, "status",
                     jt_task_status_name(status), "stage", jt_task_status_name(status), "progress",
                     0.0, "created_at", now, "updated_at", now);
}

void jt_task_record_set_status(json_t *record, jt_task_status_t status)
{
    char now[40];
    if (!json_is_object(record))
        return;
    jt_clock_utc_iso(now, sizeof now);
    json_object_set_new(record, "status", json_string(jt_task_status_name(status)));
    json_object_set_new(record, "updated_at", json_string(now));
}
