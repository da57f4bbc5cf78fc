/* view.c -- background thread: connect the bus, then poll queue depth and worker heartbeats.
 *
 * Runs one pthread ("view thread"); snapshot fields are published under a
 * mutex (worker list) or as atomics (counts) for request threads.
 */
#include "view.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_names.h"
#include "clock.h"
#include "log.h"

#define CONNECT_RETRY_MS 1000
#define HEARTBEAT_MAX_BYTES (64 * 1024)
#define PROBE_WAIT_MS 1000 /* the refresh's JetStream questions: an election shows at once */
/* A failed submission marks JetStream broken until a later probe or submission succeeds,
 * and for at least this long, so health tells what POSTs see. */
#define FAILURE_HOLD_NS (3LL * 1000000000)

struct jt_view {
    char *url;
    jt_nats_credentials_t creds;
    int max_ack_pending;
    jt_view_connected_fn on_connected;
    void *arg;

    pthread_t thread;
    pthread_mutex_t lock; /* guards workers, stop (with cond) */
    pthread_cond_t cond;
    bool stop;

    jt_bus_t bus;
    jsCtx *probe;          /* the bus's connection with PROBE_WAIT_MS answers (view thread) */
    atomic_bool bus_ready; /* bus filled; release/acquire with readers */
    atomic_bool jetstream_ok;
    atomic_int_fast64_t failed_ns;    /* monotonic time of the last failed submission, 0 none */
    atomic_int_fast64_t ok_ns;        /* ... of the last successful probe or submission */
    atomic_int_fast64_t pending_base; /* from the last stream info, -1 unknown */
    atomic_int_fast64_t published_since;
    atomic_int live_workers;
    atomic_int calibrated_workers;
    json_t *workers;                     /* array of heartbeats, replaced whole */
};

