/* bench_pipeline.c -- the NATS pipeline's speed: POSTs per second, added latency, lease hand-over.
 *
 * Starts a real nats-server (tests/nats_server.h), jouletrace-gateway and two
 * `jouletrace-worker run` daemons (estimate meter, no calibration file,
 * measurement core 1) on free 127.0.0.1 ports, and measures with trivial jobs
 * (warmup_trials 0, energy_measurement_trials 1, min_trial_seconds 0):
 *   1. accepted POSTs per second at 1, 8 and 64 keep-alive connections
 *      (libcurl multi, each connection posting back to back), with no worker
 *      running: a fake estimate-meter heartbeat admits the jobs, and the jobs
 *      stream is purged after each level;
 *   2. added latency of ~50 jobs submitted one at a time: POST to the result
 *      on jouletrace.result.<id>, minus the sum of the result's trial windows;
 *   3. lease hand-over: a KV watcher on the lease bucket times, with the
 *      server's timestamps, each release (delete marker) to the next
 *      acquisition, for pairs of jobs posted back to back to the two workers.
 * Prints one table with the targets of issue 4. Usage: bench_pipeline.
 * Single-threaded except the nats.c callback (result/progress table) and two
 * KV-watcher threads, all sharing `g_lock`.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "bus_names.h"
#include "nats_server.h"
#include "platform_floor.h"
#include "process_harness.h"
#include "value.h"

#define MEASURE_PATH "/api/v1/measure-socket0"
#define HTTP_THREADS "128"
#define POST_WARMUP_S 0.5
#define POST_SECONDS 5.0
#define MAX_SAMPLES (4u * 1024 * 1024) /* latency samples kept per level */
#define LATENCY_JOBS 50
#define LATENCY_WARMUP_JOBS 3
#define HANDOVERS_WANTED 20
#define HANDOVER_MAX_PAIRS 60
#define RESULT_WAIT_S 60.0
#define MAX_TRACKS 512
#define MAX_EVENTS 8192
#define BODY_MAX 65536
#define TASK_ID_LEN 128

static const char JOB_BODY[] =
    "{\"candidate_code\":\"def solve(x):\\n    return x\\n\",\"function_name\":\"solve\","
    "\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[1],\"expected_output\":1}],"
    "\"energy_measurement_trials\":1,\"warmup_trials\":0,\"min_trial_seconds\":0,"
    "\"timeout_seconds\":20}";

static const int LEVELS[] = {1, 8, 64};
#define N_LEVELS (sizeof LEVELS / sizeof LEVELS[0])

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct {
    char data[BODY_MAX];
    size_t len;
} body_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    body_t *b = arg;
    size_t k = size * n;
    if (b == NULL)
        return k; /* discarded */
    size_t room = sizeof b->data - 1 - b->len;
    size_t take = k < room ? k : room;
    memcpy(b->data + b->len, p, take);
    b->len += take;
    b->data[b->len] = '\0';
    return k;
}

/* An easy handle set up for POST path (body JOB_BODY, keep-alive) or GET
 * (post false), writing into out (NULL: discard). NULL on failure. */
static CURL *http_handle(int port, const char *path, bool post, struct curl_slist *hdrs,
                         body_t *out)
{
    char url[256];
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, JOB_BODY);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(JOB_BODY));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    }
    return c;
}

/* One request on c; the HTTP status, or -1 when no answer came. */
static long http_perform(CURL *c, body_t *out)
{
    long status = -1;
    if (out != NULL)
        out->len = 0;
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Wait until GET /api/v1/health says the gateway reached NATS and counts at
 * least `calibrated` workers able to measure (its view refreshes every 250 ms). */
static int wait_health(int port, const jt_proc_t *gw, int calibrated)
{
    body_t *b = calloc(1, sizeof *b);
    CURL *c = http_handle(port, "/api/v1/health", false, NULL, b);
    int rc = -1;
    double deadline = jt_nats_now() + 20.0;
    while (c != NULL && b != NULL && jt_nats_now() < deadline && jt_proc_alive(gw->pid)) {
        if (http_perform(c, b) > 0) {
            json_t *j = json_loadb(b->data, b->len, 0, NULL);
            json_t *checks = json_object_get(j, "checks");
            bool up = json_is_true(json_object_get(json_object_get(checks, "nats"), "connected"));
            json_int_t n = json_integer_value(
                json_object_get(json_object_get(checks, "workers"), "calibrated"));
            json_decref(j);
            if (up && n >= calibrated) {
                rc = 0;
                break;
            }
        }
        jt_nats_sleep_ms(50);
    }
    curl_easy_cleanup(c);
    free(b);
    return rc;
}

/* ---- statistics ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1) of v[0..n), sorting v; NAN when n == 0. */
static double percentile(double *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)n + 0.999999);
    return v[(i == 0 ? 1 : i > n ? n : i) - 1];
}

