/* batch_state.c -- batches in the batches KV bucket: record, problem, code, gates, blocks, result.
 */
#include "batch_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_names.h"
#include "job_msgpack.h"
#include "log.h"
#include "nats_status.h"
#include "retry.h"
#include "value.h"
#include "webhook_queue.h"

#define UPDATE_ATTEMPTS 64    /* compare-and-set conflicts before giving up */
#define BUS_PATIENCE_MS 30000 /* temporary bus errors are retried this long */
#define CANCEL_KEY_PREFIX "batch."

/* "<id>", "<id>.<kind>" or "<id>.<kind>.<i>" into buf; false for an invalid id. */
static bool batch_key(char *buf, size_t len, const char *batch_id, const char *kind, long i)
{
    if (!jt_task_id_valid(batch_id))
        return false;
    int n;
    if (kind == NULL)
        n = snprintf(buf, len, "%s", batch_id);
    else if (i < 0)
        n = snprintf(buf, len, "%s.%s", batch_id, kind);
    else
        n = snprintf(buf, len, "%s.%s.%ld", batch_id, kind, i);
    return n > 0 && (size_t)n < len;
}

static jt_status_t invalid_id(jt_error_t *err)
{
    return jt_error_set(err, JT_ERR_INVALID, "batch_id",
                        "batch id must be 1..%d characters of [A-Za-z0-9_-]", JT_TASK_ID_MAX);
}

static jt_status_t nats_error(jt_error_t *err, natsStatus s, const char *what, const char *key)
{
    char why[256];
    jt_nats_describe(s, why, sizeof why);
    if (s == NATS_NOT_FOUND)
        return jt_error_set(err, JT_ERR_MISSING, key, "%s %s: not found (never stored, or expired)",
                            what, key);
    return jt_error_set(err, jt_nats_status(s), key, "cannot %s %s: %s", what, key, why);
}

/* Put (or create, when create_only) len bytes under key. */
static jt_status_t put_bytes(kvStore *kv, const char *key, const void *data, size_t len,
                             bool create_only, jt_error_t *err)
{
    uint64_t rev = 0;
    natsStatus s = create_only ? kvStore_Create(&rev, kv, key, data, (int)len)
                               : kvStore_Put(&rev, kv, key, data, (int)len);
    if (s == NATS_OK)
        return JT_OK;
    if (create_only && s == NATS_ERR) {
        kvEntry *e = NULL;
        natsStatus g = kvStore_Get(&e, kv, key);
        kvEntry_Destroy(e);
        if (g == NATS_OK)
            return jt_error_set(err, JT_ERR_EXISTS, key, "%s exists already", key);
    }
    return nats_error(err, s, "store", key);
}

static jt_status_t put_json(kvStore *kv, const char *key, const json_t *value, bool create_only,
                            jt_error_t *err)
{
    char *text = json_dumps(value, JSON_COMPACT);
    if (text == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, key, "cannot serialise %s", key);
    size_t len = strlen(text);
    jt_status_t s = len > JT_KV_MAX_VALUE_BYTES
                        ? jt_error_set(err, JT_ERR_TOO_LARGE, key,
                                       "%s is %zu bytes, more than the %d a value may hold", key,
                                       len, JT_KV_MAX_VALUE_BYTES)
                        : put_bytes(kv, key, text, len, create_only, err);
    free(text);
    return s;
}

/* Read key as a JSON object: *value (new reference), *rev (may be NULL). */
static jt_status_t get_json(kvStore *kv, const char *key, json_t **value, uint64_t *rev,
                            jt_error_t *err)
{
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv, key);
    if (s != NATS_OK)
        return nats_error(err, s, "read", key);
    json_error_t jerr;
    json_t *v =
        json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), JSON_REJECT_DUPLICATES, &jerr);
    if (rev != NULL)
        *rev = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    if (!json_is_object(v)) {
        json_decref(v);
        return jt_error_set(err, JT_ERR_PROTOCOL, key, "%s is not a JSON object", key);
    }
    *value = v;
    return JT_OK;
}

