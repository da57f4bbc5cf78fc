/* soak_client.c -- the soak bench's clients: threads that submit trivial jobs and follow them.
 * client_main runs on each client's own thread and touches only that client's handles and
 * figures (plus the relaxed live totals); soak_floor_measure runs on the caller's thread. */
#include "soak_client.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX (1u << 20)   /* bytes of one answer, or of one line of a stream, kept */
#define DEFAULT_RETRY_S 1     /* the wait after a 429 or 503 without Retry-After */
#define REQUEST_TIMEOUT_S 30L /* the gateway's own request timeout */
#define ID_MAX 160

const char *const SOAK_GET_PATH[SOAK_GET_KINDS] = {"/api/v1/tasks/{id}", "/api/v1/health",
                                                   "/api/v1/socket0/status", "/ping"};

/* Two test cases, one measured trial pair more than the minimum, nothing else: a cheap job. */
static const char JOB_BODY[] =
    "{\"candidate_code\":\"def solve(x):\\n    return x + 1\\n\",\"function_name\":\"solve\","
    "\"test_cases\":[{\"test_id\":\"t1\",\"inputs\":[1],\"expected_output\":2},"
    "{\"test_id\":\"t2\",\"inputs\":[41],\"expected_output\":42}],"
    "\"energy_measurement_trials\":2,\"warmup_trials\":0,\"min_trial_seconds\":0,"
    "\"timeout_seconds\":20,\"problem_name\":\"soak\"}";

typedef struct {
    char *data; /* BODY_MAX bytes, NUL-terminated */
    size_t len;
    bool over; /* more than BODY_MAX arrived: the rest was dropped */
} buf_t;

/* One client's working state (client_main's stack). */
typedef struct {
    const soak_plan_t *plan;
    soak_stats_t *st;
    int index;
    CURL *h;   /* POSTs and GETs: one keep-alive connection */
    CURL *sse; /* event streams */
    struct curl_slist *hdrs;
    buf_t body; /* the last answer on h */
    buf_t line; /* the line of a stream being read */
} run_t;

/* An event stream being read. */
typedef struct {
    run_t *r;
    char event[32];
    json_t *result; /* the final record, once its event arrived (owned) */
    long events;
    double t_open;
    bool bad; /* an event that is not a task record */
} sse_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool aborted(const run_t *r)
{
    return atomic_load_explicit(r->plan->abort, memory_order_relaxed) != 0;
}

/* Sleep ms milliseconds in short slices, returning early on abort. */
static void pause_ms(const run_t *r, long ms)
{
    double until = now_s() + (double)ms / 1000.0;
    while (!aborted(r) && now_s() < until) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void buf_add(buf_t *b, const char *p, size_t k)
{
    if (b->over || b->len + k + 1 > BODY_MAX) {
        b->over = true;
        return;
    }
    memcpy(b->data + b->len, p, k);
    b->len += k;
    b->data[b->len] = '\0';
}

static void buf_reset(buf_t *b)
{
    b->len = 0;
    b->over = false;
    b->data[0] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    buf_add(arg, p, size * n);
    return size * n;
}

/* Stop a transfer at once when the bench is told to stop. */
static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return aborted(arg) ? 1 : 0;
}

int soak_samples_add(soak_samples_t *s, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *p = realloc(s->v, cap * sizeof *p);
        if (p == NULL)
            return -1;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

/* Count one error of class kind; the first one is kept in words. Nothing once aborted. */
static void fail(run_t *r, soak_err_t kind, const char *fmt, ...)
{
    if (aborted(r))
        return;
    r->st->errors[kind]++;
    atomic_fetch_add_explicit(&r->plan->live->errors, 1, memory_order_relaxed);
    if (r->st->first_error[0] != '\0')
        return;
    int n = snprintf(r->st->first_error, sizeof r->st->first_error, "client %d: ", r->index);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->st->first_error + n, sizeof r->st->first_error - (size_t)n, fmt, ap);
    va_end(ap);
}

static CURL *new_handle(run_t *r, buf_t *out)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return NULL;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
    return h;
}

/* Retry-After of h's last answer in seconds, or -1 when absent. */
static long retry_after(CURL *h)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return -1;
    return atol(hd->value);
}

/* One request on r->h: the job POSTed, or a GET of path (its latency kept under kind). Returns
 * the HTTP status with the body in r->body, or -1 without an answer (counted unless aborted). */