/* ---- phase 1: accepted POSTs per second ------------------------------------------------ */

typedef struct {
    int conns;
    double rate; /* 202s per second over the window */
    double p50_ms, p99_ms;
    long accepted, other; /* answers in the window: 202, anything else */
    long new_connections; /* TCP connections opened (keep-alive check) */
} level_t;

typedef struct {
    CURL *h;
    double t0;
} conn_t;

/* Every connection posts back to back for POST_WARMUP_S + POST_SECONDS; the
 * answers that arrive in the last POST_SECONDS count. */
static int post_level(int port, int conns, level_t *out)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    CURLM *multi = curl_multi_init();
    conn_t *c = calloc((size_t)conns, sizeof *c);
    double *lat = malloc(MAX_SAMPLES * sizeof *lat);
    size_t n_lat = 0;
    int rc = -1, active = 0;
    memset(out, 0, sizeof *out);
    out->conns = conns;
    if (hdrs == NULL || multi == NULL || c == NULL || lat == NULL)
        goto out;
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conns * 2);
    double start = jt_nats_now();
    double from = start + POST_WARMUP_S, until = from + POST_SECONDS;
    for (int i = 0; i < conns; i++) {
        if ((c[i].h = http_handle(port, MEASURE_PATH, true, hdrs, NULL)) == NULL)
            goto out;
        curl_easy_setopt(c[i].h, CURLOPT_PRIVATE, &c[i]);
        c[i].t0 = jt_nats_now();
        curl_multi_add_handle(multi, c[i].h);
        active++;
    }
    while (active > 0) {
        int running = 0, left = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            double now = jt_nats_now();
            conn_t *k = NULL;
            long status = -1, opened = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
            if (m->data.result == CURLE_OK)
                curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &opened);
            out->new_connections += opened;
            if (now >= from && now <= until) {
                if (status == 202) {
                    out->accepted++;
                    if (n_lat < MAX_SAMPLES)
                        lat[n_lat++] = (now - k->t0) * 1000.0;
                } else {
                    out->other++;
                }
            }
            curl_multi_remove_handle(multi, k->h);
            active--;
            if (now < until) {
                k->t0 = now;
                curl_multi_add_handle(multi, k->h);
                active++;
            }
        }
        if (active > 0)
            curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    out->rate = (double)out->accepted / POST_SECONDS;
    out->p50_ms = percentile(lat, n_lat, 0.50);
    out->p99_ms = percentile(lat, n_lat, 0.99);
    rc = 0;
out:
    for (int i = 0; c != NULL && i < conns; i++)
        if (c[i].h != NULL) {
            curl_multi_remove_handle(multi, c[i].h);
            curl_easy_cleanup(c[i].h);
        }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hdrs);
    free(c);
    free(lat);
    return rc;
}

/* A heartbeat of a calibrated estimate-meter worker, so the gateway admits jobs. */
static int put_fake_heartbeat(jt_bus_t *bus)
{
    json_t *hb =
        json_pack("{s:s, s:s, s:i, s:s, s:n, s:s, s:b, s:b, s:i, s:i}", "worker_id", "bench-fake",
                  "host", "bench", "pid", 1, "state", "idle", "task_id", "meter_type", "estimate",
                  "energy_is_estimated", 1, "calibrated", 1, "measurement_core", 1, "socket", 0);
    char *text = json_dumps(hb, JSON_COMPACT);
    natsStatus s =
        text != NULL ? kvStore_PutString(NULL, bus->workers, "bench-fake", text) : NATS_NO_MEMORY;
    free(text);
    json_decref(hb);
    return s == NATS_OK ? 0 : -1;
}

/* Empty the jobs stream and the task records (the backlog of phase 1). */
static int purge_backlog(jt_bus_t *bus)
{
    jsErrCode jerr = 0;
    if (js_PurgeStream(bus->js, JT_STREAM_JOBS, NULL, &jerr) != NATS_OK)
        return -1;
    return js_PurgeStream(bus->js, "KV_" JT_KV_TASKS, NULL, &jerr) == NATS_OK ? 0 : -1;
}