/* The record of a new batch: status queued, every candidate queued. */
static json_t *new_record(const char *batch_id, const jt_batch_t *b, const char *request_id)
{
    json_t *rec = jt_task_record_new(batch_id, JT_TASK_QUEUED);
    json_object_del(rec, "task_id");
    json_object_set_new(rec, "batch_id", json_string(batch_id));
    json_object_set_new(rec, "problem_name",
                        b->problem.problem_name ? json_string(b->problem.problem_name)
                                                : json_null());
    json_object_set_new(rec, "function_name", json_string(b->problem.function_name));
    json_object_set_new(rec, "n_candidates", json_integer((json_int_t)b->n_candidates));
    json_object_set_new(rec, "reference", json_null());
    for (size_t i = 0; i < b->n_candidates; i++)
        if (b->candidates[i].is_reference)
            json_object_set_new(rec, "reference", json_string(b->candidates[i].candidate_id));
    if (b->callback_url != NULL)
        json_object_set_new(rec, "callback_url", json_string(b->callback_url));
    json_object_set_new(rec, "max_measurement_seconds", json_real(b->max_measurement_seconds));
    json_object_set_new(rec, "target_precision_percent", json_real(b->target_precision_percent));
    json_object_set_new(rec, "request_id", request_id ? json_string(request_id) : json_null());
    json_t *counts = json_object();
    json_object_set_new(counts, "queued", json_integer((json_int_t)b->n_candidates));
    json_object_set_new(counts, "correct", json_integer(0));
    json_object_set_new(counts, "failed", json_integer(0));
    json_object_set_new(rec, "counts", counts);
    json_object_set_new(rec, "blocks", json_integer(0));
    json_object_set_new(rec, "trials", json_integer(0));
    json_object_set_new(rec, "measurement_seconds", json_real(0));
    json_t *cands = json_array();
    for (size_t i = 0; i < b->n_candidates; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "candidate_id", json_string(b->candidates[i].candidate_id));
        json_object_set_new(c, "state", json_string("queued"));
        if (b->candidates[i].is_reference)
            json_object_set_new(c, "is_reference", json_true());
        json_array_append_new(cands, c);
    }
    json_object_set_new(rec, "candidates", cands);
    return rec;
}

/* Publish candidate i's gate message (msgpack {batch_id, index}), deduplicated by msg id. */
static jt_status_t publish_gate(jt_bus_t *bus, const char *batch_id, size_t i, jt_error_t *err)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "batch_id", 8);
    msgpack_pack_str_with_body(&pk, batch_id, strlen(batch_id));
    msgpack_pack_str_with_body(&pk, "index", 5);
    msgpack_pack_uint64(&pk, i);
    char msg_id[JT_BATCH_KEY_MAX];
    batch_key(msg_id, sizeof msg_id, batch_id, "gate", (long)i);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    jsErrCode jerr = 0;
    natsStatus s =
        js_Publish(NULL, bus->js, JT_SUBJECT_BATCH_GATE, sb.data, (int)sb.size, &po, &jerr);
    msgpack_sbuffer_destroy(&sb);
    if (s == NATS_OK)
        return JT_OK;
    return nats_error(err, s, "queue the gate of", msg_id);
}

typedef struct {
    const char *status;
    const char *error;
} set_status_t;

static int edit_status(json_t *rec, void *ctx)
{
    const set_status_t *w = ctx;
    if (jt_batch_record_final(rec))
        return 0;
    json_object_set_new(rec, "status", json_string(w->status));
    if (w->error != NULL)
        json_object_set_new(rec, "error", json_string(w->error));
    return 1;
}

