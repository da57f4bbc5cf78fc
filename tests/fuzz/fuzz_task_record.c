/* fuzz_task_record.c -- libFuzzer target: a task record as read back from the tasks KV bucket.
 *
 * jt_task_get (shared/bus/task_state.c) decodes a stored record with
 * json_loadb(JSON_REJECT_DUPLICATES) and takes it only when it is a JSON object; its
 * callers then read "status" with jt_task_status_parse, publish the record as msgpack
 * (jt_value_from_json, as the gateway's cancel and the worker's reports do), and store it
 * again as compact JSON. The KV read itself needs a NATS server, so this target applies
 * the same decoding to the bytes and checks what the callers rely on: the status name
 * round trip, a published record that subscribers (SSE, direct clients: jt_unpack_value
 * and jt_value_to_json) read back equal, and a stored record that reads back equal.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"
#include "task_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* jt_task_status_parse and jt_task_status_name are inverse; final means an ended task. */
static void check_status(const json_t *rec)
{
    const char *name = json_string_value(json_object_get(rec, "status"));
    int st = jt_task_status_parse(name);
    if (st < -1 || st >= JT_TASK_STATUS_COUNT)
        abort();
    if (st < 0)
        return;
    if (name == NULL || strcmp(jt_task_status_name((jt_task_status_t)st), name) != 0)
        abort();
    bool final = strcmp(name, "completed") == 0 || strcmp(name, "failed") == 0 ||
                 strcmp(name, "cancelled") == 0;
    if (jt_task_status_final((jt_task_status_t)st) != final)
        abort();
}

/* The record published as msgpack reads back, on the subscriber's side, as the same JSON;
 * only a record nested too deep or holding an over-long string may be refused. */
static void check_published(const json_t *rec)
{
    jt_blob_t blob = {NULL, 0};
    jt_error_t err;
    memset(&err, 0, sizeof err);
    jt_status_t st = jt_value_from_json(rec, "record", &blob, &err);
    if (st != JT_OK) {
        fuzz_check_error(st, &err);
        if (st != JT_ERR_TOO_DEEP && st != JT_ERR_TOO_LARGE)
            abort();
        return;
    }
    msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    msgpack_object o;
    if (z == NULL || jt_unpack_value(blob.data, blob.len, z, &o, &err) != JT_OK)
        abort();
    json_t *back = jt_value_to_json(&o, &err);
    if (back == NULL || !json_equal(back, rec))
        abort();
    json_decref(back);
    msgpack_zone_free(z);
    jt_blob_free(&blob);
}

/* What jt_task_put stores (compact JSON) is what jt_task_get reads back. */
static void check_stored(json_t *rec)
{
    char *text = json_dumps(rec, JSON_COMPACT);
    if (text == NULL)
        abort();
    json_error_t je;
    json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (back == NULL || !json_equal(back, rec))
        abort();
    json_decref(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (rec == NULL) {
        if (strnlen(je.text, sizeof je.text) == sizeof je.text)
            abort();
        return 0;
    }
    if (!json_is_object(rec)) { /* jt_task_get: "not a JSON object" (502 at the gateway) */
        json_decref(rec);
        return 0;
    }
    check_status(rec);
    check_published(rec);
    check_stored(rec);
    /* A worker's jt_report_begin and the gateway's cancel change the status in place. */
    jt_task_record_set_status(rec, JT_TASK_CANCELLED);
    if (jt_task_status_parse(json_string_value(json_object_get(rec, "status"))) !=
        JT_TASK_CANCELLED)
        abort();
    check_stored(rec);
    json_decref(rec);
    return 0;
}
