/* webhook_queue.c -- webhook deliveries queued on the webhooks stream (msgpack), their state in KV.
 */
#include "webhook_queue.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_names.h"
#include "log.h"
#include "nats_status.h"
#include "retry.h"
#include "unpack.h"
#include "value.h"

#define PUBLISH_WAIT_MS 5000 /* one publish's wait for its acknowledgement */

static bool kind_valid(const char *kind)
{
    return kind != NULL &&
           (strcmp(kind, JT_WEBHOOK_KIND_TASK) == 0 || strcmp(kind, JT_WEBHOOK_KIND_BATCH) == 0);
}

static bool event_valid(const char *event)
{
    if (event == NULL || event[0] == '\0' || strlen(event) > JT_WEBHOOK_EVENT_MAX)
        return false;
    for (const char *p = event; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return false;
    return true;
}

bool jt_webhook_names_valid(const char *kind, const char *id, const char *event)
{
    return kind_valid(kind) && jt_task_id_valid(id) && event_valid(event);
}

bool jt_webhook_key(char *buf, size_t len, const char *kind, const char *id)
{
    if (!kind_valid(kind) || !jt_task_id_valid(id))
        return false;
    int n = snprintf(buf, len, "%s.%s", kind, id);
    return n > 0 && (size_t)n < len;
}

json_t *jt_webhook_state_get(jt_bus_t *bus, const char *kind, const char *id)
{
    char key[JT_WEBHOOK_KEY_MAX];
    kvEntry *e = NULL;
    if (bus == NULL || bus->webhooks == NULL || !jt_webhook_key(key, sizeof key, kind, id))
        return NULL;
    if (kvStore_Get(&e, bus->webhooks, key) != NATS_OK)
        return NULL;
    json_t *v =
        json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), JSON_REJECT_DUPLICATES, NULL);
    kvEntry_Destroy(e);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

jt_status_t jt_webhook_state_put(jt_bus_t *bus, const char *kind, const char *id,
                                 const json_t *state, jt_error_t *err)
{
    char key[JT_WEBHOOK_KEY_MAX], why[256];
    if (bus == NULL || bus->webhooks == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "webhooks", "no webhooks bucket");
    if (!jt_webhook_key(key, sizeof key, kind, id) || !json_is_object(state))
        return jt_error_set(err, JT_ERR_INVALID, "webhooks", "bad webhook state key or value");
    char *text = json_dumps(state, JSON_COMPACT);
    if (text == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, key, "out of memory");
    natsStatus s = kvStore_Put(NULL, bus->webhooks, key, text, (int)strlen(text));
    free(text);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    return jt_error_set(err, jt_nats_status(s), key, "cannot store webhook state %s: %s", key, why);
}

/* The first state of a delivery. */
static json_t *queued_state(const char *event, const char *url, const char *queued_at)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:n, s:n, s:s, s:n, s:n, s:n}", "url", url, "event",
                     event, "state", "queued", "attempts", 0, "last_status", "last_error",
                     "queued_at", queued_at, "last_attempt_at", "next_attempt_at", "delivered_at");
}

/* State "queued" unless the stored state already names this event (a repeated enqueue). */
static void mark_queued(jt_bus_t *bus, const char *kind, const char *id, const char *event,
                        const char *url, const char *queued_at)
{
    json_t *old = jt_webhook_state_get(bus, kind, id);
    const char *old_event = json_string_value(json_object_get(old, "event"));
    bool same = old_event != NULL && strcmp(old_event, event) == 0;
    json_decref(old);
    if (same)
        return;
    json_t *state = queued_state(event, url, queued_at);
    jt_error_t err;
    if (state == NULL || jt_webhook_state_put(bus, kind, id, state, &err) != JT_OK)
        jt_log(JT_LOG_WARN, id, "webhook state not stored (%s)",
               state == NULL ? "out of memory" : err.message);
    json_decref(state);
}

/* The message: msgpack {kind, id, event, url, queued_at}. */
static jt_status_t encode(const char *kind, const char *id, const char *event, const char *url,
                          const char *queued_at, jt_blob_t *out, jt_error_t *err)
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", kind, "id", id, "event", event,
                          "url", url, "queued_at", queued_at);
    if (m == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "webhook", "out of memory");
    jt_status_t st = jt_value_from_json(m, "", out, err);
    json_decref(m);
    return st;
}

typedef struct {
    jt_bus_t *bus;
    const char *msg_id;
    const jt_blob_t *data;
} publish_ctx_t;

