/* metrics.c -- Prometheus counters: requests by route and status, tasks by outcome, gauges.
 *
 * Counters are relaxed atomics touched by civetweb threads (requests) and a
 * nats.c thread (results); rendering reads them without a lock, which is what
 * Prometheus expects of independent counters.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "bus_names.h"
#include "log.h"
#include "nats_status.h"
#include "subscription.h"
#include "unpack.h"
#include "value.h"

static const char *const route_names[JT_ROUTE_COUNT] = {
    [JT_ROUTE_MEASURE] = "measure",
    [JT_ROUTE_TASK_GET] = "task_get",
    [JT_ROUTE_TASK_CANCEL] = "task_cancel",
    [JT_ROUTE_TASK_EVENTS] = "task_events",
    [JT_ROUTE_VALIDATE] = "validate",
    [JT_ROUTE_SOCKET0_STATUS] = "socket0_status",
    [JT_ROUTE_HEALTH] = "health",
    [JT_ROUTE_CAPABILITIES] = "capabilities",
    [JT_ROUTE_PING] = "ping",
    [JT_ROUTE_METRICS] = "metrics",
    [JT_ROUTE_BATCH_SUBMIT] = "batch_submit",
    [JT_ROUTE_BATCH_GET] = "batch_get",
    [JT_ROUTE_BATCH_CANCEL] = "batch_cancel",
    [JT_ROUTE_BATCH_EVENTS] = "batch_events",
    [JT_ROUTE_COMPARE] = "compare",
    [JT_ROUTE_UNKNOWN] = "unknown",
};

/* Slot i counts status_codes[i]; the last slot is "other". */
static const int status_codes[JT_METRICS_STATUS_SLOTS - 1] = {
    200, 202, 204, 400, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503, 504,
};

static const char *const outcome_names[JT_OUTCOME_COUNT] = {"completed", "failed", "cancelled"};

void jt_metrics_init(jt_metrics_t *m)
{
    memset(m, 0, sizeof *m);
    for (int r = 0; r < JT_ROUTE_COUNT; r++)
        for (int s = 0; s < JT_METRICS_STATUS_SLOTS; s++)
            atomic_init(&m->requests[r][s], 0);
    atomic_init(&m->submitted, 0);
    atomic_init(&m->idempotent_replays, 0);
    for (int o = 0; o < JT_OUTCOME_COUNT; o++)
        atomic_init(&m->outcomes[o], 0);
    atomic_init(&m->measurement_us, 0);
    m->results = NULL;
}

void jt_metrics_cleanup(jt_metrics_t *m)
{
    jt_subscription_retire(m->nc, m->results);
    m->results = NULL;
}

void jt_metrics_count_request(jt_metrics_t *m, jt_route_t route, int http_status)
{
    int slot = JT_METRICS_STATUS_SLOTS - 1;
    for (int i = 0; i < JT_METRICS_STATUS_SLOTS - 1; i++) {
        if (status_codes[i] == http_status) {
            slot = i;
            break;
        }
    }
    if ((unsigned)route >= JT_ROUTE_COUNT)
        route = JT_ROUTE_UNKNOWN;
    atomic_fetch_add_explicit(&m->requests[route][slot], 1, memory_order_relaxed);
}

void jt_metrics_count_result(jt_metrics_t *m, const char *status, double measurement_seconds)
{
    for (int o = 0; o < JT_OUTCOME_COUNT; o++) {
        if (status != NULL && strcmp(status, outcome_names[o]) == 0) {
            atomic_fetch_add_explicit(&m->outcomes[o], 1, memory_order_relaxed);
            break;
        }
    }
    if (measurement_seconds > 0 && measurement_seconds < 1e9)
        atomic_fetch_add_explicit(&m->measurement_us, (uint_fast64_t)(measurement_seconds * 1e6),
                                  memory_order_relaxed);
}

/* Sum of trials[].seconds of a final record, 0 when it has none. */
static double trial_seconds(const json_t *record)
{
    const json_t *trials = json_object_get(record, "trials");
    double sum = 0;
    size_t i;
    const json_t *t;
    json_array_foreach(trials, i, t)
    {
        const json_t *s = json_object_get(t, "seconds");
        if (json_is_number(s))
            sum += json_number_value(s);
    }
    return sum;
}

/* nats.c thread: one final record on jouletrace.result.<id>. Bad payloads and replays
 * (JT_HEADER_REPLAY) are ignored. */
static void on_result(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    jt_metrics_t *m = closure;
    msgpack_zone zone;
    msgpack_object obj;
    jt_error_t err;
    (void)nc;
    (void)sub;

    const char *replay = NULL; /* a finished task's record sent again: counted once already */
    if (natsMsgHeader_Get(msg, JT_HEADER_REPLAY, &replay) == NATS_OK) {
        natsMsg_Destroy(msg);
        return;
    }
    msgpack_zone_init(&zone, 4096);
    if (jt_unpack_value((const uint8_t *)natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
                        &zone, &obj, &err) == JT_OK) {
        json_t *record = jt_value_to_json(&obj, &err);
        if (json_is_object(record))
            jt_metrics_count_result(m, json_string_value(json_object_get(record, "status")),
                                    trial_seconds(record));
        json_decref(record);
    }
    msgpack_zone_destroy(&zone);
    natsMsg_Destroy(msg);
}