static long request(run_t *r, bool post, soak_get_t kind, const char *path, long *retry)
{
    char url[96 + ID_MAX];
    long status = -1;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", r->plan->port, path);
    buf_reset(&r->body);
    curl_easy_setopt(r->h, CURLOPT_URL, url);
    if (post) {
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, JOB_BODY);
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, (long)sizeof JOB_BODY - 1);
        curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
    } else {
        curl_easy_setopt(r->h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, NULL);
    }
    atomic_fetch_add_explicit(&r->plan->live->requests, 1, memory_order_relaxed);
    CURLcode rc = curl_easy_perform(r->h);
    if (rc != CURLE_OK) {
        fail(r, SOAK_ERR_TRANSPORT, "%s %s: %s", post ? "POST" : "GET", path,
             curl_easy_strerror(rc));
        return -1;
    }
    curl_off_t us = 0;
    curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->h, CURLINFO_TOTAL_TIME_T, &us);
    *retry = retry_after(r->h);
    if (post) {
        r->st->n[SOAK_POSTS]++;
        if (status == 202)
            soak_samples_add(&r->st->t[SOAK_T_POST], (double)us / 1000.0);
    } else {
        soak_samples_add(&r->st->t[kind], (double)us / 1000.0);
    }
    return status;
}

/* Whether status is the designed "retry later" (429, or 503 with Retry-After): counted, and
 * waited out as told. */
static bool busy(run_t *r, long status, long retry)
{
    if (status != 429 && !(status == 503 && retry >= 0))
        return false;
    r->st->n[status == 429 ? SOAK_BUSY_429 : SOAK_BUSY_503]++;
    if (retry < 0)
        r->st->n[SOAK_BUSY_BARE]++;
    pause_ms(r, 1000L * (retry >= 0 ? retry : DEFAULT_RETRY_S));
    return true;
}

/* The body of r's last answer as a JSON object, or NULL (a JSON error counted). */
static json_t *body_object(run_t *r, const char *what)
{
    json_t *j = r->body.over ? NULL : json_loadb(r->body.data, r->body.len, 0, NULL);
    if (json_is_object(j))
        return j;
    json_decref(j);
    fail(r, SOAK_ERR_JSON, "%s: not a JSON object (%zu bytes): %.120s", what, r->body.len,
         r->body.len ? r->body.data : "");
    return NULL;
}

/* A GET that must answer 200 with a JSON object; NULL otherwise (error or busy counted). */
static json_t *get_object(run_t *r, soak_get_t kind, const char *path)
{
    long retry = -1;
    long status = request(r, false, kind, path, &retry);
    if (status == 200)
        return body_object(r, path);
    if (status > 0 && !busy(r, status, retry))
        fail(r, SOAK_ERR_STATUS, "GET %s answered %ld: %.160s", path, status,
             r->body.len ? r->body.data : "");
    return NULL;
}

/* GET health and socket0 status once each. */
static void side_gets(run_t *r)
{
    json_t *h = get_object(r, SOAK_GET_HEALTH, SOAK_GET_PATH[SOAK_GET_HEALTH]);
    if (h != NULL) {
        const char *s = json_string_value(json_object_get(h, "status"));
        json_t *w = json_object_get(json_object_get(h, "checks"), "workers");
        if (s == NULL || !json_is_integer(json_object_get(w, "live")))
            fail(r, SOAK_ERR_JSON, "health without status or checks.workers.live");
        else if (json_integer_value(json_object_get(w, "live")) < r->plan->workers)
            r->st->n[SOAK_HEALTH_SHORT]++;
        json_decref(h);
    }
    json_decref(get_object(r, SOAK_GET_STATUS, SOAK_GET_PATH[SOAK_GET_STATUS]));
}

static bool terminal(const char *s)
{
    return s != NULL &&
           (!strcmp(s, "completed") || !strcmp(s, "failed") || !strcmp(s, "cancelled"));
}