/* Sleep ms on the condition variable; returns true when asked to stop. */
static bool wait_or_stop(jt_view_t *v, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&v->lock);
    while (!v->stop) {
        int rc = pthread_cond_timedwait(&v->cond, &v->lock, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    bool stop = v->stop;
    pthread_mutex_unlock(&v->lock);
    return stop;
}

/* A heartbeat counts as able to measure when the worker says it is calibrated
 * or it uses the estimate meter (whose numbers are labelled estimated). */
static bool heartbeat_calibrated(const json_t *hb)
{
    const char *meter = json_string_value(json_object_get(hb, "meter_type"));
    return json_is_true(json_object_get(hb, "calibrated")) ||
           (meter != NULL && strcmp(meter, "estimate") == 0);
}

static bool stopping(jt_view_t *v)
{
    pthread_mutex_lock(&v->lock);
    bool stop = v->stop;
    pthread_mutex_unlock(&v->lock);
    return stop;
}

/* The topology's wait for a quorum ends when the gateway stops. */
static int view_stopping(void *ctx)
{
    return stopping(ctx);
}

/* Read every live heartbeat into a new array; NULL when the bucket cannot be read or the
 * view is stopping (checked between requests, so a stop never waits for many timeouts). */
static json_t *read_workers(jt_view_t *v, kvStore *kv)
{
    kvKeysList keys = {NULL, 0};
    natsStatus s = kvStore_Keys(&keys, kv, NULL);
    if (s == NATS_NOT_FOUND)
        return json_array();
    if (s != NATS_OK)
        return NULL;
    json_t *arr = json_array();
    for (int i = 0; arr != NULL && i < keys.Count; i++) {
        kvEntry *e = NULL;
        if (stopping(v)) {
            json_decref(arr);
            arr = NULL;
            break;
        }
        if (kvStore_Get(&e, kv, keys.Keys[i]) != NATS_OK)
            continue; /* expired or deleted between Keys and Get */
        int len = kvEntry_ValueLen(e);
        json_t *hb = NULL;
        if (len > 0 && len <= HEARTBEAT_MAX_BYTES)
            hb = json_loadb(kvEntry_Value(e), (size_t)len, 0, NULL);
        if (json_is_object(hb)) {
            if (json_object_get(hb, "worker_id") == NULL)
                json_object_set_new(hb, "worker_id", json_string(keys.Keys[i]));
            json_array_append_new(arr, hb);
        } else {
            json_decref(hb);
        }
        kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&keys);
    return arr;
}

/* Whether JetStream answers for what a submission needs: the jobs stream (its message count
 * into *pending) and the tasks bucket, each within PROBE_WAIT_MS. */
static bool probe_jetstream(jt_view_t *v, int64_t *pending)
{
    jsStreamInfo *si = NULL;
    *pending = -1;
    if (v->probe == NULL)
        return false;
    if (js_GetStreamInfo(&si, v->probe, JT_STREAM_JOBS, NULL, NULL) != NATS_OK)
        return false;
    *pending = (int64_t)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    si = NULL;
    if (js_GetStreamInfo(&si, v->probe, "KV_" JT_KV_TASKS, NULL, NULL) != NATS_OK)
        return false;
    jsStreamInfo_Destroy(si);
    return true;
}

static void refresh(jt_view_t *v)
{
    bool connected = natsConnection_Status(v->bus.nc) == NATS_CONN_STATUS_CONNECTED;
    if (!connected) {
        atomic_store(&v->jetstream_ok, false);
        return;
    }
    int64_t pending = -1;
    bool ok = probe_jetstream(v, &pending);
    atomic_store(&v->jetstream_ok, ok);
    if (ok)
        atomic_store(&v->ok_ns, jt_clock_now_ns());
    atomic_store(&v->pending_base, pending);
    atomic_store(&v->published_since, 0);

    json_t *workers = read_workers(v, v->bus.workers);
    if (workers == NULL)
        return; /* keep the previous snapshot; health reports JetStream separately */
    int live = (int)json_array_size(workers), calibrated = 0;
    size_t i;
    json_t *hb;
    json_array_foreach(workers, i, hb)
    {
        if (heartbeat_calibrated(hb))
            calibrated++;
    }
    pthread_mutex_lock(&v->lock);
    json_t *old = v->workers;
    v->workers = workers;
    pthread_mutex_unlock(&v->lock);
    json_decref(old);
    atomic_store(&v->live_workers, live);
    atomic_store(&v->calibrated_workers, calibrated);
}

static void *view_main(void *arg)
{
    jt_view_t *v = arg;
    jt_topology_opts_t topo;
    jt_error_t err;
    bool warned = false;

    jt_topology_opts_init(&topo);
    if (v->max_ack_pending > 0)
        topo.max_ack_pending = v->max_ack_pending;
    topo.stop = view_stopping; /* a SIGTERM during a wait for quorum stops at once */
    topo.stop_ctx = v;
    for (;;) {
        if (jt_bus_connect_auth(v->url, &v->creds, "jouletrace-gateway", &topo, &v->bus, &err) ==
            JT_OK)
            break;
        if (!warned)
            jt_log_error("gateway: %s; retrying every %d ms", err.message, CONNECT_RETRY_MS);
        warned = true;
        if (wait_or_stop(v, CONNECT_RETRY_MS))
            return NULL;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = PROBE_WAIT_MS;
    if (natsConnection_JetStream(&v->probe, v->bus.nc, &jo) != NATS_OK)
        v->probe = NULL; /* health then says JetStream does not answer */
    atomic_store_explicit(&v->bus_ready, true, memory_order_release);
    jt_log_info("gateway: connected to NATS, topology ensured");
    if (v->on_connected != NULL)
        v->on_connected(&v->bus, v->arg);
    do {
        refresh(v);
    } while (!wait_or_stop(v, JT_VIEW_REFRESH_MS));
    return NULL;
}

jt_status_t jt_view_start(jt_view_t **out, const char *url, const jt_nats_credentials_t *creds,
                          int max_ack_pending, jt_view_connected_fn on_connected, void *arg)
{
    jt_view_t *v = calloc(1, sizeof *v);
    if (v == NULL)
        return JT_ERR_NOMEM;
    v->url = strdup(url != NULL ? url : "");
    v->workers = json_array();
    if (v->url == NULL || v->workers == NULL) {
        free(v->url);
        json_decref(v->workers);
        free(v);
        return JT_ERR_NOMEM;
    }
    if (creds != NULL)
        v->creds = *creds;
    v->max_ack_pending = max_ack_pending;
    v->on_connected = on_connected;
    v->arg = arg;
    atomic_init(&v->bus_ready, false);
    atomic_init(&v->jetstream_ok, false);
    atomic_init(&v->failed_ns, 0);
    atomic_init(&v->ok_ns, 0);
    atomic_init(&v->pending_base, -1);
    atomic_init(&v->published_since, 0);
    atomic_init(&v->live_workers, 0);
    atomic_init(&v->calibrated_workers, 0);
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    if (pthread_create(&v->thread, NULL, view_main, v) != 0) {
        pthread_cond_destroy(&v->cond);
        pthread_mutex_destroy(&v->lock);
        json_decref(v->workers);
        free(v->url);
        jt_nats_credentials_wipe(&v->creds);
        free(v);
        return JT_ERR_SYSTEM;
    }
    *out = v;
    return JT_OK;
}

void jt_view_stop(jt_view_t *v)
{
    if (v == NULL)
        return;
    pthread_mutex_lock(&v->lock);
    v->stop = true;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->thread, NULL);
}

void jt_view_destroy(jt_view_t *v)
{
    if (v == NULL)
        return;
    jsCtx_Destroy(v->probe);
    jt_bus_close(&v->bus);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    json_decref(v->workers);
    free(v->url);
    jt_nats_credentials_wipe(&v->creds);
    free(v);
}

jt_bus_t *jt_view_bus(jt_view_t *v)
{
    return atomic_load_explicit(&v->bus_ready, memory_order_acquire) ? &v->bus : NULL;
}

jt_bus_t *jt_view_bus_connected(jt_view_t *v)
{
    jt_bus_t *bus = jt_view_bus(v);
    if (bus == NULL || natsConnection_Status(bus->nc) != NATS_CONN_STATUS_CONNECTED)
        return NULL;
    return bus;
}

void jt_view_summary(jt_view_t *v, jt_view_summary_t *out)
{
    jt_bus_t *bus = jt_view_bus(v);
    memset(out, 0, sizeof *out);
    out->bus_ready = bus != NULL;
    out->nats_connected =
        bus != NULL && natsConnection_Status(bus->nc) == NATS_CONN_STATUS_CONNECTED;
    int64_t failed = atomic_load(&v->failed_ns);
    bool failing = failed != 0 && (failed > atomic_load(&v->ok_ns) ||
                                   jt_clock_now_ns() - failed < FAILURE_HOLD_NS);
    out->jetstream_ok = out->nats_connected && atomic_load(&v->jetstream_ok) && !failing;
    int64_t base = atomic_load(&v->pending_base);
    out->pending_jobs = base < 0 ? -1 : base + atomic_load(&v->published_since);
    out->live_workers = atomic_load(&v->live_workers);
    out->calibrated_workers = atomic_load(&v->calibrated_workers);
}

json_t *jt_view_workers(jt_view_t *v)
{
    pthread_mutex_lock(&v->lock);
    json_t *copy = json_deep_copy(v->workers);
    pthread_mutex_unlock(&v->lock);
    return copy != NULL ? copy : json_array();
}

void jt_view_job_published(jt_view_t *v)
{
    atomic_fetch_add(&v->published_since, 1);
}

void jt_view_bus_failed(jt_view_t *v)
{
    atomic_store(&v->failed_ns, jt_clock_now_ns());
}

void jt_view_bus_worked(jt_view_t *v)
{
    atomic_store(&v->ok_ns, jt_clock_now_ns());
}