jt_status_t jt_batch_store_submit(jt_bus_t *bus, const char *batch_id, const jt_batch_t *b,
                                  const char *request_id, jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    if (!batch_key(key, sizeof key, batch_id, NULL, -1))
        return invalid_id(err);
    if (b->n_candidates == 0 || b->n_candidates > JT_MAX_BATCH_CANDIDATES)
        return jt_error_set(err, JT_ERR_INVALID, "candidates", "1..%u candidates",
                            JT_MAX_BATCH_CANDIDATES);
    kvEntry *e = NULL;
    natsStatus gs = kvStore_Get(&e, bus->batches, key);
    kvEntry_Destroy(e);
    if (gs == NATS_OK)
        return jt_error_set(err, JT_ERR_EXISTS, "batch_id", "batch %s exists already", batch_id);
    if (gs != NATS_NOT_FOUND)
        return nats_error(err, gs, "look up batch", batch_id);

    uint8_t *problem = NULL;
    size_t problem_len = 0;
    if (jt_job_to_msgpack(&b->problem, &problem, &problem_len) != JT_OK)
        return jt_error_set(err, JT_ERR_NOMEM, "problem", "cannot encode the problem");
    batch_key(key, sizeof key, batch_id, "problem", -1);
    jt_status_t s = put_bytes(bus->batches, key, problem, problem_len, false, err);
    free(problem);
    for (size_t i = 0; s == JT_OK && i < b->n_candidates; i++) {
        batch_key(key, sizeof key, batch_id, "code", (long)i);
        s = put_bytes(bus->batches, key, b->candidates[i].code, b->candidates[i].code_len, false,
                      err);
    }
    if (s != JT_OK)
        return s;
    json_t *rec = new_record(batch_id, b, request_id);
    batch_key(key, sizeof key, batch_id, NULL, -1);
    s = put_json(bus->batches, key, rec, true, err);
    json_decref(rec);
    if (s != JT_OK)
        return s;

    for (size_t i = 0; s == JT_OK && i < b->n_candidates; i++)
        s = publish_gate(bus, batch_id, i, err);
    jt_error_t uerr;
    if (s != JT_OK) {
        char why[600];
        snprintf(why, sizeof why, "the batch could not be queued: %s", err->message);
        set_status_t w = {"failed", why};
        jt_batch_record_update(bus, batch_id, edit_status, &w, NULL, &uerr);
        return s;
    }
    set_status_t w = {"validating", NULL};
    json_t *now = NULL;
    if (jt_batch_record_update(bus, batch_id, edit_status, &w, &now, &uerr) == JT_OK) {
        jt_batch_publish(bus, now);
        json_decref(now);
    }
    return JT_OK;
}

jt_status_t jt_batch_record_create(jt_bus_t *bus, const char *batch_id, const json_t *record,
                                   jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    if (!batch_key(key, sizeof key, batch_id, NULL, -1))
        return invalid_id(err);
    return put_json(bus->batches, key, record, true, err);
}

jt_status_t jt_batch_record_get(jt_bus_t *bus, const char *batch_id, json_t **record, uint64_t *rev,
                                jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    if (!batch_key(key, sizeof key, batch_id, NULL, -1))
        return invalid_id(err);
    jt_status_t s = get_json(bus->batches, key, record, rev, err);
    if (s == JT_ERR_MISSING)
        jt_error_set(err, JT_ERR_MISSING, batch_id,
                     "unknown batch %s (never submitted, or expired)", batch_id);
    return s;
}

