/* batch_stand.c -- bench_batch's stand: the system on a drifting fake tree, HTTP, a lease clock. */
#include "batch_stand.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_http.h"
#include "proc_scan.h"

#define CALIBRATE_ROUNDS 10    /* jt_integrity_calibrate_before_step tries calibrate 5 times each */
#define QUIET_CORE_WAIT_S 60.0 /* before each round: wait this long at most for a quiet core */
#define READY_WAIT_S 90.0      /* the gateway counts every worker calibrated within this */
#define HTTP_ANSWER_MAX (64u << 20)

/* ---- the system ------------------------------------------------------------------------ */

/* Wait (at most `budget` s) until the measurement core was quiet for two half seconds in a
 * row: calibrate refuses a busy core, and other programs of this machine may use it. */
static void wait_quiet_core(int core, double budget)
{
    double until = jt_proc_now() + budget;
    int quiet = 0;
    while (quiet < 2 && jt_proc_now() < until) {
        long long a = jt_scan_busy_ticks(core);
        jt_proc_sleep_ms(500);
        long long b = jt_scan_busy_ticks(core);
        quiet = (a >= 0 && b >= 0 && b - a <= 1) ? quiet + 1 : 0;
    }
}

static int start_gateway(jt_batch_stand_t *s)
{
    char url[128], addr[64], cal[256];
    s->port = jt_proc_free_port();
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", s->nats.url);
    snprintf(addr, sizeof addr, "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", s->port);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s", s->tree.cal);
    const char *vars[] = {url, addr, cal, "JOULETRACE_HTTP_THREADS=16", "JOULETRACE_LOG_LEVEL=warn",
                          NULL};
    char *argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    snprintf(s->gateway.id, sizeof s->gateway.id, "gateway");
    snprintf(s->gateway.log, sizeof s->gateway.log, "%s/gateway.log", s->tree.dir);
    if (s->port < 0 || jt_proc_start(&s->gateway, argv, vars, false) != 0) {
        fprintf(stderr, "bench_batch: the gateway did not start\n");
        return -1;
    }
    return 0;
}