/* ---- results and progress seen on the bus --------------------------------------------- */

typedef struct {
    char id[TASK_ID_LEN + 1];
    double posted;     /* before the POST was sent */
    double validating; /* first progress record with that stage (0: not seen) */
    double waiting;
    double measuring;
    double done; /* result arrival */
    json_t *result;
} track_t;

static track_t g_tracks[MAX_TRACKS];
static size_t g_n_tracks;

/* The track of id, created when new; NULL when the table is full. Call under g_lock. */
static track_t *track_of(const char *id)
{
    for (size_t i = 0; i < g_n_tracks; i++)
        if (strcmp(g_tracks[i].id, id) == 0)
            return &g_tracks[i];
    if (g_n_tracks == MAX_TRACKS)
        return NULL;
    track_t *t = &g_tracks[g_n_tracks++];
    snprintf(t->id, sizeof t->id, "%s", id);
    return t;
}

static json_t *decode_record(natsMsg *msg)
{
    msgpack_unpacked u;
    size_t off = 0;
    jt_error_t err;
    json_t *j = NULL;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), &off) ==
        MSGPACK_UNPACK_SUCCESS)
        j = jt_value_to_json(&u.data, &err);
    msgpack_unpacked_destroy(&u);
    return j;
}

/* nats.c callback thread: stamp stage and result arrivals. closure: 1 result, 0 progress. */
static void on_record(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    double now = jt_nats_now();
    bool is_result = closure != NULL;
    const char *subject = natsMsg_GetSubject(msg);
    const char *prefix = is_result ? JT_SUBJECT_RESULT_PREFIX : JT_SUBJECT_PROGRESS_PREFIX;
    json_t *rec = NULL;
    const char *stage = NULL;
    if (!is_result) {
        rec = decode_record(msg);
        stage = json_string_value(json_object_get(rec, "stage"));
    }
    pthread_mutex_lock(&g_lock);
    track_t *t = track_of(subject + strlen(prefix));
    if (t != NULL && is_result && t->done == 0) {
        t->result = decode_record(msg);
        t->done = now;
        pthread_cond_broadcast(&g_cond);
    } else if (t != NULL && stage != NULL) {
        double *at = strcmp(stage, "validating") == 0           ? &t->validating
                     : strcmp(stage, "waiting_for_socket") == 0 ? &t->waiting
                     : strcmp(stage, "measuring") == 0          ? &t->measuring
                                                                : NULL;
        if (at != NULL && *at == 0)
            *at = now;
    }
    pthread_mutex_unlock(&g_lock);
    json_decref(rec);
    natsMsg_Destroy(msg);
}

/* POST one job on c; its task id into id, the send time into *posted. 0 on 202. */
static int post_job(CURL *c, body_t *b, char id[TASK_ID_LEN + 1], double *posted)
{
    *posted = jt_nats_now();
    long status = http_perform(c, b);
    json_t *j = json_loadb(b->data, b->len, 0, NULL);
    const char *tid = json_string_value(json_object_get(j, "task_id"));
    int rc = status == 202 && tid != NULL && strlen(tid) <= TASK_ID_LEN ? 0 : -1;
    if (rc == 0)
        snprintf(id, TASK_ID_LEN + 1, "%s", tid);
    else
        fprintf(stderr, "bench_pipeline: POST gave %ld: %.300s\n", status, b->data);
    json_decref(j);
    if (rc == 0) {
        pthread_mutex_lock(&g_lock);
        track_t *t = track_of(id);
        if (t != NULL)
            t->posted = *posted;
        pthread_mutex_unlock(&g_lock);
        rc = t != NULL ? 0 : -1;
    }
    return rc;
}