jt_status_t jt_metrics_watch_results(jt_metrics_t *m, natsConnection *nc)
{
    m->nc = nc;
    natsStatus s =
        natsConnection_Subscribe(&m->results, nc, JT_SUBJECT_RESULT_PREFIX "*", on_result, m);
    if (s != NATS_OK) {
        char why[256];
        jt_log_warn("metrics: cannot subscribe to results: %s",
                    jt_nats_describe(s, why, sizeof why));
        m->results = NULL;
        return JT_ERR_IO;
    }
    /* Results are small and rare next to requests; never drop them for slowness. */
    natsSubscription_SetPendingLimits(m->results, -1, -1);
    return JT_OK;
}

/* A growable text buffer with a hard maximum. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} textbuf_t;

#define METRICS_MAX_BYTES (1024 * 1024)

static void tb_printf(textbuf_t *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(textbuf_t *tb, const char *fmt, ...)
{
    if (tb->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(tb->data + tb->len, tb->cap - tb->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            tb->failed = 1;
            return;
        }
        if ((size_t)n < tb->cap - tb->len) {
            tb->len += (size_t)n;
            return;
        }
        size_t cap = tb->cap * 2;
        char *p = cap <= METRICS_MAX_BYTES ? realloc(tb->data, cap) : NULL;
        if (p == NULL) {
            tb->failed = 1;
            return;
        }
        tb->data = p;
        tb->cap = cap;
    }
}

static uint64_t load(atomic_uint_fast64_t *a)
{
    return (uint64_t)atomic_load_explicit(a, memory_order_relaxed);
}

char *jt_metrics_render(jt_metrics_t *m, const jt_metrics_gauges_t *g, size_t *len)
{
    textbuf_t tb = {malloc(8192), 0, 8192, 0};
    if (tb.data == NULL)
        return NULL;

    tb_printf(&tb, "# HELP jouletrace_http_requests_total HTTP requests answered, by route and "
                   "status.\n# TYPE jouletrace_http_requests_total counter\n");
    for (int r = 0; r < JT_ROUTE_COUNT; r++) {
        for (int s = 0; s < JT_METRICS_STATUS_SLOTS; s++) {
            uint64_t v = load(&m->requests[r][s]);
            if (v == 0)
                continue;
            char code[8];
            if (s < JT_METRICS_STATUS_SLOTS - 1)
                snprintf(code, sizeof code, "%d", status_codes[s]);
            else
                snprintf(code, sizeof code, "other");
            tb_printf(&tb, "jouletrace_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                      route_names[r], code, (unsigned long long)v);
        }
    }
    tb_printf(&tb,
              "# HELP jouletrace_tasks_submitted_total Jobs accepted (202) and published.\n"
              "# TYPE jouletrace_tasks_submitted_total counter\n"
              "jouletrace_tasks_submitted_total %llu\n",
              (unsigned long long)load(&m->submitted));
    tb_printf(&tb,
              "# HELP jouletrace_idempotent_replays_total POSTs answered with the task of an "
              "earlier Idempotency-Key.\n"
              "# TYPE jouletrace_idempotent_replays_total counter\n"
              "jouletrace_idempotent_replays_total %llu\n",
              (unsigned long long)load(&m->idempotent_replays));
    tb_printf(&tb, "# HELP jouletrace_tasks_total Tasks that ended, by outcome (results seen "
                   "by this gateway).\n# TYPE jouletrace_tasks_total counter\n");
    for (int o = 0; o < JT_OUTCOME_COUNT; o++)
        tb_printf(&tb, "jouletrace_tasks_total{outcome=\"%s\"} %llu\n", outcome_names[o],
                  (unsigned long long)load(&m->outcomes[o]));
    tb_printf(&tb,
              "# HELP jouletrace_measurement_seconds_total Seconds of measured trial windows "
              "of ended tasks.\n"
              "# TYPE jouletrace_measurement_seconds_total counter\n"
              "jouletrace_measurement_seconds_total %.6f\n",
              (double)load(&m->measurement_us) / 1e6);
    tb_printf(&tb,
              "# HELP jouletrace_pending_jobs Jobs in the queue, not yet acknowledged (-1: "
              "unknown).\n# TYPE jouletrace_pending_jobs gauge\njouletrace_pending_jobs %lld\n",
              (long long)g->pending_jobs);
    tb_printf(&tb,
              "# HELP jouletrace_live_workers Workers with a live heartbeat.\n"
              "# TYPE jouletrace_live_workers gauge\njouletrace_live_workers %d\n",
              g->live_workers);
    tb_printf(&tb,
              "# HELP jouletrace_calibrated_workers Live workers able to measure (fresh "
              "calibration or estimate meter).\n"
              "# TYPE jouletrace_calibrated_workers gauge\njouletrace_calibrated_workers %d\n",
              g->calibrated_workers);
    tb_printf(&tb,
              "# HELP jouletrace_nats_connected 1 when the gateway is connected to NATS.\n"
              "# TYPE jouletrace_nats_connected gauge\njouletrace_nats_connected %d\n",
              g->nats_connected);
    tb_printf(&tb,
              "# HELP jouletrace_sse_streams Open Server-Sent Events streams.\n"
              "# TYPE jouletrace_sse_streams gauge\njouletrace_sse_streams %d\n",
              g->sse_streams);
    if (tb.failed) {
        free(tb.data);
        return NULL;
    }
    *len = tb.len;
    return tb.data;
}
