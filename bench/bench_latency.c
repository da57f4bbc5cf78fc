/* bench_latency.c -- the pipeline's added latency per job and its lease hand-over between workers.
 *
 * The measurements run on the caller's thread; each KV watcher has a thread
 * of its own (watch_main), which appends to its event list under g_lock.
 */
#include "bench_latency.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_http.h"
#include "bench_tracks.h"
#include "nats_server.h"

#define LATENCY_WARMUP_JOBS 3
#define HANDOVERS_WANTED 20
#define MAX_EVENTS 8192

/* Guards every watch_t's ev and n, shared with the watcher threads. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- added latency --------------------------------------------------------------------- */

/* Sum of trials[].seconds: the measured windows. */
static double window_seconds(const json_t *result)
{
    double sum = 0;
    size_t i;
    json_t *tr;
    json_array_foreach(json_object_get(result, "trials"), i, tr) sum +=
        json_number_value(json_object_get(tr, "seconds"));
    return sum;
}

int jt_latency_measure(int port, jt_latency_t *out)
{
    jt_bench_poster_t p;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (jt_bench_poster_init(&p, port) != 0)
        return -1;
    for (int i = 0; i < LATENCY_WARMUP_JOBS + JT_LATENCY_JOBS; i++) {
        char id[JT_TRACK_ID_LEN + 1];
        double posted;
        jt_track_t t;
        if (jt_tracks_post_job(&p, id, &posted) != 0 || jt_tracks_wait_result(id, &t) != 0)
            goto out;
        const char *status = json_string_value(json_object_get(t.result, "status"));
        if (status == NULL || strcmp(status, "completed") != 0) {
            fprintf(stderr, "bench_pipeline: task %s ended %s\n", id, status ? status : "?");
            goto out;
        }
        if (i < LATENCY_WARMUP_JOBS)
            continue;
        double w = window_seconds(t.result);
        size_t k = out->n++;
        out->added[k] = (t.done - posted - w) * 1000.0;
        out->windows[k] = w * 1000.0;
        out->pickup[k] = t.validating > 0 ? (t.validating - posted) * 1000.0 : NAN;
        out->gate[k] = t.waiting > 0 ? (t.waiting - t.validating) * 1000.0 : NAN;
        out->lease[k] = t.measuring > 0 ? (t.measuring - t.waiting) * 1000.0 : NAN;
        out->measure[k] = t.measuring > 0 ? (t.done - t.measuring - w) * 1000.0 : NAN;
    }
    rc = 0;
out:
    jt_bench_poster_cleanup(&p);
    return rc;
}

/* ---- lease hand-over ------------------------------------------------------------------- */

typedef struct {
    int op;     /* kvOperation */
    int64_t ns; /* server timestamp */
    char key[JT_TRACK_ID_LEN + 1];
    char task[JT_TRACK_ID_LEN + 1]; /* leases: the holder's task; tasks: the key */
    char status[32];                /* tasks: the record's status */
} event_t;

typedef struct {
    kvWatcher *w;
    bool is_lease;
    event_t *ev;
    size_t n;
    pthread_t thread;
} watch_t;

/* Watcher thread: record every update after the initial values. */
static void *watch_main(void *arg)
{
    watch_t *wt = arg;
    bool initial = true;
    for (;;) {
        kvEntry *e = NULL;
        natsStatus s = kvWatcher_Next(&e, wt->w, 1000);
        if (s == NATS_TIMEOUT)
            continue;
        if (s != NATS_OK)
            break; /* stopped */
        if (e == NULL) {
            initial = false; /* the marker after the initial values */
            continue;
        }
        if (!initial) {
            event_t ev;
            memset(&ev, 0, sizeof ev);
            ev.op = (int)kvEntry_Operation(e);
            ev.ns = kvEntry_Created(e);
            snprintf(ev.key, sizeof ev.key, "%s", kvEntry_Key(e));
            json_t *v = kvEntry_ValueLen(e) > 0
                            ? json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL)
                            : NULL;
            const char *task =
                wt->is_lease ? json_string_value(json_object_get(v, "task_id")) : kvEntry_Key(e);
            const char *status = json_string_value(json_object_get(v, "status"));
            snprintf(ev.task, sizeof ev.task, "%s", task ? task : "");
            snprintf(ev.status, sizeof ev.status, "%s", status ? status : "");
            json_decref(v);
            pthread_mutex_lock(&g_lock);
            if (wt->n < MAX_EVENTS &&
                (wt->is_lease || strcmp(ev.status, "waiting_for_socket") == 0))
                wt->ev[wt->n++] = ev;
            pthread_mutex_unlock(&g_lock);
        }
        kvEntry_Destroy(e);
    }
    return NULL;
}