static jt_status_t publish_once(void *arg, jt_error_t *err)
{
    publish_ctx_t *c = arg;
    jsPubOptions po;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    char why[256];
    jsPubOptions_Init(&po);
    po.MsgId = c->msg_id;
    po.MaxWait = PUBLISH_WAIT_MS;
    natsStatus s = js_Publish(&ack, c->bus->js, JT_SUBJECT_WEBHOOKS, c->data->data,
                              (int)c->data->len, &po, &jerr);
    jsPubAck_Destroy(ack);
    if (s == NATS_OK)
        return JT_OK;
    jt_nats_describe(s, why, sizeof why);
    /* A refusal by JetStream itself (the stream is full, ...) does not pass with time. */
    jt_status_t st = jt_nats_temporary(s, jerr) ? JT_ERR_TIMEOUT
                     : jerr != 0                ? JT_ERR_PROTOCOL
                                                : JT_ERR_IO;
    return jt_error_set(err, st, c->msg_id, "cannot queue webhook %s: %s (jerr %d)", c->msg_id, why,
                        (int)jerr);
}

jt_status_t jt_webhook_enqueue(jt_bus_t *bus, const char *kind, const char *id, const char *event,
                               const char *url, jt_error_t *err)
{
    char msg_id[JT_WEBHOOK_DELIVERY_ID_MAX], now[JT_CLOCK_ISO_MAX];
    if (bus == NULL || bus->js == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "webhook", "no bus");
    if (!jt_webhook_names_valid(kind, id, event))
        return jt_error_set(err, JT_ERR_INVALID, "webhook", "bad webhook kind, id or event");
    if (url == NULL || url[0] == '\0' ||
        strnlen(url, JT_MAX_CALLBACK_URL_BYTES + 1) > JT_MAX_CALLBACK_URL_BYTES)
        return jt_error_set(err, JT_ERR_INVALID, "callback_url", "callback_url must be 1..%u bytes",
                            JT_MAX_CALLBACK_URL_BYTES);
    snprintf(msg_id, sizeof msg_id, "%s.%s.%s", kind, id, event);
    jt_clock_utc_iso(now, sizeof now);

    jt_blob_t data = {NULL, 0};
    jt_status_t st = encode(kind, id, event, url, now, &data, err);
    if (st != JT_OK)
        return st;
    mark_queued(bus, kind, id, event, url, now);
    const jt_retry_t policy = {.patience_ms = JT_WEBHOOK_ENQUEUE_PATIENCE_MS};
    publish_ctx_t ctx = {bus, msg_id, &data};
    st = jt_retry_run(&policy, id, "webhook queued", publish_once, &ctx, err);
    jt_blob_free(&data);
    if (st == JT_OK)
        return JT_OK;
    json_t *state = queued_state(event, url, now);
    if (state != NULL) {
        json_object_set_new(state, "state", json_string("failed"));
        json_object_set_new(state, "last_error", json_string(err->message));
        jt_error_t ignored;
        jt_webhook_state_put(bus, kind, id, state, &ignored);
        json_decref(state);
    }
    return st;
}

/* The string field name of the object j into dst (cap bytes); false when absent or too long. */
static bool copy_field(const json_t *j, const char *name, char *dst, size_t cap)
{
    const char *v = json_string_value(json_object_get(j, name));
    if (v == NULL)
        return false;
    size_t n = strlen(v);
    if (n >= cap)
        return false;
    memcpy(dst, v, n + 1);
    return true;
}

jt_status_t jt_webhook_msg_decode(const void *data, size_t len, jt_webhook_msg_t *m,
                                  jt_error_t *err)
{
    if (data == NULL || len == 0)
        return jt_error_set(err, JT_ERR_INVALID, "", "empty webhook message");
    if (len > JT_WEBHOOK_MSG_MAX_BYTES)
        return jt_error_set(err, JT_ERR_TOO_LARGE, "", "webhook message of %zu bytes (max %d)", len,
                            JT_WEBHOOK_MSG_MAX_BYTES);
    msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (zone == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    msgpack_object root;
    json_t *j = NULL;
    jt_status_t st = jt_unpack_value(data, len, zone, &root, err);
    if (st == JT_OK && (j = jt_value_to_json(&root, err)) == NULL)
        st = JT_ERR_INVALID;
    msgpack_zone_free(zone);
    if (st != JT_OK)
        return st;
    memset(m, 0, sizeof *m);
    bool ok = json_is_object(j) && copy_field(j, "kind", m->kind, sizeof m->kind) &&
              copy_field(j, "id", m->id, sizeof m->id) &&
              copy_field(j, "event", m->event, sizeof m->event) &&
              copy_field(j, "url", m->url, sizeof m->url);
    if (ok && !copy_field(j, "queued_at", m->queued_at, sizeof m->queued_at))
        m->queued_at[0] = '\0';
    json_decref(j);
    if (!ok || !jt_webhook_names_valid(m->kind, m->id, m->event) || m->url[0] == '\0')
        return jt_error_set(err, JT_ERR_INVALID, "",
                            "a webhook message is a map {kind: task|batch, id, event, url, "
                            "queued_at} of strings");
    return JT_OK;
}