/* Start worker i (id bench-w<i>): rapl-sysfs on the stand's tree and calibration. */
static int start_worker(jt_batch_stand_t *s, int i)
{
    char v[9][256], sandbox[192];
    const jt_integrity_stand_t *t = &s->tree;
    jt_proc_t *w = &s->worker[i];
    snprintf(sandbox, sizeof sandbox, "%s/sandbox-w%d", t->dir, i);
    snprintf(v[0], sizeof v[0], "JOULETRACE_NATS_URL=%s", s->nats.url);
    snprintf(v[1], sizeof v[1], "JOULETRACE_WORKER_ID=bench-w%d", i);
    snprintf(v[2], sizeof v[2], "JOULETRACE_METER=rapl-sysfs");
    snprintf(v[3], sizeof v[3], "JOULETRACE_POWERCAP_ROOT=%s", t->rapl);
    snprintf(v[4], sizeof v[4], "JOULETRACE_MEASURE_CORE=%d", t->core);
    snprintf(v[5], sizeof v[5], "JOULETRACE_VALIDATE_CORE=%d", t->other_core);
    snprintf(v[6], sizeof v[6], "JOULETRACE_CALIBRATION=%s", t->cal);
    snprintf(v[7], sizeof v[7], "JOULETRACE_SANDBOX_DIR=%s", sandbox);
    snprintf(v[8], sizeof v[8], "JOULETRACE_LOG_LEVEL=info");
    const char *vars[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    snprintf(w->id, sizeof w->id, "worker bench-w%d", i);
    snprintf(w->log, sizeof w->log, "%s/worker-%d.log", t->dir, i);
    if (mkdir(sandbox, 0755) != 0 || jt_proc_start(w, argv, vars, false) != 0) {
        fprintf(stderr, "bench_batch: worker %d did not start\n", i);
        return -1;
    }
    return 0;
}

/* Wait until the gateway counts every worker calibrated, while they all live. */
static int wait_ready(jt_batch_stand_t *s)
{
    double until = jt_proc_now() + READY_WAIT_S;
    while (jt_proc_now() < until) {
        for (int i = 0; i < JT_BATCH_STAND_WORKERS; i++)
            if (!jt_proc_alive(s->worker[i].pid)) {
                fprintf(stderr, "bench_batch: worker %d exited during start\n", i);
                return -1;
            }
        if (jt_bench_wait_health(s->port, &s->gateway, JT_BATCH_STAND_WORKERS) == 0)
            return 0;
        if (!jt_proc_alive(s->gateway.pid)) {
            fprintf(stderr, "bench_batch: the gateway exited during start\n");
            return -1;
        }
    }
    fprintf(stderr, "bench_batch: the gateway did not count %d calibrated workers in %.0f s\n",
            JT_BATCH_STAND_WORKERS, READY_WAIT_S);
    return -1;
}

int jt_batch_stand_start(jt_batch_stand_t *s)
{
    jt_integrity_stand_t *t = &s->tree;
    /* the sandbox user must reach the workers' sandbox directories */
    if (chmod(t->dir, 0711) != 0 || jt_integrity_stand_init(t) != 0 ||
        jt_integrity_pin(t->other_core) != 0) {
        fprintf(stderr, "bench_batch: cannot prepare %s: %s\n", t->dir, strerror(errno));
        return -1;
    }
    int rc = -1;
    for (int round = 1; round <= CALIBRATE_ROUNDS && rc != 0; round++) {
        wait_quiet_core(t->core, QUIET_CORE_WAIT_S);
        rc = jt_integrity_calibrate_before_step(t);
        if (rc != 0)
            fprintf(stderr, "bench_batch: calibration round %d of %d failed (is core %d busy?)\n",
                    round, CALIBRATE_ROUNDS, t->core);
    }
    if (rc != 0)
        return -1;
    /* nats-server's private directory goes under the stand's, which the guard removes even
     * after a SIGKILL of everything (TMPDIR only for this call: the workers do not get it) */
    const char *old = getenv("TMPDIR");
    char *saved = old != NULL ? strdup(old) : NULL;
    setenv("TMPDIR", t->dir, 1);
    rc = jt_nats_server_start(&s->nats);
    if (saved != NULL)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    if (rc != 0)
        return -1;
    jt_error_t err;
    if (jt_bus_connect(s->nats.url, "bench-batch", NULL, &s->bus, &err) != JT_OK) {
        fprintf(stderr, "bench_batch: %s\n", err.message);
        return -1;
    }
    s->bus_open = true;
    if (start_gateway(s) != 0)
        return -1;
    for (int i = 0; i < JT_BATCH_STAND_WORKERS; i++)
        if (start_worker(s, i) != 0)
            return -1;
    return wait_ready(s);
}

void jt_batch_stand_stop(jt_batch_stand_t *s)
{
    for (int i = 0; i < JT_BATCH_STAND_WORKERS; i++)
        jt_proc_stop(&s->worker[i].pid, SIGTERM, 30.0, false);
    jt_proc_stop(&s->gateway.pid, SIGTERM, 15.0, false);
    if (s->bus_open)
        jt_bus_close(&s->bus);
    s->bus_open = false;
    jt_nats_server_stop(&s->nats);
    if (s->tree.fake.pid > 0)
        jt_fake_rapl_stop(&s->tree.fake);
}

void jt_batch_stand_dump_logs(const jt_batch_stand_t *s)
{
    jt_proc_dump_log("gateway", s->gateway.log, 3000);
    for (int i = 0; i < JT_BATCH_STAND_WORKERS; i++)
        jt_proc_dump_log(s->worker[i].id, s->worker[i].log, 6000);
}

/* ---- HTTP ------------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    bool too_big;
} answer_buf_t;

static size_t on_answer(char *p, size_t size, size_t n, void *arg)
{
    answer_buf_t *b = arg;
    size_t k = size * n;
    if (b->too_big || b->len + k > HTTP_ANSWER_MAX) {
        b->too_big = true;
        return k; /* dropped: the answer will not parse */
    }
    char *grown = realloc(b->data, b->len + k + 1);
    if (grown == NULL) {
        b->too_big = true;
        return k;
    }
    b->data = grown;
    memcpy(b->data + b->len, p, k);
    b->len += k;
    b->data[b->len] = '\0';
    return k;
}