jt_status_t jt_batch_record_update(jt_bus_t *bus, const char *batch_id,
                                   int (*edit)(json_t *record, void *ctx), void *ctx, json_t **out,
                                   jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    if (!batch_key(key, sizeof key, batch_id, NULL, -1))
        return invalid_id(err);
    const jt_retry_t policy = {.patience_ms = BUS_PATIENCE_MS};
    jt_backoff_t b;
    jt_backoff_init(&b, &policy);
    for (int attempt = 0; attempt < UPDATE_ATTEMPTS;) {
        json_t *rec = NULL;
        uint64_t rev = 0;
        jt_status_t s = jt_batch_record_get(bus, batch_id, &rec, &rev, err);
        if (s != JT_OK) {
            if (jt_status_temporary(s) && jt_backoff_wait(&b))
                continue;
            return s;
        }
        int what = edit(rec, ctx);
        if (what <= 0) {
            if (out != NULL && what == 0)
                *out = json_incref(rec);
            json_decref(rec);
            return what == 0 ? JT_OK
                             : jt_error_set(err, JT_ERR_PROTOCOL, batch_id,
                                            "batch %s cannot change that way now", batch_id);
        }
        json_t *stamp = jt_task_record_new(batch_id, JT_TASK_QUEUED);
        json_object_set(rec, "updated_at", json_object_get(stamp, "updated_at"));
        json_decref(stamp);
        char *text = json_dumps(rec, JSON_COMPACT);
        if (text == NULL) {
            json_decref(rec);
            return jt_error_set(err, JT_ERR_NOMEM, batch_id, "cannot serialise batch %s", batch_id);
        }
        uint64_t nrev = 0;
        natsStatus ns = kvStore_Update(&nrev, bus->batches, key, text, (int)strlen(text), rev);
        free(text);
        if (ns == NATS_OK) {
            if (out != NULL)
                *out = rec;
            else
                json_decref(rec);
            return JT_OK;
        }
        json_decref(rec);
        if (ns == NATS_ERR) { /* someone wrote since rev: read again */
            attempt++;
            continue;
        }
        s = nats_error(err, ns, "update batch", batch_id);
        if (!jt_status_temporary(s) || !jt_backoff_wait(&b))
            return s;
    }
    return jt_error_set(err, JT_ERR_PROTOCOL, batch_id,
                        "batch %s kept changing under %d attempts to update it", batch_id,
                        UPDATE_ATTEMPTS);
}

jt_status_t jt_batch_load_job(jt_bus_t *bus, const char *batch_id, size_t i, const json_t *record,
                              jt_job_t *job, jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    if (!batch_key(key, sizeof key, batch_id, "problem", -1))
        return invalid_id(err);
    json_t *cand = json_array_get(json_object_get(record, "candidates"), i);
    const char *cid = json_string_value(json_object_get(cand, "candidate_id"));
    if (cid == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "index", "batch %s has no candidate %zu", batch_id,
                            i);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, bus->batches, key);
    if (s != NATS_OK)
        return nats_error(err, s, "read", key);
    jt_status_t st = jt_job_from_msgpack(job, kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), err);
    kvEntry_Destroy(e);
    if (st != JT_OK)
        return st;
    size_t len = 0;
    char *code = NULL;
    char *id = strdup(cid);
    st = id == NULL ? jt_error_set(err, JT_ERR_NOMEM, key, "out of memory")
                    : jt_batch_load_code(bus, batch_id, i, &code, &len, err);
    if (st != JT_OK) {
        free(id);
        jt_job_cleanup(job);
        return st;
    }
    free(job->candidate_code);
    job->candidate_code = code;
    job->candidate_code_len = len;
    free(job->candidate_id);
    job->candidate_id = id;
    return JT_OK;
}

jt_status_t jt_batch_load_code(jt_bus_t *bus, const char *batch_id, size_t i, char **code,
                               size_t *len, jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    if (!batch_key(key, sizeof key, batch_id, "code", (long)i))
        return invalid_id(err);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, bus->batches, key);
    if (s != NATS_OK)
        return nats_error(err, s, "read", key);
    size_t n = (size_t)kvEntry_ValueLen(e);
    char *c = malloc(n + 1);
    if (c == NULL) {
        kvEntry_Destroy(e);
        return jt_error_set(err, JT_ERR_NOMEM, key, "out of memory");
    }
    memcpy(c, kvEntry_Value(e), n);
    c[n] = '\0';
    kvEntry_Destroy(e);
    *code = c;
    *len = n;
    return JT_OK;
}

jt_status_t jt_batch_json_get(jt_bus_t *bus, const char *batch_id, const char *kind, size_t i,
                              json_t **value, jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    bool indexed = strcmp(kind, "result") != 0;
    if (!batch_key(key, sizeof key, batch_id, kind, indexed ? (long)i : -1))
        return invalid_id(err);
    return get_json(bus->batches, key, value, NULL, err);
}

