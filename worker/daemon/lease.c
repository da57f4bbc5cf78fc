/* lease.c -- measurement-domain lease on a JetStream KV key: create, CAS renew, conditional delete.
 */
#include "lease.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"
#include "clock.h"
#include "log.h"
#include "nats_status.h"
#include "retry.h"

#define HOLDER_MAX 128
#define WATCH_RETRY_FIRST_MS 1000 /* a refused watch is tried again after this, doubling */
#define WATCH_RETRY_MAX_MS 30000
#define NATS_TROUBLE_WAIT_MAX_MS 2000 /* acquiring: back-off cap while NATS itself fails */
#define TASK_MAX 160
/* Without a confirmed renewal for this long the lease counts as lost: the
 * bucket TTL may end it while our writes are stuck, and another worker would
 * then measure beside us. */
#define LOST_AFTER_NS (JT_LEASE_TTL_NS / 2)

struct jt_lease {
    pthread_mutex_t lock;
    jsCtx *js;
    kvStore *kv;
    char key[JT_LEASE_KEY_MAX];
    char subject[JT_LEASE_KEY_MAX + 80]; /* $KV.<bucket>.<key> */
    char holder[HOLDER_MAX];
    /* watch state, used by the one thread that acquires */
    int64_t watch_retry_ns; /* monotonic time before which no new watch is tried (0: now) */
    int watch_backoff_ms;   /* the next pause after a refused watch */
    /* under lock */
    bool held;
    uint64_t rev;       /* of our last write */
    int64_t last_ok_ns; /* monotonic time of our last confirmed write */
    char *value;        /* JSON written on acquire and renew */
};

void jt_lease_key(char *buf, size_t len, const char *host, int socket)
{
    char clean[96];
    size_t n = 0;
    for (const char *p = host ? host : ""; *p != '\0' && n + 1 < sizeof clean; p++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        clean[n++] = ok ? c : '_';
    }
    clean[n] = '\0';
    snprintf(buf, len, "%s.socket%d", n ? clean : "host", socket);
}

static bool valid_key(const char *key)
{
    if (key == NULL || key[0] == '\0' || key[0] == '.' || strlen(key) >= JT_LEASE_KEY_MAX)
        return false;
    for (const char *p = key; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '/' || c == '='))
            return false;
    }
    return key[strlen(key) - 1] != '.';
}

jt_status_t jt_lease_create(jsCtx *js, kvStore *kv, const char *key, const char *holder,
                            jt_lease_t **out, jt_error_t *err)
{
    if (js == NULL || kv == NULL || holder == NULL)
        return jt_error_set(err, JT_ERR_INVALID, "lease", "no JetStream context, bucket or holder");
    if (!valid_key(key))
        return jt_error_set(err, JT_ERR_INVALID, "lease", "invalid lease key '%s'", key ? key : "");
    jt_lease_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "lease", "out of memory");
    pthread_mutex_init(&l->lock, NULL);
    l->watch_backoff_ms = WATCH_RETRY_FIRST_MS;
    l->js = js;
    l->kv = kv;
    snprintf(l->key, sizeof l->key, "%s", key);
    snprintf(l->holder, sizeof l->holder, "%s", holder);
    snprintf(l->subject, sizeof l->subject, "$KV.%s.%s", kvStore_Bucket(kv), key);
    *out = l;
    return JT_OK;
}

void jt_lease_destroy(jt_lease_t *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l->value);
    free(l);
}

static char *lease_value(const char *holder, const char *task_id)
{
    char now[40];
    jt_clock_utc_iso(now, sizeof now);
    json_t *v =
        json_pack("{s:s, s:s?, s:s}", "holder", holder, "task_id", task_id, "acquired_at", now);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return text;
}

/* Take the lease: create-if-absent, or, when after_delete is the revision of
 * the delete marker a watcher just saw, one CAS write over it (saves the two
 * extra round trips kvStore_Create needs to find out about the marker). */
static jt_status_t try_acquire(jt_lease_t *l, const char *task_id, uint64_t after_delete,
                               jt_error_t *err)
{
    char why[300];
    pthread_mutex_lock(&l->lock);
    if (l->held) {
        pthread_mutex_unlock(&l->lock);
        return JT_OK;
    }
    char *value = lease_value(l->holder, task_id);
    if (value == NULL) {
        pthread_mutex_unlock(&l->lock);
        return jt_error_set(err, JT_ERR_NOMEM, "lease", "out of memory");
    }
    uint64_t rev = 0;
    natsStatus s =
        after_delete != 0
            ? kvStore_Update(&rev, l->kv, l->key, value, (int)strlen(value), after_delete)
            : kvStore_Create(&rev, l->kv, l->key, value, (int)strlen(value));
    jt_status_t st = JT_OK;
    if (s == NATS_OK) {
        l->held = true;
        l->rev = rev;
        l->last_ok_ns = jt_clock_now_ns();
        free(l->value);
        l->value = value;
        value = NULL;
    } else if (s == NATS_ERR) { /* the server refused the create: the key exists */
        st = jt_error_set(err, JT_ERR_PROTOCOL, "lease", "lease %s is held by another worker",
                          l->key);
    } else {
        st = jt_error_set(err, jt_nats_status(s), "lease", "cannot take lease %s: %s", l->key,
                          jt_nats_describe(s, why, sizeof why));
    }
    pthread_mutex_unlock(&l->lock);
    free(value);
    return st;
}