/* Judge an ended task: completed, every test passed, energy figures present. */
static void judge(run_t *r, const char *id, const json_t *rec, double t_accepted)
{
    const char *status = json_string_value(json_object_get(rec, "status"));
    const json_t *v = json_object_get(rec, "validation");
    if (status != NULL && strcmp(status, "completed") == 0 &&
        json_is_true(json_object_get(v, "is_correct")) &&
        json_is_object(json_object_get(rec, "energy_metrics"))) {
        r->st->n[SOAK_JOBS_COMPLETED]++;
        atomic_fetch_add_explicit(&r->plan->live->jobs, 1, memory_order_relaxed);
        soak_samples_add(&r->st->t[SOAK_T_JOB], now_s() - t_accepted);
        return;
    }
    const char *et = json_string_value(json_object_get(rec, "error_type"));
    const char *e = json_string_value(json_object_get(rec, "error"));
    fail(r, SOAK_ERR_FAILED, "task %s ended %s, is_correct %s (%s: %.160s)", id,
         status ? status : "?", json_is_true(json_object_get(v, "is_correct")) ? "true" : "false",
         et ? et : "-", e ? e : "-");
}

/* When the job accepted at t0 must have ended. */
static double job_deadline(const run_t *r, double t0)
{
    double d = t0 + SOAK_JOB_WAIT_S;
    return d < r->plan->drain_until ? d : r->plan->drain_until;
}

/* Poll the task until it ends; an unexpected answer gives the job up (error counted). */
static void follow_poll(run_t *r, const char *id, double t0)
{
    char path[64 + ID_MAX], last[32] = "none";
    double deadline = job_deadline(r, t0);
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    for (long polls = 1; !aborted(r); polls++) {
        if (now_s() > deadline) {
            fail(r, SOAK_ERR_STUCK, "task %s not ended %.0f s after its 202 (last status %s)", id,
                 now_s() - t0, last);
            return;
        }
        long busy_before = r->st->n[SOAK_BUSY_429] + r->st->n[SOAK_BUSY_503];
        json_t *rec = get_object(r, SOAK_GET_TASK, path);
        if (rec == NULL && r->st->n[SOAK_BUSY_429] + r->st->n[SOAK_BUSY_503] == busy_before)
            return; /* an error, counted: give the job up */
        const char *s = json_string_value(json_object_get(rec, "status"));
        if (rec != NULL && s == NULL) {
            fail(r, SOAK_ERR_JSON, "task %s: record without status", id);
            json_decref(rec);
            return;
        }
        if (s != NULL)
            snprintf(last, sizeof last, "%s", s);
        if (terminal(s)) {
            judge(r, id, rec, t0);
            json_decref(rec);
            return;
        }
        json_decref(rec);
        if (polls % SOAK_SIDE_EVERY == 0)
            side_gets(r);
        pause_ms(r, SOAK_POLL_MS);
    }
}

/* One line of the stream. The gateway sends "id:", "event:", then the record on one "data:"
 * line; a blank line ends the event, a line starting with ':' is a heartbeat. */
static void sse_line(sse_t *s, char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    if (strncmp(line, "event: ", 7) == 0) {
        snprintf(s->event, sizeof s->event, "%s", line + 7);
    } else if (strncmp(line, "data: ", 6) == 0) {
        if (s->events++ == 0)
            soak_samples_add(&s->r->st->t[SOAK_T_SSE_FIRST], (now_s() - s->t_open) * 1000.0);
        json_t *rec = json_loadb(line + 6, len - 6, 0, NULL);
        if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "status")))
            s->bad = true;
        else if (strcmp(s->event, "result") == 0 && s->result == NULL)
            s->result = json_incref(rec);
        json_decref(rec);
    } else if (len == 0) {
        s->event[0] = '\0';
    }
}

static size_t on_sse(char *p, size_t size, size_t n, void *arg)
{
    sse_t *s = arg;
    size_t k = size * n;
    for (size_t i = 0; i < k;) {
        char *nl = memchr(p + i, '\n', k - i);
        size_t take = nl != NULL ? (size_t)(nl - (p + i)) : k - i;
        buf_t *line = &s->r->line;
        buf_add(line, p + i, take);
        i += take;
        if (nl == NULL)
            break;
        i++;
        if (line->over)
            s->bad = true;
        else
            sse_line(s, line->data, line->len);
        buf_reset(line);
    }
    return k;
}

