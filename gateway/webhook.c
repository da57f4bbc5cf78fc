/* webhook.c -- the webhook deliverer: fetch a queued delivery, judge, read the record, POST,
 * settle.
 *
 * Runs on JT_WEBHOOK_THREADS delivery threads of its own (deliver_main), each with its own pull
 * subscription: nats.c's Fetch must not be called concurrently on one subscription.
 */
#include "webhook.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bus_names.h"
#include "callback_url.h"
#include "clock.h"
#include "log.h"
#include "nats_status.h"
#include "retry.h"
#include "subscription.h"
#include "task_state.h"
#include "webhook_post.h"
#include "webhook_queue.h"

#define FETCH_WAIT_MS 1000
#define FETCH_ERROR_PAUSE_MAX_MS 5000
#define URL_TEXT_MAX (JT_CALLBACK_URL_MAX + 64)
#define BATCH_KEY_MAX (JT_TASK_ID_MAX + 16)
/* A delivery handed back by a stopping gateway waits this long: not long enough for this
 * gateway's other threads to take it again before they end, so another gateway takes it. */
#define HANDBACK_DELAY_MS 2000

struct jt_webhook {
    jt_bus_t *bus;
    char allow_list[JT_CALLBACK_ALLOW_MAX + 1];
    jt_webhook_secret_t secret;
    long backoff_ms;
    atomic_bool stop;
    pthread_t threads[JT_WEBHOOK_THREADS];
    int n_threads;
};

/* What one attempt ended with, for the state and the settlement. */
typedef struct {
    const char *state; /* delivering | delivered | retrying | failed | refused */
    long status;       /* HTTP status, 0: none */
    char error[512];   /* "" when none */
    long delay_ms;     /* retrying: the wait before the next attempt */
} outcome_t;

long jt_webhook_backoff_ms(long base_ms, int attempt, uint64_t random)
{
    long cap = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < attempt && cap < JT_WEBHOOK_BACKOFF_CAP_MS; i++)
        cap *= 2;
    if (cap > JT_WEBHOOK_BACKOFF_CAP_MS)
        cap = JT_WEBHOOK_BACKOFF_CAP_MS;
    return (long)(random % (uint64_t)(cap + 1));
}

/* Sleep ms in slices, returning early once the deliverer stops. */
static void pause_ms(jt_webhook_t *w, long ms)
{
    while (ms > 0 && !atomic_load(&w->stop)) {
        long slice = ms < 100 ? ms : 100;
        jt_clock_sleep((double)slice / 1000.0);
        ms -= slice;
    }
}

static uint64_t next_random(uint64_t *seed)
{
    /* xorshift64*: jitter needs spread, not secrecy */
    uint64_t x = *seed;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *seed = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void iso_after_ms(char *buf, size_t len, long ms)
{
    double at = jt_clock_unix() + (double)ms / 1000.0;
    time_t secs = (time_t)at;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", base, (int)((at - (double)secs) * 1000.0) % 1000);
}

/* Write the state of m after an attempt (attempts n) ended with o. Best effort: logged. */
static void store_state(jt_webhook_t *w, const jt_webhook_msg_t *m, int attempts,
                        const outcome_t *o)
{
    char now[JT_CLOCK_ISO_MAX], next[JT_CLOCK_ISO_MAX];
    jt_clock_utc_iso(now, sizeof now);
    json_t *st = json_pack("{s:s, s:s, s:s, s:i}", "url", m->url, "event", m->event, "state",
                           o->state, "attempts", attempts);
    if (st == NULL)
        return;
    json_object_set_new(st, "last_status", o->status > 0 ? json_integer(o->status) : json_null());
    json_object_set_new(st, "last_error", o->error[0] ? json_string(o->error) : json_null());
    json_object_set_new(st, "queued_at", m->queued_at[0] ? json_string(m->queued_at) : json_null());
    json_object_set_new(st, "last_attempt_at", attempts > 0 ? json_string(now) : json_null());
    if (strcmp(o->state, "retrying") == 0) {
        iso_after_ms(next, sizeof next, o->delay_ms);
        json_object_set_new(st, "next_attempt_at", json_string(next));
    } else {
        json_object_set_new(st, "next_attempt_at", json_null());
    }
    json_object_set_new(st, "delivered_at",
                        strcmp(o->state, "delivered") == 0 ? json_string(now) : json_null());
    jt_error_t err;
    if (jt_webhook_state_put(w->bus, m->kind, m->id, st, &err) != JT_OK)
        jt_log(JT_LOG_WARN, m->id, "webhook state not stored: %s", err.message);
    json_decref(st);
}

/* A JSON value stored in the batches bucket under key, or NULL. */
static json_t *batch_value(jt_webhook_t *w, const char *key)
{
    kvEntry *e = NULL;
    if (w->bus->batches == NULL || kvStore_Get(&e, w->bus->batches, key) != NATS_OK)
        return NULL;
    json_t *v =
        json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), JSON_REJECT_DUPLICATES, NULL);
    kvEntry_Destroy(e);
    return v;
}