/* Wait for the result of id; a copy of its track (result borrowed), or -1 on timeout. */
static int wait_result(const char *id, track_t *out)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)RESULT_WAIT_S;
    int rc = -1;
    pthread_mutex_lock(&g_lock);
    for (;;) {
        track_t *t = track_of(id);
        if (t == NULL)
            break;
        if (t->done != 0) {
            *out = *t;
            rc = 0;
            break;
        }
        if (pthread_cond_timedwait(&g_cond, &g_lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&g_lock);
    if (rc != 0)
        fprintf(stderr, "bench_pipeline: no result for task %s within %.0f s\n", id, RESULT_WAIT_S);
    return rc;
}

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

/* ---- phase 2: added latency ------------------------------------------------------------ */

typedef struct {
    double added[LATENCY_JOBS];   /* total - windows */
    double pickup[LATENCY_JOBS];  /* POST -> "validating" */
    double gate[LATENCY_JOBS];    /* "validating" -> "waiting_for_socket" */
    double lease[LATENCY_JOBS];   /* "waiting_for_socket" -> "measuring" */
    double measure[LATENCY_JOBS]; /* "measuring" -> result, minus windows */
    double windows[LATENCY_JOBS]; /* the windows themselves */
    size_t n;
} latency_t;

static int latency_phase(int port, latency_t *out)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    body_t *b = calloc(1, sizeof *b);
    CURL *c = http_handle(port, MEASURE_PATH, true, hdrs, b);
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (hdrs == NULL || b == NULL || c == NULL)
        goto out;
    for (int i = 0; i < LATENCY_WARMUP_JOBS + LATENCY_JOBS; i++) {
        char id[TASK_ID_LEN + 1];
        double posted;
        track_t t;
        if (post_job(c, b, id, &posted) != 0 || wait_result(id, &t) != 0)
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
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(b);
    return rc;
}

/* ---- phase 3: lease hand-over ---------------------------------------------------------- */

typedef struct {
    int op;     /* kvOperation */
    int64_t ns; /* server timestamp */
    char key[TASK_ID_LEN + 1];
    char task[TASK_ID_LEN + 1]; /* leases: the holder's task; tasks: the key */
    char status[32];            /* tasks: the record's status */
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

typedef struct {
    double ms[2 * HANDOVER_MAX_PAIRS];
    size_t n;           /* contended hand-overs (the next holder was already waiting) */
    size_t uncontended; /* releases with nobody waiting yet (not hand-overs) */
    int pairs;
} handover_t;

/* Hand-overs so far: each release, the next acquisition, counted when the
 * acquirer had stored "waiting_for_socket" before the release. Under g_lock. */
static void handover_scan(const watch_t *leases, const watch_t *tasks, handover_t *h)
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

static int handover_phase(int port, jt_bus_t *bus, handover_t *out)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    body_t *b = calloc(1, sizeof *b);
    CURL *c = http_handle(port, MEASURE_PATH, true, hdrs, b);
    watch_t leases, tasks;
    int rc = -1;
    memset(out, 0, sizeof *out);
    memset(&leases, 0, sizeof leases);
    memset(&tasks, 0, sizeof tasks);
    if (hdrs == NULL || b == NULL || c == NULL || watch_start(&leases, bus->leases, true) != 0 ||
        watch_start(&tasks, bus->tasks, false) != 0)
        goto out;
    jt_nats_sleep_ms(200); /* both watchers past their initial values */
    while (out->pairs < HANDOVER_MAX_PAIRS) {
        char id[2][TASK_ID_LEN + 1];
        double posted;
        track_t t;
        if (post_job(c, b, id[0], &posted) != 0 || post_job(c, b, id[1], &posted) != 0 ||
            wait_result(id[0], &t) != 0 || wait_result(id[1], &t) != 0)
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
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(b);
    return rc;
}

/* ---- the system under test ------------------------------------------------------------- */

static void dump_log(const jt_proc_t *p)
{
    jt_proc_dump_log(p->id, p->log, 3000);
}

typedef struct {
    jt_nats_server_t nats;
    jt_bus_t bus;
    char dir[128];
    int port;
    jt_proc_t gateway;
    jt_proc_t worker[2];
} sut_t;

static int start_gateway(sut_t *s)
{
    char url[128], addr[64], cal[192];
    s->port = jt_proc_free_port();
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", s->nats.url);
    snprintf(addr, sizeof addr, "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", s->port);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s/missing-calibration.json", s->dir);
    const char *vars[] = {url,
                          addr,
                          cal,
                          "JOULETRACE_HTTP_THREADS=" HTTP_THREADS,
                          "JOULETRACE_MAX_PENDING_JOBS=10000000",
                          "JOULETRACE_LOG_LEVEL=warn",
                          NULL};
    char *argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    snprintf(s->gateway.id, sizeof s->gateway.id, "gateway");
    snprintf(s->gateway.log, sizeof s->gateway.log, "%s/gateway.log", s->dir);
    if (s->port < 0 || jt_proc_start(&s->gateway, argv, vars, false) != 0 ||
        wait_health(s->port, &s->gateway, 0) != 0) {
        fprintf(stderr, "bench_pipeline: the gateway did not come up\n");
        dump_log(&s->gateway);
        return -1;
    }
    return 0;
}

/* Start worker i and wait for its heartbeat. */
static int start_worker(sut_t *s, int i)
{
    char url[128], cal[192], sandbox[192], sbvar[220], id[48];
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", s->nats.url);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s/missing-calibration.json", s->dir);
    snprintf(sandbox, sizeof sandbox, "%s/sandbox-%d", s->dir, i);
    snprintf(sbvar, sizeof sbvar, "JOULETRACE_SANDBOX_DIR=%s", sandbox);
    snprintf(id, sizeof id, "JOULETRACE_WORKER_ID=bench-w%d", i);
    const char *vars[] = {url,
                          cal,
                          sbvar,
                          id,
                          "JOULETRACE_METER=estimate",
                          "JOULETRACE_MEASURE_CORE=1",
                          "JOULETRACE_LOG_LEVEL=info",
                          NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    jt_proc_t *w = &s->worker[i];
    snprintf(w->id, sizeof w->id, "worker %d", i);
    snprintf(w->log, sizeof w->log, "%s/worker-%d.log", s->dir, i);
    if (mkdir(sandbox, 0700) != 0 || jt_proc_start(w, argv, vars, false) != 0)
        return -1;
    double deadline = jt_nats_now() + 60.0;
    while (jt_nats_now() < deadline && jt_proc_alive(w->pid)) {
        kvEntry *e = NULL;
        natsStatus st = kvStore_Get(&e, s->bus.workers, strchr(id, '=') + 1);
        kvEntry_Destroy(e);
        if (st == NATS_OK)
            return 0;
        jt_nats_sleep_ms(50);
    }
    fprintf(stderr, "bench_pipeline: worker %d did not beat\n", i);
    dump_log(w);
    return -1;
}

static const char *verdict(bool met)
{
    return met ? "met" : "MISSED";
}

static void print_table(const level_t *lv, latency_t *lat, handover_t *ho)
{
    double peak = 0;
    for (size_t i = 0; i < N_LEVELS; i++)
        peak = lv[i].rate > peak ? lv[i].rate : peak;
    printf("%-46s %9s %9s %9s %6s  %-16s %s\n", "measure", "per_s", "p50_ms", "p99_ms", "n",
           "target", "verdict");
    for (size_t i = 0; i < N_LEVELS; i++) {
        char what[64];
        snprintf(what, sizeof what, "accepted POST, %d connection%s", lv[i].conns,
                 lv[i].conns == 1 ? "" : "s");
        bool is_peak = lv[i].rate == peak;
        printf("%-46s %9.0f %9.2f %9.2f %6ld  %-16s %s\n", what, lv[i].rate, lv[i].p50_ms,
               lv[i].p99_ms, lv[i].accepted, is_peak ? ">= 5000/s (peak)" : "",
               is_peak ? verdict(peak >= 5000) : "");
    }
    size_t n = lat->n;
    double a50 = percentile(lat->added, n, 0.5), a99 = percentile(lat->added, n, 0.99);
    printf("%-46s %9s %9.2f %9.2f %6zu  %-16s %s\n", "added latency (POST->result - windows)", "",
           a50, a99, n, "p50<=10 p99<=30", verdict(a50 <= 10 && a99 <= 30));
    const struct {
        const char *what;
        double *v;
    } parts[] = {
        {"  POST -> worker starts (validating)", lat->pickup},
        {"  correctness gate (-> waiting_for_socket)", lat->gate},
        {"  lease taken (-> measuring)", lat->lease},
        {"  measuring -> result, minus windows", lat->measure},
        {"  (trial windows themselves)", lat->windows},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        printf("%-46s %9s %9.2f %9.2f %6zu\n", parts[i].what, "", percentile(parts[i].v, n, 0.5),
               percentile(parts[i].v, n, 0.99), n);
    double h50 = percentile(ho->ms, ho->n, 0.5), h99 = percentile(ho->ms, ho->n, 0.99);
    printf("%-46s %9s %9.2f %9.2f %6zu  %-16s %s\n", "lease hand-over (release -> next acquire)",
           "", h50, h99, ho->n, "p50<=5", verdict(ho->n > 0 && h50 <= 5));
    printf("# POST: trivial job, keep-alive, %.0f s per level after %.1f s warm-up, no worker "
           "running (fake heartbeat);\n"
           "#   non-202 answers: %ld/%ld/%ld; TCP connections opened: %ld/%ld/%ld.\n",
           POST_SECONDS, POST_WARMUP_S, lv[0].other, lv[1].other, lv[2].other,
           lv[0].new_connections, lv[1].new_connections, lv[2].new_connections);
    printf("# added latency: per job posted one at a time, (result on jouletrace.result.<id>) - "
           "(POST sent) - sum(trials[].seconds);\n"
           "#   stage rows: arrival of the first progress record of each stage.\n");
    printf("# hand-over: server timestamps of the lease key's delete marker and the next put, "
           "when the next holder had\n"
           "#   stored waiting_for_socket before the release; %zu counted, %zu releases with "
           "nobody waiting, %d job pairs.\n",
           ho->n, ho->uncontended, ho->pairs);
    jt_floor_print(8);
    printf("# a trivial job is at least five process lifetimes: the gate's sandbox child and run,\n"
           "#   the measurement's sandbox child, one null run and one candidate run.\n");
}

int main(void)
{
    static sut_t s;
    static latency_t lat;
    static handover_t ho;
    level_t lv[N_LEVELS];
    jt_error_t err;
    natsSubscription *subs[2] = {NULL, NULL};
    int rc = 1;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    snprintf(s.dir, sizeof s.dir, "/tmp/jt-bench-pipeline-XXXXXX");
    if (mkdtemp(s.dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    if (jt_nats_server_start(&s.nats) != 0)
        goto out;
    if (jt_bus_connect(s.nats.url, "bench-pipeline", NULL, &s.bus, &err) != JT_OK) {
        fprintf(stderr, "bench_pipeline: %s\n", err.message);
        goto out;
    }
    if (start_gateway(&s) != 0)
        goto out;

    /* 1. POST throughput, with a fake heartbeat and no worker. */
    for (size_t i = 0; i < N_LEVELS; i++) {
        if (put_fake_heartbeat(&s.bus) != 0 || wait_health(s.port, &s.gateway, 1) != 0) {
            fprintf(stderr, "bench_pipeline: the gateway does not admit jobs\n");
            dump_log(&s.gateway);
            goto out;
        }
        if (post_level(s.port, LEVELS[i], &lv[i]) != 0 || purge_backlog(&s.bus) != 0) {
            fprintf(stderr, "bench_pipeline: POST level %d failed\n", LEVELS[i]);
            goto out;
        }
        fprintf(stderr, "bench_pipeline: %d connections: %.0f accepted/s\n", LEVELS[i], lv[i].rate);
    }
    kvStore_Delete(s.bus.workers, "bench-fake");

    /* 2 and 3 need the real workers and the record subjects. */
    if (natsConnection_Subscribe(&subs[0], s.bus.nc, JT_SUBJECT_PROGRESS_PREFIX ">", on_record,
                                 NULL) != NATS_OK ||
        natsConnection_Subscribe(&subs[1], s.bus.nc, JT_SUBJECT_RESULT_PREFIX ">", on_record,
                                 (void *)1) != NATS_OK ||
        natsConnection_Flush(s.bus.nc) != NATS_OK)
        goto out;
    if (start_worker(&s, 0) != 0 || start_worker(&s, 1) != 0 ||
        wait_health(s.port, &s.gateway, 2) != 0)
        goto out;
    if (latency_phase(s.port, &lat) != 0) {
        dump_log(&s.worker[0]);
        dump_log(&s.worker[1]);
        goto out;
    }
    fprintf(stderr, "bench_pipeline: %zu jobs timed\n", lat.n);
    if (handover_phase(s.port, &s.bus, &ho) != 0) {
        dump_log(&s.worker[0]);
        dump_log(&s.worker[1]);
        goto out;
    }
    print_table(lv, &lat, &ho);
    rc = 0;
out:
    natsSubscription_Destroy(subs[0]);
    natsSubscription_Destroy(subs[1]);
    jt_proc_stop(&s.worker[0].pid, SIGTERM, 10.0, false);
    jt_proc_stop(&s.worker[1].pid, SIGTERM, 10.0, false);
    jt_proc_stop(&s.gateway.pid, SIGTERM, 10.0, false);
    jt_bus_close(&s.bus);
    jt_nats_server_stop(&s.nats);
    for (size_t i = 0; i < g_n_tracks; i++)
        json_decref(g_tracks[i].result);
    if (rc == 0)
        nftw(s.dir, jt_nats_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "bench_pipeline: failed; logs kept in %s\n", s.dir);
    curl_global_cleanup();
    return rc;
}