/* Read the task's event stream until its result; a refused stream falls back to polling. */
static void follow_stream(run_t *r, const char *id, double t0)
{
    char url[96 + ID_MAX];
    sse_t s = {.r = r};
    long status = -1;
    double deadline = job_deadline(r, t0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/tasks/%s/events", r->plan->port, id);
    curl_easy_setopt(r->sse, CURLOPT_URL, url);
    curl_easy_setopt(r->sse, CURLOPT_WRITEDATA, &s);
    buf_reset(&r->line);
    long ms = (long)((deadline - now_s()) * 1000.0);
    curl_easy_setopt(r->sse, CURLOPT_TIMEOUT_MS, ms > 1 ? ms : 1L);
    atomic_fetch_add_explicit(&r->plan->live->requests, 1, memory_order_relaxed);
    s.t_open = now_s();
    CURLcode rc = curl_easy_perform(r->sse);
    curl_easy_getinfo(r->sse, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200)
        r->st->n[SOAK_SSE_OPENED]++;
    r->st->n[SOAK_SSE_EVENTS] += s.events;
    if (s.result != NULL) {
        r->st->n[SOAK_SSE_DONE]++;
        judge(r, id, s.result, t0);
    } else if (rc == CURLE_OPERATION_TIMEDOUT && status == 200) {
        fail(r, SOAK_ERR_STUCK, "task %s: no result event %.0f s after its 202 (%ld events)", id,
             now_s() - t0, s.events);
    } else if (rc != CURLE_OK) {
        fail(r, SOAK_ERR_TRANSPORT, "events of %s: %s", id, curl_easy_strerror(rc));
    } else if (status != 200) {
        if (status == 429)
            r->st->n[SOAK_SSE_REFUSED]++;
        if (!busy(r, status, retry_after(r->sse)))
            fail(r, SOAK_ERR_STATUS, "GET events of %s answered %ld", id, status);
        else if (!aborted(r))
            follow_poll(r, id, t0);
    } else {
        fail(r, SOAK_ERR_STREAM, "events of %s ended after %ld events without a result", id,
             s.events);
    }
    if (s.bad)
        fail(r, SOAK_ERR_JSON, "events of %s: an event that is not a task record", id);
    json_decref(s.result);
}

/* POST the job until one is accepted (its id into id) or the schedule ends. Returns 0 with a
 * job, -1 without (an error counted, after a pause; or past plan->until; or aborted). */
static int submit(run_t *r, char *id, size_t len)
{
    while (!aborted(r) && now_s() < r->plan->until) {
        long retry = -1;
        long status = request(r, true, SOAK_GET_KINDS, "/api/v1/measure-socket0", &retry);
        if (status == 202) {
            json_t *j = body_object(r, "POST");
            const char *t = json_string_value(json_object_get(j, "task_id"));
            const char *s = json_string_value(json_object_get(j, "status"));
            int rc = -1;
            if (t != NULL && s != NULL && strlen(t) < len) {
                snprintf(id, len, "%s", t);
                r->st->n[SOAK_ACCEPTED]++;
                rc = 0;
            } else if (j != NULL) {
                fail(r, SOAK_ERR_JSON, "202 without task_id or status");
            }
            json_decref(j);
            if (rc == 0)
                return 0;
        } else if (status > 0 && busy(r, status, retry)) {
            continue;
        } else if (status > 0) {
            fail(r, SOAK_ERR_STATUS, "POST answered %ld: %.160s", status,
                 r->body.len ? r->body.data : "");
        }
        pause_ms(r, 1000L * DEFAULT_RETRY_S);
        return -1;
    }
    return -1;
}

static int run_init(run_t *r, const soak_plan_t *plan, soak_stats_t *st, int index)
{
    memset(r, 0, sizeof *r);
    r->plan = plan;
    r->st = st;
    r->index = index;
    r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (r->hdrs != NULL)
        r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    r->body.data = malloc(BODY_MAX);
    r->line.data = malloc(BODY_MAX);
    r->h = new_handle(r, &r->body);
    r->sse = new_handle(r, NULL);
    if (r->hdrs == NULL || r->body.data == NULL || r->line.data == NULL || r->h == NULL ||
        r->sse == NULL)
        return -1;
    curl_easy_setopt(r->h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    curl_easy_setopt(r->sse, CURLOPT_WRITEFUNCTION, on_sse);
    return 0;
}

static void run_cleanup(run_t *r)
{
    curl_easy_cleanup(r->h);
    curl_easy_cleanup(r->sse);
    curl_slist_free_all(r->hdrs);
    free(r->body.data);
    free(r->line.data);
}

static void *client_main(void *arg)
{
    soak_client_t *c = arg;
    run_t r;
    bool ready = run_init(&r, c->plan, &c->stats, c->index) == 0;
    if (!ready)
        fail(&r, SOAK_ERR_TRANSPORT, "cannot set up libcurl handles");
    pause_ms(&r, (c->index * 37) % 2000); /* spread the first requests */
    while (ready && !aborted(&r) && now_s() < r.plan->until) {
        char id[ID_MAX];
        side_gets(&r);
        if (submit(&r, id, sizeof id) != 0)
            continue;
        double t0 = now_s();
        if (c->streams)
            follow_stream(&r, id, t0);
        else
            follow_poll(&r, id, t0);
    }
    run_cleanup(&r);
    atomic_fetch_sub(&c->plan->live->running, 1);
    return NULL;
}

int soak_client_start(soak_client_t *c)
{
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    /* Only the main thread takes the stop signals: clients inherit them blocked. */
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    atomic_fetch_add(&c->plan->live->running, 1);
    c->started = pthread_create(&c->thread, NULL, client_main, c) == 0;
    if (!c->started)
        atomic_fetch_sub(&c->plan->live->running, 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return c->started ? 0 : -1;
}

void soak_client_join(soak_client_t *c)
{
    if (c->started)
        pthread_join(c->thread, NULL);
    c->started = false;
}

long soak_stats_errors(const soak_stats_t *s)
{
    long n = 0;
    for (int i = 0; i < SOAK_ERR_KINDS; i++)
        n += s->errors[i];
    return n;
}

int soak_stats_merge(soak_stats_t *into, const soak_stats_t *from)
{
    int rc = 0;
    for (int i = 0; i < SOAK_COUNTS; i++)
        into->n[i] += from->n[i];
    for (int i = 0; i < SOAK_ERR_KINDS; i++)
        into->errors[i] += from->errors[i];
    for (int i = 0; i < SOAK_TIMINGS; i++)
        for (size_t k = 0; rc == 0 && k < from->t[i].n; k++)
            rc = soak_samples_add(&into->t[i], from->t[i].v[k]);
    if (into->first_error[0] == '\0')
        memcpy(into->first_error, from->first_error, sizeof into->first_error);
    return rc;
}

void soak_stats_cleanup(soak_stats_t *s)
{
    for (int i = 0; i < SOAK_TIMINGS; i++)
        free(s->t[i].v);
    memset(s, 0, sizeof *s);
}

/* A plan for work on the caller's thread: `seconds` to submit, twice that to end. */
static void solo_plan(soak_plan_t *plan, soak_live_t *live, int port, double seconds)
{
    static const atomic_int never = 0;
    memset(plan, 0, sizeof *plan);
    plan->port = port;
    plan->until = now_s() + seconds;
    plan->drain_until = plan->until + seconds;
    plan->abort = &never;
    plan->live = live;
}

int soak_floor_measure(int port, int rounds, soak_stats_t *s)
{
    soak_plan_t plan;
    soak_live_t live = {0};
    soak_stats_t first;
    run_t r;
    char id[ID_MAX], task[64 + ID_MAX];
    memset(&first, 0, sizeof first);
    solo_plan(&plan, &live, port, 60.0);
    int rc = run_init(&r, &plan, &first, 0) == 0 && submit(&r, id, sizeof id) == 0 ? 0 : -1;
    if (rc == 0)
        follow_poll(&r, id, now_s());
    if (rc != 0 || first.n[SOAK_JOBS_COMPLETED] != 1) {
        fprintf(stderr, "bench_soak: the first job did not complete: %s\n",
                first.first_error[0] ? first.first_error : "no job accepted");
        rc = -1;
    }
    r.st = s; /* from here on the figures are the floor's */
    snprintf(task, sizeof task, "/api/v1/tasks/%s", id);
    for (int i = 0; rc == 0 && i < rounds; i++)
        for (int k = SOAK_GET_PING; rc == 0 && k >= 0; k--) {
            long retry = -1;
            const char *path = k == SOAK_GET_TASK ? task : SOAK_GET_PATH[k];
            if (request(&r, false, (soak_get_t)k, path, &retry) != 200) {
                fprintf(stderr, "bench_soak: idle GET %s failed\n", path);
                rc = -1;
            }
        }
    run_cleanup(&r);
    soak_stats_cleanup(&first);
    return rc;
}