long jt_batch_stand_http(const jt_batch_stand_t *s, const char *method, const char *path,
                         const char *body, json_t **answer)
{
    answer_buf_t b = {NULL, 0, false};
    struct curl_slist *hdrs = body != NULL ? jt_bench_json_headers() : NULL;
    CURL *c = jt_bench_http_handle(s->port, path, false, NULL, NULL);
    long status = -1;
    if (answer != NULL)
        *answer = NULL;
    if (c == NULL || (body != NULL && hdrs == NULL))
        goto out;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    }
    if (curl_easy_perform(c) != CURLE_OK)
        goto out;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (answer != NULL && b.data != NULL && !b.too_big)
        *answer = json_loadb(b.data, b.len, 0, NULL);
out:
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(b.data);
    return status;
}

/* ---- the lease clock -------------------------------------------------------------------- */

/* Watcher thread: record every change of the bucket. */
static void *clock_main(void *arg)
{
    jt_lease_clock_t *c = arg;
    for (;;) {
        kvEntry *e = NULL;
        natsStatus st = kvWatcher_Next(&e, c->w, 1000);
        if (st == NATS_TIMEOUT)
            continue;
        if (st != NATS_OK)
            break; /* stopped */
        if (e == NULL)
            continue; /* the marker after the initial values */
        jt_lease_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.op = (int)kvEntry_Operation(e);
        ev.ns = (long long)kvEntry_Created(e);
        snprintf(ev.key, sizeof ev.key, "%s", kvEntry_Key(e));
        json_t *v = kvEntry_ValueLen(e) > 0
                        ? json_loadb(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), 0, NULL)
                        : NULL;
        const char *task = json_string_value(json_object_get(v, "task_id"));
        snprintf(ev.task, sizeof ev.task, "%s", task ? task : "");
        json_decref(v);
        kvEntry_Destroy(e);
        pthread_mutex_lock(&c->lock);
        if (c->n < JT_LEASE_CLOCK_MAX_EVENTS)
            c->ev[c->n++] = ev;
        pthread_mutex_unlock(&c->lock);
    }
    return NULL;
}

int jt_lease_clock_start(jt_lease_clock_t *c, jt_bus_t *bus)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->ev = calloc(JT_LEASE_CLOCK_MAX_EVENTS, sizeof *c->ev);
    if (c->ev == NULL || kvStore_WatchAll(&c->w, bus->leases, NULL) != NATS_OK)
        goto fail;
    if (pthread_create(&c->thread, NULL, clock_main, c) != 0) {
        kvWatcher_Destroy(c->w);
        goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "bench_batch: cannot watch the lease bucket\n");
    free(c->ev);
    pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof *c);
    return -1;
}

void jt_lease_clock_stop(jt_lease_clock_t *c)
{
    if (c->w == NULL)
        return;
    kvWatcher_Stop(c->w);
    pthread_join(c->thread, NULL);
    kvWatcher_Destroy(c->w);
    free(c->ev);
    pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof *c);
}

double jt_lease_clock_held(jt_lease_clock_t *c, const char *task, int *holds)
{
    /* one lease key per socket: follow each key's holder through the events in order */
    enum { MAX_KEYS = 8 };
    struct {
        char key[96], task[160];
        long long since;
    } k[MAX_KEYS];
    size_t nk = 0;
    double held = 0;
    int count = 0;
    long long last = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        const jt_lease_event_t *e = &c->ev[i];
        last = e->ns;
        size_t j = 0;
        while (j < nk && strcmp(k[j].key, e->key) != 0)
            j++;
        if (j == nk) {
            if (nk == MAX_KEYS)
                continue;
            snprintf(k[nk].key, sizeof k[nk].key, "%s", e->key);
            k[nk].task[0] = '\0';
            nk++;
        }
        bool put = e->op == kvOp_Put;
        bool ends = !put || strcmp(k[j].task, e->task) != 0; /* a renewal ends nothing */
        if (ends && k[j].task[0] != '\0') {
            if (strcmp(k[j].task, task) == 0) {
                held += (double)(e->ns - k[j].since) / 1e9;
                count++;
            }
            k[j].task[0] = '\0';
        }
        if (put && k[j].task[0] == '\0') {
            snprintf(k[j].task, sizeof k[j].task, "%s", e->task);
            k[j].since = e->ns;
        }
    }
    for (size_t j = 0; j < nk; j++)
        if (k[j].task[0] != '\0' && strcmp(k[j].task, task) == 0) {
            held += (double)(last - k[j].since) / 1e9;
            count++;
        }
    pthread_mutex_unlock(&c->lock);
    if (holds != NULL)
        *holds = count;
    return held;
}