jt_status_t jt_lease_try_acquire(jt_lease_t *l, const char *task_id, jt_error_t *err)
{
    return try_acquire(l, task_id, 0, err);
}

/* A watch on the lease key, or NULL when it cannot be made now: then the reason is logged
 * truthfully and the next attempt waits, doubling from 1 s up to 30 s; waiters poll meanwhile. */
static kvWatcher *watch_key(jt_lease_t *l)
{
    kvWatcher *w = NULL;
    kvWatchOptions wo;
    char why[300];
    if (jt_clock_now_ns() < l->watch_retry_ns)
        return NULL;
    kvWatchOptions_Init(&wo);
    natsStatus s = kvStore_Watch(&w, l->kv, l->key, &wo);
    if (s == NATS_OK) {
        if (l->watch_retry_ns != 0)
            jt_log_info("watching lease %s again", l->key);
        l->watch_retry_ns = 0;
        l->watch_backoff_ms = WATCH_RETRY_FIRST_MS;
        return w;
    }
    jt_nats_describe(s, why, sizeof why);
    jt_log_warn("cannot watch lease %s: %s%s; polling every %d ms, next watch in %d s", l->key, why,
                s == NATS_NOT_PERMITTED ? " (the worker's NATS user may not create consumers on "
                                          "the KV_" JT_KV_LEASES " stream)"
                                        : "",
                JT_LEASE_POLL_MS, l->watch_backoff_ms / 1000);
    l->watch_retry_ns = jt_clock_now_ns() + (int64_t)l->watch_backoff_ms * 1000000;
    l->watch_backoff_ms =
        l->watch_backoff_ms * 2 > WATCH_RETRY_MAX_MS ? WATCH_RETRY_MAX_MS : l->watch_backoff_ms * 2;
    return NULL;
}

static void unwatch(kvWatcher *w)
{
    if (w != NULL) {
        kvWatcher_Stop(w);
        kvWatcher_Destroy(w);
    }
}

jt_status_t jt_lease_acquire(jt_lease_t *l, const char *task_id, int timeout_ms,
                             int (*stop)(void *ctx), void *ctx, jt_error_t *err)
{
    int64_t deadline =
        timeout_ms < 0 ? INT64_MAX : jt_clock_now_ns() + (int64_t)timeout_ms * 1000000;
    jt_status_t st = jt_lease_try_acquire(l, task_id, err);
    if (st == JT_OK)
        return JT_OK;
    /* Watch before the next attempt, so a release between the two cannot be missed. */
    kvWatcher *w = watch_key(l);
    uint64_t deleted_at = 0; /* revision of a delete marker the watcher delivered */
    int64_t trouble_ms = 0;  /* back-off while NATS itself fails (not: someone holds it) */
    bool trouble_logged = false;
    for (;;) {
        if (stop != NULL && stop(ctx)) {
            st = jt_error_set(err, JT_ERR_TIMEOUT, "lease", "stopped waiting for lease %s", l->key);
            break;
        }
        st = try_acquire(l, task_id, deleted_at, err);
        if (st != JT_OK && deleted_at != 0) /* someone was faster, or it changed again */
            st = try_acquire(l, task_id, 0, err);
        deleted_at = 0;
        if (st == JT_OK)
            break;
        if (st == JT_ERR_PROTOCOL) {
            trouble_ms = 0;
        } else { /* NATS trouble: back off instead of hammering a cluster without a leader */
            trouble_ms = trouble_ms == 0 ? 2 * JT_LEASE_POLL_MS : trouble_ms * 2;
            if (trouble_ms > NATS_TROUBLE_WAIT_MAX_MS)
                trouble_ms = NATS_TROUBLE_WAIT_MAX_MS;
            if (!trouble_logged)
                jt_log_warn("%s; retrying with back-off", err->message);
            trouble_logged = true;
        }
        int64_t now = jt_clock_now_ns();
        if (now >= deadline) {
            st = jt_error_set(err, JT_ERR_TIMEOUT, "lease", "lease %s still busy after %d ms",
                              l->key, timeout_ms);
            break;
        }
        int64_t wait_ms = trouble_ms > 0 ? trouble_ms : JT_LEASE_POLL_MS;
        if ((deadline - now) / 1000000 < wait_ms)
            wait_ms = (deadline - now) / 1000000 + 1;
        if (w == NULL)
            w = watch_key(l); /* a refused watch is tried again, with its own back-off */
        kvEntry *e = NULL;
        natsStatus ws =
            w != NULL && trouble_ms == 0 ? kvWatcher_Next(&e, w, wait_ms) : NATS_TIMEOUT;
        if (ws == NATS_OK && e != NULL && kvEntry_Operation(e) != kvOp_Put)
            deleted_at = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        if (ws != NATS_OK && ws != NATS_TIMEOUT) { /* the watch broke: make a new one later */
            unwatch(w);
            w = NULL;
        }
        if (w == NULL || trouble_ms > 0 || (ws != NATS_OK && ws != NATS_TIMEOUT)) {
            jt_clock_sleep((double)wait_ms / 1000.0);
        }
    }
    if (trouble_logged && st == JT_OK)
        jt_log_info("lease %s taken after NATS trouble", l->key);
    unwatch(w);
    return st;
}

