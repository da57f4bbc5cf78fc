/* webhook_queue.h -- webhook deliveries: one message per event on the webhooks stream, state in KV.
 *
 * A delivery is a msgpack map {kind, id, event, url, queued_at} published on JT_SUBJECT_WEBHOOKS
 * (stream JT_STREAM_WEBHOOKS, a work queue read by the gateways' JT_CONSUMER_WEBHOOKS) with
 * Nats-Msg-Id "<kind>.<id>.<event>", so the same event queued twice within the stream's
 * duplicate window is delivered once. Its state lives in the JT_KV_WEBHOOKS bucket under
 * "<kind>.<id>" as JSON:
 *   {"url", "event", "state", "attempts", "last_status", "last_error", "queued_at",
 *    "last_attempt_at", "next_attempt_at", "delivered_at"}
 * state: queued | delivering | delivered | retrying | failed | refused (docs/webhooks.md);
 * times are UTC ISO 8601, absent values null. kind is "task" or "batch", id a task id
 * (task_id.h), event 1..31 of [a-z_] ("completed", "failed", "cancelled", ...).
 * Any thread may call these functions.
 */
#ifndef JT_WEBHOOK_QUEUE_H
#define JT_WEBHOOK_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "clock.h"
#include "job.h"
#include "status.h"
#include "task_id.h"

#define JT_WEBHOOK_KIND_TASK "task"
#define JT_WEBHOOK_KIND_BATCH "batch"
#define JT_WEBHOOK_EVENT_MAX 31
#define JT_WEBHOOK_KEY_MAX (8 + JT_TASK_ID_MAX) /* "<kind>.<id>" + NUL */
#define JT_WEBHOOK_DELIVERY_ID_MAX (JT_WEBHOOK_KEY_MAX + JT_WEBHOOK_EVENT_MAX + 1) /* +".<event>"  \
                                                                                    */
#define JT_WEBHOOK_MSG_MAX_BYTES 8192        /* an encoded delivery; larger ones are refused */
#define JT_WEBHOOK_ENQUEUE_PATIENCE_MS 10000 /* how long an enqueue retries a busy JetStream */

/* One decoded delivery message. */
typedef struct {
    char kind[8];
    char id[JT_TASK_ID_MAX + 1];
    char event[JT_WEBHOOK_EVENT_MAX + 1];
    char url[JT_MAX_CALLBACK_URL_BYTES + 1]; /* as the submitter gave it (not yet judged) */
    char queued_at[JT_CLOCK_ISO_MAX];
} jt_webhook_msg_t;

/* Whether kind, id and event are well formed (see above). */
bool jt_webhook_names_valid(const char *kind, const char *id, const char *event);

/* "<kind>.<id>" into buf (at least JT_WEBHOOK_KEY_MAX bytes); false when kind or id is invalid. */
bool jt_webhook_key(char *buf, size_t len, const char *kind, const char *id);

/* Queue one delivery of event for (kind, id) to url: writes the state "queued" (unless the
 * state already names this event: a repeated enqueue leaves it as it is), then publishes the
 * message with the JetStream acknowledgement, retrying temporary failures for
 * JT_WEBHOOK_ENQUEUE_PATIENCE_MS. JT_OK once JetStream stored it (or recognised a duplicate);
 * JT_ERR_INVALID for bad names or a url that is empty or longer than
 * JT_MAX_CALLBACK_URL_BYTES (nothing written); else the bus error, after the state was set to
 * "failed" with the reason (best effort). The url is judged by the deliverer, not here. */
jt_status_t jt_webhook_enqueue(jt_bus_t *bus, const char *kind, const char *id, const char *event,
                               const char *url, jt_error_t *err);

/* Decode a delivery message (data, len bytes from the stream) into *m. JT_OK, or
 * JT_ERR_INVALID / JT_ERR_TOO_LARGE with err saying why (the message is then poison). */
jt_status_t jt_webhook_msg_decode(const void *data, size_t len, jt_webhook_msg_t *m,
                                  jt_error_t *err);

/* The delivery state stored at "<kind>.<id>" (new reference), or NULL when there is none, it
 * is unreadable, or the bus is down. */
json_t *jt_webhook_state_get(jt_bus_t *bus, const char *kind, const char *id);

/* Store state (not consumed; a JSON object) at "<kind>.<id>". JT_OK or the bus error. */
jt_status_t jt_webhook_state_put(jt_bus_t *bus, const char *kind, const char *id,
                                 const json_t *state, jt_error_t *err);

#endif