/* The record to POST: the task's record, or the batch's with its ranking under "result" once
 * there is one (batch_state.h). NULL with why set when it is missing, or not final yet for an
 * event that names a final status. */
static json_t *load_record(jt_webhook_t *w, const jt_webhook_msg_t *m, char *why, size_t len)
{
    json_t *rec = NULL;
    if (strcmp(m->kind, JT_WEBHOOK_KIND_TASK) == 0) {
        jt_error_t err;
        if (jt_task_get(w->bus->tasks, m->id, &rec, NULL, &err) != JT_OK) {
            snprintf(why, len, "cannot read the task record: %.400s", err.message);
            return NULL;
        }
    } else {
        char key[BATCH_KEY_MAX];
        rec = batch_value(w, m->id);
        if (!json_is_object(rec)) {
            json_decref(rec);
            snprintf(why, len, "cannot read the batch record %s", m->id);
            return NULL;
        }
        snprintf(key, sizeof key, "%s.result", m->id);
        json_t *result = batch_value(w, key);
        if (result != NULL)
            json_object_set_new(rec, "result", result);
    }
    /* A final event ("completed", ...) waits for the record to say so; a milestone does not. */
    int event = jt_task_status_parse(m->event);
    int st = jt_task_status_parse(json_string_value(json_object_get(rec, "status")));
    if (event >= 0 && jt_task_status_final((jt_task_status_t)event) &&
        (st < 0 || !jt_task_status_final((jt_task_status_t)st))) {
        snprintf(why, len, "the %s record is not final yet", m->kind);
        json_decref(rec);
        return NULL;
    }
    return rec;
}

/* POST the record to the canonical url; fills o (delivered, or an error to retry). */
static void post_record(jt_webhook_t *w, const jt_webhook_msg_t *m, int attempt, const char *url,
                        const json_t *rec, outcome_t *o)
{
    char *body = json_dumps(rec, JSON_COMPACT);
    if (body == NULL) {
        snprintf(o->error, sizeof o->error, "out of memory");
        return;
    }
    char stamp[32], sig[JT_WEBHOOK_SIGNATURE_MAX];
    char h_event[64], h_delivery[64 + JT_WEBHOOK_DELIVERY_ID_MAX], h_stamp[64], h_sig[128],
        h_attempt[64];
    size_t len = strlen(body);
    snprintf(stamp, sizeof stamp, "%lld", (long long)time(NULL));
    if (!jt_webhook_sign(&w->secret, stamp, body, len, sig)) {
        snprintf(o->error, sizeof o->error, "cannot sign the body");
        free(body);
        return;
    }
    snprintf(h_event, sizeof h_event, "X-JouleTrace-Event: %s", m->event);
    snprintf(h_delivery, sizeof h_delivery, "X-JouleTrace-Delivery: %s.%s.%s", m->kind, m->id,
             m->event);
    snprintf(h_stamp, sizeof h_stamp, "X-JouleTrace-Timestamp: %s", stamp);
    snprintf(h_sig, sizeof h_sig, "X-JouleTrace-Signature: %s", sig);
    snprintf(h_attempt, sizeof h_attempt, "X-JouleTrace-Attempt: %d", attempt);
    const char *headers[] = {h_event, h_delivery, h_stamp, h_sig, h_attempt, NULL};
    jt_webhook_response_t r;
    bool ok = jt_webhook_post(url, headers, body, len, &w->stop, &r);
    free(body);
    o->status = r.status;
    if (ok)
        o->state = "delivered";
    else if (r.status != 0)
        snprintf(o->error, sizeof o->error, "HTTP %ld%s%s", r.status, r.error[0] ? ": " : "",
                 r.error);
    else
        snprintf(o->error, sizeof o->error, "%s", r.error);
}

/* Ack (the delivery is over) or nak after delay_ms; an answer lost is left to AckWait. */
static void settle(const jt_webhook_msg_t *m, natsMsg *msg, bool over, long delay_ms)
{
    jsErrCode jerr = 0;
    natsStatus s = over ? natsMsg_AckSync(msg, NULL, &jerr)
                        : natsMsg_NakWithDelay(msg, delay_ms > 0 ? delay_ms : 1, NULL);
    if (s != NATS_OK) {
        char why[256];
        jt_log(JT_LOG_WARN, m->id, "webhook %s.%s: settling failed (%s); JetStream redelivers it",
               m->kind, m->event, jt_nats_describe(s, why, sizeof why));
    }
}