static int watch_start(watch_t *wt, kvStore *kv, bool is_lease)
{
    memset(wt, 0, sizeof *wt);
    wt->is_lease = is_lease;
    wt->ev = calloc(MAX_EVENTS, sizeof *wt->ev);
    if (wt->ev == NULL || kvStore_WatchAll(&wt->w, kv, NULL) != NATS_OK)
        return -1;
    if (pthread_create(&wt->thread, NULL, watch_main, wt) != 0) {
        kvWatcher_Destroy(wt->w);
        wt->w = NULL;
        return -1;
    }
    return 0;
}

static void watch_stop(watch_t *wt)
{
    if (wt->w != NULL) {
        kvWatcher_Stop(wt->w);
        pthread_join(wt->thread, NULL);
        kvWatcher_Destroy(wt->w);
    }
    free(wt->ev);
    memset(wt, 0, sizeof *wt);
}

/* Hand-overs so far: each release, the next acquisition, counted when the
 * acquirer had stored "waiting_for_socket" before the release. Under g_lock. */
static void handover_scan(const watch_t *leases, const watch_t *tasks, jt_handover_t *h)
{
    h->n = 0;
    h->uncontended = 0;
    for (size_t i = 0; i < leases->n; i++) {
        const event_t *del = &leases->ev[i];
        if (del->op != kvOp_Delete && del->op != kvOp_Purge)
            continue;
        const event_t *put = NULL;
        for (size_t j = i + 1; j < leases->n && put == NULL; j++)
            if (leases->ev[j].op == kvOp_Put && strcmp(leases->ev[j].key, del->key) == 0)
                put = &leases->ev[j];
        if (put == NULL)
            continue;
        bool waited = false;
        for (size_t k = 0; k < tasks->n && !waited; k++)
            waited = strcmp(tasks->ev[k].task, put->task) == 0 && tasks->ev[k].ns < del->ns;
        if (waited && h->n < sizeof h->ms / sizeof h->ms[0])
            h->ms[h->n++] = (double)(put->ns - del->ns) / 1e6;
        else if (!waited)
            h->uncontended++;
    }
}

int jt_handover_measure(int port, jt_bus_t *bus, jt_handover_t *out)
{
    jt_bench_poster_t p;
    watch_t leases, tasks;
    int rc = -1;
    memset(out, 0, sizeof *out);
    memset(&leases, 0, sizeof leases);
    memset(&tasks, 0, sizeof tasks);
    if (jt_bench_poster_init(&p, port) != 0 || watch_start(&leases, bus->leases, true) != 0 ||
        watch_start(&tasks, bus->tasks, false) != 0)
        goto out;
    jt_nats_sleep_ms(200); /* both watchers past their initial values */
    while (out->pairs < JT_HANDOVER_MAX_PAIRS) {
        char id[2][JT_TRACK_ID_LEN + 1];
        double posted;
        jt_track_t t;
        if (jt_tracks_post_job(&p, id[0], &posted) != 0 ||
            jt_tracks_post_job(&p, id[1], &posted) != 0 || jt_tracks_wait_result(id[0], &t) != 0 ||
            jt_tracks_wait_result(id[1], &t) != 0)
            goto out;
        out->pairs++;
        jt_nats_sleep_ms(20); /* the watchers have the last events */
        pthread_mutex_lock(&g_lock);
        handover_scan(&leases, &tasks, out);
        pthread_mutex_unlock(&g_lock);
        if (out->n >= HANDOVERS_WANTED)
            break;
    }
    rc = 0;
out:
    watch_stop(&leases);
    watch_stop(&tasks);
    jt_bench_poster_cleanup(&p);
    return rc;
}
