/* webhook.h -- the webhook deliverer: gateway threads that POST queued deliveries
 * (docs/webhooks.md).
 *
 * Each delivery thread binds its own pull subscription to the durable JT_CONSUMER_WEBHOOKS and
 * handles one message at a time (webhook_queue.h): it judges the URL against the allowlist
 * again (a direct NATS publisher may have queued any URL: state "refused"), reads the task's
 * or batch's current record, and POSTs it, signed (webhook_sign.h), with webhook_post.h. A 2xx
 * answer is "delivered" and acked; anything else is "retrying" and given back with
 * NakWithDelay after a back-off of full jitter, random in [0, min(5 min, base * 2^(n-1))] after
 * attempt n, until the JT_WEBHOOK_MAX_DELIVER-th attempt, which ends "failed" and is acked. The
 * state is written to the webhooks bucket before and after each attempt.
 *
 * The threads never touch civetweb: the HTTP server is never blocked by a slow receiver.
 * jt_webhook_start and jt_webhook_stop are called by one thread (main's, or the view thread's
 * on_connected); everything else runs on the delivery threads.
 */
#ifndef JT_GW_WEBHOOK_H
#define JT_GW_WEBHOOK_H

#include <stdint.h>

#include "bus.h"
#include "status.h"
#include "webhook_sign.h"

#define JT_WEBHOOK_THREADS 4              /* deliveries in flight per gateway */
#define JT_WEBHOOK_BACKOFF_CAP_MS 300000L /* the longest wait between two attempts */

typedef struct jt_webhook jt_webhook_t;

typedef struct {
    const char *allow_list;            /* JOULETRACE_CALLBACK_ALLOW (copied) */
    const jt_webhook_secret_t *secret; /* copied; unset: every delivery is refused unsent */
    long backoff_ms;                   /* JOULETRACE_CALLBACK_BACKOFF_MS: the first wait's cap */
} jt_webhook_settings_t;

/* Start JT_WEBHOOK_THREADS delivery threads on bus (borrowed: it must stay open until
 * jt_webhook_stop returned). JT_OK and *out, or JT_ERR_NOMEM / JT_ERR_SYSTEM (nothing runs). */
jt_status_t jt_webhook_start(jt_webhook_t **out, jt_bus_t *bus, const jt_webhook_settings_t *s);

/* Stop the threads (a request in flight is aborted within about a second and its message
 * given back), join them, wipe the secret and free everything. Safe on NULL. */
void jt_webhook_stop(jt_webhook_t *w);

/* The wait after attempt n (1-based) with first wait cap base_ms: full jitter,
 * random % (min(JT_WEBHOOK_BACKOFF_CAP_MS, base_ms * 2^(n-1)) + 1). Pure. */
long jt_webhook_backoff_ms(long base_ms, int attempt, uint64_t random);

#endif