static void deliver(jt_webhook_t *w, natsMsg *msg, uint64_t *seed)
{
    jt_webhook_msg_t *m = calloc(1, sizeof *m);
    char *url = malloc(URL_TEXT_MAX);
    jt_error_t err;
    int attempt = 1;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        attempt = (int)meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    if (m == NULL || url == NULL) {
        natsMsg_NakWithDelay(msg, 1000, NULL);
        goto out;
    }
    if (jt_webhook_msg_decode(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), m, &err) !=
        JT_OK) {
        jt_log_warn("webhook message dropped: %s", err.message);
        natsMsg_AckSync(msg, NULL, NULL); /* out of the work queue: it can never be delivered */
        goto out;
    }
    if (atomic_load(&w->stop)) { /* fetched as the gateway stops: not attempted */
        natsMsg_NakWithDelay(msg, HANDBACK_DELAY_MS, NULL);
        goto out;
    }
    outcome_t o = {.state = "retrying"};
    json_t *rec = NULL;
    if (jt_callback_url_check_canonical(w->allow_list, m->url, url, URL_TEXT_MAX, &err) != JT_OK) {
        o.state = "refused";
        snprintf(o.error, sizeof o.error, "%s", err.message);
    } else if (!w->secret.set) {
        o.state = "refused";
        snprintf(o.error, sizeof o.error, "no signing secret (%s)", JT_WEBHOOK_SECRET_ENV);
    } else if ((rec = load_record(w, m, o.error, sizeof o.error)) != NULL) {
        outcome_t now = {.state = "delivering"};
        store_state(w, m, attempt, &now);
        post_record(w, m, attempt, url, rec, &o);
        json_decref(rec);
    }
    bool over = strcmp(o.state, "retrying") != 0;
    if (!over && attempt >= JT_WEBHOOK_MAX_DELIVER) {
        o.state = "failed"; /* JetStream would not deliver it again */
        over = true;
    } else if (!over && atomic_load(&w->stop) && o.status == 0) {
        o.delay_ms = HANDBACK_DELAY_MS; /* cut short by the stop: for another gateway */
    } else if (!over) {
        o.delay_ms = jt_webhook_backoff_ms(w->backoff_ms, attempt, next_random(seed));
    }
    store_state(w, m, attempt, &o);
    settle(m, msg, over, o.delay_ms);
    jt_log(strcmp(o.state, "delivered") == 0 ? JT_LOG_INFO : JT_LOG_WARN, m->id,
           "webhook %s.%s.%s attempt %d: %s%s%s", m->kind, m->id, m->event, attempt, o.state,
           o.error[0] ? ": " : "", o.error);
out:
    free(url);
    free(m);
}

/* Bind this thread's pull subscription to the shared durable; NULL once stopping. */
static natsSubscription *bind(jt_webhook_t *w)
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = JT_STREAM_WEBHOOKS;
    so.Consumer = JT_CONSUMER_WEBHOOKS;
    long pause = 250;
    bool warned = false;
    while (!atomic_load(&w->stop)) {
        jsErrCode jerr = 0;
        natsStatus s = js_PullSubscribe(&sub, w->bus->js, JT_SUBJECT_WEBHOOKS, JT_CONSUMER_WEBHOOKS,
                                        NULL, &so, &jerr);
        if (s == NATS_OK)
            return sub;
        if (!warned) {
            char why[256];
            jt_log_warn("webhooks: cannot bind consumer %s yet: %s (jerr %d); retrying",
                        JT_CONSUMER_WEBHOOKS, jt_nats_describe(s, why, sizeof why), (int)jerr);
            warned = true;
        }
        pause_ms(w, pause);
        pause = pause * 2 > FETCH_ERROR_PAUSE_MAX_MS ? FETCH_ERROR_PAUSE_MAX_MS : pause * 2;
    }
    return NULL;
}

static void *deliver_main(void *arg)
{
    jt_webhook_t *w = arg;
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed || seed == 0)
        seed = (uint64_t)jt_clock_now_ns() | 1;
    natsSubscription *sub = bind(w);
    long pause = 250;
    while (sub != NULL && !atomic_load(&w->stop)) {
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&list, sub, 1, FETCH_WAIT_MS, &jerr);
        if (s == NATS_TIMEOUT)
            continue;
        if (s != NATS_OK) {
            pause_ms(w, pause);
            pause = pause * 2 > FETCH_ERROR_PAUSE_MAX_MS ? FETCH_ERROR_PAUSE_MAX_MS : pause * 2;
            continue;
        }
        pause = 250;
        for (int i = 0; i < list.Count; i++)
            deliver(w, list.Msgs[i], &seed);
        natsMsgList_Destroy(&list);
    }
    if (sub != NULL)
        jt_subscription_retire(w->bus->nc, sub);
    return NULL;
}

jt_status_t jt_webhook_start(jt_webhook_t **out, jt_bus_t *bus, const jt_webhook_settings_t *s)
{
    jt_webhook_t *w = calloc(1, sizeof *w);
    if (w == NULL)
        return JT_ERR_NOMEM;
    w->bus = bus;
    snprintf(w->allow_list, sizeof w->allow_list, "%s", s->allow_list ? s->allow_list : "");
    if (s->secret != NULL)
        w->secret = *s->secret;
    w->backoff_ms = s->backoff_ms > 0 ? s->backoff_ms : 1000;
    atomic_init(&w->stop, false);
    for (int i = 0; i < JT_WEBHOOK_THREADS; i++) {
        if (pthread_create(&w->threads[i], NULL, deliver_main, w) != 0) {
            jt_webhook_stop(w);
            return JT_ERR_SYSTEM;
        }
        w->n_threads++;
    }
    *out = w;
    return JT_OK;
}

void jt_webhook_stop(jt_webhook_t *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, true);
    for (int i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    jt_webhook_secret_wipe(&w->secret);
    free(w);
}