jt_status_t jt_lease_renew(jt_lease_t *l, jt_error_t *err)
{
    char why[300];
    pthread_mutex_lock(&l->lock);
    if (!l->held) {
        pthread_mutex_unlock(&l->lock);
        return jt_error_set(err, JT_ERR_MISSING, "lease", "lease %s is not held", l->key);
    }
    uint64_t rev = 0;
    natsStatus s = kvStore_Update(&rev, l->kv, l->key, l->value, (int)strlen(l->value), l->rev);
    jt_status_t st = JT_OK;
    if (s == NATS_OK) {
        l->rev = rev;
        l->last_ok_ns = jt_clock_now_ns();
    } else if (s == NATS_ERR) {
        l->held = false;
        st =
            jt_error_set(err, JT_ERR_PROTOCOL, "lease", "lease %s lost (expired or taken over): %s",
                         l->key, jt_nats_describe(s, why, sizeof why));
    } else if (jt_clock_now_ns() - l->last_ok_ns >= LOST_AFTER_NS) {
        l->held = false;
        st = jt_error_set(err, JT_ERR_PROTOCOL, "lease",
                          "lease %s lost: no renewal confirmed for %.1f s (%s)", l->key,
                          (double)(jt_clock_now_ns() - l->last_ok_ns) / 1e9,
                          jt_nats_describe(s, why, sizeof why));
    } else {
        st = jt_error_set(err, jt_nats_status(s), "lease", "renewing lease %s failed: %s", l->key,
                          jt_nats_describe(s, why, sizeof why));
    }
    pthread_mutex_unlock(&l->lock);
    return st;
}

/* One conditional delete of the key: a KV delete marker expecting our last revision. */
static natsStatus publish_delete(jt_lease_t *l, uint64_t rev, jsErrCode *jerr)
{
    natsMsg *msg = NULL;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = rev;
    *jerr = 0;
    natsStatus s = natsMsg_Create(&msg, l->subject, NULL, NULL, 0);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    if (s == NATS_OK)
        s = js_PublishMsg(NULL, l->js, msg, &po, jerr);
    natsMsg_Destroy(msg);
    return s;
}

/* After a delete whose answer was lost: whether the key is gone now (our delete landed). */
static bool key_gone(jt_lease_t *l)
{
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, l->kv, l->key);
    kvEntry_Destroy(e);
    return s == NATS_NOT_FOUND;
}

jt_status_t jt_lease_release(jt_lease_t *l, jt_error_t *err)
{
    char why[300];
    pthread_mutex_lock(&l->lock);
    if (!l->held) {
        pthread_mutex_unlock(&l->lock);
        return jt_error_set(err, JT_ERR_MISSING, "lease", "lease %s is not held", l->key);
    }
    l->held = false;
    uint64_t rev = l->rev;
    l->rev = 0;
    pthread_mutex_unlock(&l->lock);

    /* Retried through an election for as long as the lease would live anyway: a release
     * that never lands makes the next measurement wait for the TTL. */
    const jt_retry_t policy = {.patience_ms = (int)(JT_LEASE_TTL_NS / 1000000)};
    jt_backoff_t b;
    jt_backoff_init(&b, &policy);
    jsErrCode jerr = 0;
    natsStatus s;
    while ((s = publish_delete(l, rev, &jerr)) != NATS_OK && jt_nats_temporary(s, jerr) &&
           jt_backoff_wait(&b))
        ;
    if (s == NATS_OK) {
        if (b.attempts > 0)
            jt_log_info("lease %s released after %.1f s of retries", l->key,
                        jt_backoff_elapsed(&b));
        return JT_OK;
    }
    if (jerr == JSStreamWrongLastSequenceErr || s == NATS_ERR) {
        if (b.attempts > 0 && key_gone(l))
            return JT_OK; /* an earlier attempt landed; only its answer was lost */
        return jt_error_set(err, JT_ERR_PROTOCOL, "lease",
                            "lease %s was no longer ours (revision %llu): left untouched", l->key,
                            (unsigned long long)rev);
    }
    return jt_error_set(err, jt_nats_status(s), "lease",
                        "releasing lease %s failed for %.1f s: %s (its TTL ends it)", l->key,
                        jt_backoff_elapsed(&b), jt_nats_describe(s, why, sizeof why));
}

bool jt_lease_held(jt_lease_t *l)
{
    pthread_mutex_lock(&l->lock);
    bool held = l->held;
    pthread_mutex_unlock(&l->lock);
    return held;
}

uint64_t jt_lease_revision(jt_lease_t *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t rev = l->held ? l->rev : 0;
    pthread_mutex_unlock(&l->lock);
    return rev;
}