jt_status_t jt_batch_json_put(jt_bus_t *bus, const char *batch_id, const char *kind, size_t i,
                              const json_t *value, bool create_only, jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    bool indexed = strcmp(kind, "result") != 0;
    if (!batch_key(key, sizeof key, batch_id, kind, indexed ? (long)i : -1))
        return invalid_id(err);
    return put_json(bus->batches, key, value, create_only, err);
}

jt_status_t jt_batch_cancel(jt_bus_t *bus, const char *batch_id, json_t **record, jt_error_t *err)
{
    char key[JT_BATCH_KEY_MAX];
    if (!jt_task_id_valid(batch_id))
        return invalid_id(err);
    json_t *rec = NULL;
    jt_status_t s = jt_batch_record_get(bus, batch_id, &rec, NULL, err);
    if (s != JT_OK)
        return s;
    json_decref(rec);
    snprintf(key, sizeof key, CANCEL_KEY_PREFIX "%s", batch_id);
    uint64_t rev = 0;
    natsStatus ns = kvStore_PutString(&rev, bus->cancels, key, "1");
    if (ns != NATS_OK)
        return nats_error(err, ns, "store the cancel of", batch_id);
    /* A block in flight stops at once: the worker's cancel subscription matches the id. */
    char subject[JT_BATCH_KEY_MAX + 32];
    snprintf(subject, sizeof subject, "%s%s", JT_SUBJECT_CANCEL_PREFIX, batch_id);
    natsConnection_Publish(bus->nc, subject, NULL, 0);
    set_status_t w = {"cancelled", "the batch was cancelled"};
    json_t *now = NULL;
    s = jt_batch_record_update(bus, batch_id, edit_status, &w, &now, err);
    if (s != JT_OK)
        return s;
    jt_batch_publish(bus, now);
    if (record != NULL)
        *record = now;
    else
        json_decref(now);
    return JT_OK;
}

bool jt_batch_cancel_requested(jt_bus_t *bus, const char *batch_id)
{
    char key[JT_BATCH_KEY_MAX];
    snprintf(key, sizeof key, CANCEL_KEY_PREFIX "%s", batch_id);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, bus->cancels, key);
    kvEntry_Destroy(e);
    return s == NATS_OK;
}

void jt_batch_publish(jt_bus_t *bus, const json_t *record)
{
    const char *id = json_string_value(json_object_get(record, "batch_id"));
    const char *status = json_string_value(json_object_get(record, "status"));
    if (id == NULL || !jt_task_id_valid(id))
        return;
    jt_blob_t blob = {0};
    jt_error_t err;
    if (jt_value_from_json(record, "record", &blob, &err) != JT_OK) {
        jt_log(JT_LOG_WARN, id, "cannot encode the batch record: %s", err.message);
        return;
    }
    char subject[JT_BATCH_KEY_MAX + 64];
    snprintf(subject, sizeof subject, "%s%s", JT_SUBJECT_BATCH_PROGRESS_PREFIX, id);
    natsConnection_Publish(bus->nc, subject, blob.data, (int)blob.len);
    if (jt_batch_record_final(record)) {
        snprintf(subject, sizeof subject, "%s%s", JT_SUBJECT_BATCH_RESULT_PREFIX, id);
        natsConnection_Publish(bus->nc, subject, blob.data, (int)blob.len);
        const char *url = json_string_value(json_object_get(record, "callback_url"));
        if (url != NULL && jt_webhook_enqueue(bus, "batch", id, status, url, &err) != JT_OK)
            jt_log(JT_LOG_WARN, id, "webhook not queued: %s", err.message);
    }
    jt_blob_free(&blob);
}

bool jt_batch_record_final(const json_t *record)
{
    int st = jt_task_status_parse(json_string_value(json_object_get(record, "status")));
    return st >= 0 && jt_task_status_final((jt_task_status_t)st);
}
