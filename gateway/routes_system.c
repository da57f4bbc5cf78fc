/* routes_system.c -- validate (request/reply to a worker), socket0 status, health, capabilities,
 * ping and metrics.
 *
 * Runs on civetweb worker threads. Only /validate and /socket0/status talk to
 * NATS per request; health and metrics read the view's snapshot.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus_names.h"
#include "gateway.h"
#include "job_msgpack.h"
#include "log.h"
#include "unpack.h"

#define VALIDATE_EXTRA_MS 10000
#define VALIDATE_MAX_MS 120000
#define ISOLATED_PATH "/sys/devices/system/cpu/isolated"
#define LEASE_MAX_BYTES (16 * 1024)

/* ---- POST /api/v1/validate ---------------------------------------------------------- */

/* Worker errors that describe the job, not the worker: 422. */
static bool job_error(const char *e)
{
    static const char *const names[] = {"invalid",       "invalid_job", "validation_error",
                                        "unknown_field", "missing",     "too_large",
                                        "too_deep"};
    for (size_t i = 0; e != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(e, names[i]) == 0)
            return true;
    return false;
}

void jt_route_validate(jt_gw_t *gw, jt_req_t *req)
{
    jt_job_t job;
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    natsMsg *reply = NULL;

    if (jt_gw_read_job_or_reply(gw, req, &job) != 0)
        return;
    jt_bus_t *bus = jt_view_bus_connected(gw->view);
    if (bus == NULL) {
        jt_gw_reply_nats_down(req);
        goto out;
    }
    if (jt_job_to_msgpack(&job, &wire, &wire_len) != JT_OK) {
        jt_http_reply_error(req, 503, "out_of_memory", NULL, NULL, "out of memory; retry");
        goto out;
    }
    double ms = job.timeout_seconds * 1000.0 * (double)job.n_test_cases + VALIDATE_EXTRA_MS;
    int64_t timeout_ms = ms > VALIDATE_MAX_MS ? VALIDATE_MAX_MS : (int64_t)ms;
    natsStatus s = natsConnection_Request(&reply, bus->nc, JT_SUBJECT_VALIDATE, wire, (int)wire_len,
                                          timeout_ms);
    if (s == NATS_NO_RESPONDERS) {
        jt_http_reply_error(req, 503, "no_workers", NULL, NULL,
                            "no worker answers validation requests; start jouletrace-worker");
        goto out;
    }
    if (s == NATS_TIMEOUT) {
        jt_http_reply_errorf(req, 503, "validate_timeout", NULL,
                             json_pack("{s:I}", "timeout_ms", (json_int_t)timeout_ms),
                             "no worker answered within %lld ms; retry later",
                             (long long)timeout_ms);
        goto out;
    }
    if (s == NATS_MAX_PAYLOAD) {
        jt_http_reply_error(req, 413, "payload_too_large", "", NULL,
                            "the job exceeds the broker's max_payload");
        goto out;
    }
    if (s != NATS_OK) {
        jt_gw_reply_nats_down(req);
        goto out;
    }
    /* A msgpack map (docs/bus.md); a worker from before that answered in JSON text. */
    jt_error_t uerr;
    const char *data = natsMsg_GetData(reply);
    size_t len = (size_t)natsMsg_GetDataLength(reply);
    json_t *body = jt_unpack_json(data, len, &uerr);
    if (body == NULL && len > 0 && data[0] == '{')
        body = json_loadb(data, len, 0, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        jt_http_reply_error(req, 502, "bad_worker_reply", NULL, NULL,
                            "the worker's answer is not a msgpack map");
        goto out;
    }
    const char *werr = json_string_value(json_object_get(body, "error"));
    if (werr != NULL && json_object_get(body, "validation") == NULL) {
        const char *msg = json_string_value(json_object_get(body, "message"));
        json_t *d = json_pack("{s:s}", "worker_error", werr);
        jt_http_reply_error(req, job_error(werr) ? 422 : 503, werr, NULL, d,
                            msg != NULL ? msg : "the worker could not validate this job");
        json_decref(body);
        goto out;
    }
    jt_http_reply_json(req, 200, body, NULL);

out:
    natsMsg_Destroy(reply);
    free(wire);
    jt_job_cleanup(&job);
}

/* ---- GET /api/v1/socket0/status -------------------------------------------------------- */

/* Whether cpu is in a kernel cpulist like "2-3,6". */
static bool cpulist_has(const char *list, int cpu)
{
    const char *p = list;
    while (*p != '\0') {
        char *end;
        long a = strtol(p, &end, 10);
        if (end == p)
            return false;
        long b = a;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1)
                return false;
            p = end;
        }
        if (cpu >= a && cpu <= b)
            return true;
        if (*p == ',')
            p++;
        else if (*p != '\0' && !isspace((unsigned char)*p))
            return false;
        else
            break;
    }
    return false;
}

static void read_isolated(char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(ISOLATED_PATH, "r");
    if (f == NULL)
        return;
    if (fgets(buf, (int)len, f) == NULL)
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

/* The measurement core by the worker's rule when no worker reports one:
 * JOULETRACE_MEASURE_CORE, else core 4 when it exists, else the highest core. */
static int configured_core(const jt_gw_t *gw)
{
    if (gw->cfg.measure_core >= 0)
        return gw->cfg.measure_core;
    long n = sysconf(_SC_NPROCESSORS_CONF);
    if (n > 4)
        return 4;
    return n > 0 ? (int)n - 1 : 0;
}

/* Every lease in JT_KV_LEASES: [{"domain", "holder", "task_id", "acquired_at"}]. */
static json_t *read_leases(jt_bus_t *bus)
{
    kvKeysList keys = {NULL, 0};
    natsStatus s = kvStore_Keys(&keys, bus->leases, NULL);
    if (s == NATS_NOT_FOUND)
        return json_array();
    if (s != NATS_OK)
        return NULL;
    json_t *arr = json_array();
    for (int i = 0; arr != NULL && i < keys.Count; i++) {
        kvEntry *e = NULL;
        if (kvStore_Get(&e, bus->leases, keys.Keys[i]) != NATS_OK)
            continue;
        int len = kvEntry_ValueLen(e);
        json_t *v = len > 0 && len <= LEASE_MAX_BYTES
                        ? json_loadb(kvEntry_Value(e), (size_t)len, 0, NULL)
                        : NULL;
        if (!json_is_object(v)) {
            json_decref(v);
            v = json_object();
        }
        json_object_set_new(v, "domain", json_string(keys.Keys[i]));
        json_object_set_new(v, "revision", json_integer((json_int_t)kvEntry_Revision(e)));
        json_array_append_new(arr, v);
        kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&keys);
    return arr;
}

/* Of the heartbeats in workers: how many report a fresh calibration (*calibrated) and how
 * many, not calibrated, run the estimate meter (*estimate), which the gateway admits jobs for. */
static void count_calibration(const json_t *workers, int *calibrated, int *estimate)
{
    size_t i;
    const json_t *hb;
    *calibrated = *estimate = 0;
    json_array_foreach(workers, i, hb)
    {
        const char *m = json_string_value(json_object_get(hb, "meter_type"));
        if (json_is_true(json_object_get(hb, "calibrated")))
            (*calibrated)++;
        else if (m != NULL && strcmp(m, "estimate") == 0)
            (*estimate)++;
    }
}

void jt_route_socket0_status(jt_gw_t *gw, jt_req_t *req)
{
    jt_view_summary_t v;
    char isolated[1024];
    jt_view_summary(gw->view, &v);
    json_t *workers = jt_view_workers(gw->view);

    int core = -1;
    size_t i;
    json_t *hb;
    json_t *reported = json_array();
    json_array_foreach(workers, i, hb)
    {
        const json_t *c = json_object_get(hb, "measurement_core");
        if (core < 0 && json_is_integer(c))
            core = (int)json_integer_value(c);
        json_t *w = json_object();
        const char *keep[] = {"worker_id",
                              "host",
                              "state",
                              "task_id",
                              "calibrated",
                              "calibration_reason",
                              "calibration_idle_watts",
                              "calibrated_at",
                              "calibration_valid_days",
                              "meter_type",
                              "energy_is_estimated",
                              "measurement_core",
                              "socket",
                              "updated_at"};
        for (size_t k = 0; w != NULL && k < sizeof keep / sizeof keep[0]; k++) {
            json_t *f = json_object_get(hb, keep[k]);
            if (f != NULL)
                json_object_set(w, keep[k], f);
        }
        json_array_append_new(reported, w);
    }
    json_decref(workers);
    if (core < 0)
        core = configured_core(gw);

    read_isolated(isolated, sizeof isolated);
    jt_bus_t *bus = jt_view_bus_connected(gw->view);
    json_t *leases = bus != NULL ? read_leases(bus) : NULL;
    json_t *lease = json_pack("{s:b, s:o}", "held", json_array_size(leases) > 0, "holders",
                              leases != NULL ? leases : json_array());
    if (lease != NULL && leases == NULL)
        json_object_set_new(lease, "error", json_string("lease bucket not readable"));

    /* The counts say what the listed heartbeats say: "calibrated" only for a fresh calibration;
     * a worker on the estimate meter measures (it is "measuring") without being calibrated. */
    int calibrated_n = 0, estimate_n = 0;
    count_calibration(reported, &calibrated_n, &estimate_n);
    bool calibrated = calibrated_n > 0;
    json_t *body = json_pack(
        "{s:b, s:b, s:b, s:i, s:i, s:{s:i, s:i, s:i, s:i, s:o}, s:o, s:{s:s, s:b}, s:{s:b, s:b}, "
        "s:I}",
        "ready", v.calibrated_workers > 0 && v.nats_connected, "calibrated", calibrated,
        "energy_is_estimated", !calibrated && estimate_n > 0, "socket", gw->cfg.socket,
        "measurement_core", core, "calibration", "live_workers", v.live_workers,
        "calibrated_workers", calibrated_n, "estimate_workers", estimate_n, "measuring_workers",
        v.calibrated_workers, "workers", reported, "lease", lease != NULL ? lease : json_null(),
        "isolation", "isolated_cpus", isolated, "measurement_core_isolated",
        cpulist_has(isolated, core), "nats", "connected", v.nats_connected, "jetstream",
        v.jetstream_ok, "pending_jobs", (json_int_t)v.pending_jobs);
    if (body != NULL && !calibrated)
        json_object_set_new(body, "message",
                            json_string(estimate_n > 0 ? "Socket 0 not calibrated: the estimate "
                                                         "meter measures (modelled energy)"
                                                       : "Socket 0 not calibrated"));
    jt_http_reply_json(req, 200, body, NULL);
}

/* ---- GET /api/v1/health ------------------------------------------------------------------ */

/* Append s to the array of strings set unless it is there already. */
static void add_unique(json_t *set, const char *s)
{
    size_t j;
    json_t *x;
    json_array_foreach(set, j, x) if (strcmp(json_string_value(x), s) == 0) return;
    json_array_append_new(set, json_string(s));
}

/* What the live workers' sandboxes lack (heartbeat "sandbox"."missing"), as a
 * set of names; *lacking counts the workers that lack anything. */
static json_t *sandbox_missing(const json_t *workers, int *lacking)
{
    json_t *missing = json_array();
    size_t i;
    json_t *hb;
    *lacking = 0;
    json_array_foreach(workers, i, hb)
    {
        const json_t *list = json_object_get(json_object_get(hb, "sandbox"), "missing");
        size_t j;
        json_t *name;
        bool any = false;
        json_array_foreach(list, j, name) if (json_is_string(name))
        {
            add_unique(missing, json_string_value(name));
            any = true;
        }
        *lacking += any;
    }
    return missing;
}

void jt_route_health(jt_gw_t *gw, jt_req_t *req)
{
    jt_view_summary_t v;
    jt_view_summary(gw->view, &v);
    json_t *workers = jt_view_workers(gw->view);
    json_t *reasons = json_array();
    json_t *meters = json_array();
    size_t i;
    json_t *hb;
    bool estimated = false;
    json_array_foreach(workers, i, hb)
    {
        const char *m = json_string_value(json_object_get(hb, "meter_type"));
        if (m == NULL)
            continue;
        add_unique(meters, m);
        estimated = estimated || strcmp(m, "estimate") == 0;
    }
    int lacking = 0, calibrated_n = 0, estimate_n = 0;
    json_t *missing = sandbox_missing(workers, &lacking);
    count_calibration(workers, &calibrated_n, &estimate_n);
    json_decref(workers);

    const char *status = "healthy";
    if (!v.nats_connected) {
        status = "unhealthy";
        json_array_append_new(
            reasons, json_string(v.bus_ready ? "NATS connection lost" : "NATS not connected yet"));
    } else if (!v.jetstream_ok) {
        status = "unhealthy";
        json_array_append_new(reasons, json_string("JetStream does not answer"));
    }
    if (v.live_workers == 0) {
        json_array_append_new(reasons, json_string("no live workers (no heartbeat in "
                                                   "the last 15 s)"));
    } else if (v.calibrated_workers == 0) {
        json_array_append_new(reasons, json_string("no live worker reports a fresh calibration "
                                                   "or the estimate meter"));
    }
    if (lacking > 0) {
        char what[512] = "";
        size_t j, used = 0;
        json_t *x;
        json_array_foreach(missing, j, x) if (used < sizeof what) used += (size_t)snprintf(
            what + used, sizeof what - used, "%s%s", j ? ", " : "", json_string_value(x));
        json_array_append_new(reasons,
                              json_sprintf("the sandbox of %d live worker(s) runs without: %s "
                                           "(see docs/security.md)",
                                           lacking, what));
    }
    if (strcmp(status, "healthy") == 0 && json_array_size(reasons) > 0)
        status = "degraded";
    if (estimated)
        json_array_append_new(reasons, json_string("a worker uses the estimate meter: its "
                                                   "energy numbers are modelled, not measured"));

    json_t *body = json_pack(
        "{s:s, s:o, s:s, s:I, s:{s:{s:b}, s:{s:b}, s:{s:i, s:i, s:i, s:i}, s:o, s:{s:I, s:I}, "
        "s:{s:o}}}",
        "status", status, "reasons", reasons, "version", JT_GW_VERSION, "uptime_seconds",
        (json_int_t)(time(NULL) - gw->started_at), "checks", "nats", "connected", v.nats_connected,
        "jetstream", "reachable", v.jetstream_ok, "workers", "live", v.live_workers, "calibrated",
        calibrated_n, "estimate", estimate_n, "measuring", v.calibrated_workers, "meters", meters,
        "queue", "pending_jobs", (json_int_t)v.pending_jobs, "max_pending_jobs",
        (json_int_t)gw->cfg.max_pending_jobs, "sandbox", "missing", missing);
    jt_http_reply_json(req, strcmp(status, "unhealthy") == 0 ? 503 : 200, body, NULL);
}

/* ---- GET /api/v1/capabilities, /ping, /metrics ------------------------------------------ */

void jt_route_capabilities(jt_gw_t *gw, jt_req_t *req)
{
    json_t *workers = jt_view_workers(gw->view);
    json_t *meters = json_array();
    size_t i;
    json_t *hb;
    json_array_foreach(workers, i, hb)
    {
        json_t *m = json_object_get(hb, "meter_type");
        if (json_is_string(m))
            json_array_append(meters, m);
    }
    json_decref(workers);
    json_t *limits = json_pack(
        "{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:[f,f], s:[i,i], s:[i,i], s:[i,i], s:[f,f], "
        "s:[f,f], s:[f,f]}",
        "max_body_bytes", (int)JT_MAX_BODY_BYTES, "max_code_bytes", (int)JT_MAX_CODE_BYTES,
        "max_test_cases", (int)JT_MAX_TEST_CASES, "max_depth", (int)JT_MAX_DEPTH,
        "max_string_bytes", (int)JT_MAX_STRING_BYTES, "max_name_bytes", (int)JT_MAX_NAME_BYTES,
        "idempotency_key_max_bytes", 256, "max_pending_jobs", (json_int_t)gw->cfg.max_pending_jobs,
        "timeout_seconds", JT_MIN_TIMEOUT_SECONDS, JT_MAX_TIMEOUT_SECONDS, "memory_limit_mb",
        JT_MIN_MEMORY_LIMIT_MB, JT_MAX_MEMORY_LIMIT_MB, "energy_measurement_trials", JT_MIN_TRIALS,
        JT_MAX_TRIALS, "warmup_trials", 0, JT_MAX_WARMUP_TRIALS, "min_trial_seconds", 0.0,
        JT_MAX_MIN_TRIAL_SECONDS, "target_cv_percent", 0.0, JT_MAX_TARGET_CV_PERCENT,
        "thermal_wait_seconds", 0.0, JT_MAX_THERMAL_WAIT_SECONDS);
    json_t *defaults = json_pack(
        "{s:s, s:f, s:i, s:i, s:i, s:f, s:f, s:f, s:s}", "function_name", JT_DEFAULT_FUNCTION_NAME,
        "timeout_seconds", JT_DEFAULT_TIMEOUT_SECONDS, "memory_limit_mb",
        JT_DEFAULT_MEMORY_LIMIT_MB, "energy_measurement_trials", JT_DEFAULT_TRIALS, "warmup_trials",
        JT_DEFAULT_WARMUP_TRIALS, "min_trial_seconds", JT_DEFAULT_MIN_TRIAL_SECONDS,
        "target_cv_percent", JT_DEFAULT_TARGET_CV_PERCENT, "thermal_wait_seconds",
        JT_DEFAULT_THERMAL_WAIT_SECONDS, "repetition_mode", "fresh_process");
    json_t *routes = json_pack(
        "[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},"
        "{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]",
        "method", "POST", "path", "/api/v1/measure-socket0", "method", "POST", "path",
        "/api/v1/measure", "method", "GET", "path", "/api/v1/tasks/{id}", "method", "DELETE",
        "path", "/api/v1/tasks/{id}", "method", "GET", "path", "/api/v1/tasks/{id}/events",
        "method", "POST", "path", "/api/v1/validate", "method", "GET", "path",
        "/api/v1/socket0/status", "method", "GET", "path", "/api/v1/health", "method", "GET",
        "path", "/api/v1/capabilities", "method", "GET", "path", "/ping", "method", "GET", "path",
        "/metrics", "method", "OPTIONS", "path", "(any route)");
    jt_gw_batch_routes(routes);
    json_array_append_new(routes, json_pack("{s:s, s:s}", "method", "GET", "path", "/openapi.json"));
    json_t *bus =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "jobs_subject", JT_SUBJECT_JOBS, "jobs_stream",
                  JT_STREAM_JOBS, "progress_subject", JT_SUBJECT_PROGRESS_PREFIX "<task_id>",
                  "result_subject", JT_SUBJECT_RESULT_PREFIX "<task_id>", "cancel_subject",
                  JT_SUBJECT_CANCEL_PREFIX "<task_id>", "validate_subject", JT_SUBJECT_VALIDATE);
    json_t *body = json_pack(
        "{s:s, s:o, s:o, s:o, s:[s,s,s], s:[s,s], s:[s,s], s:o, s:o}", "version", JT_GW_VERSION,
        "limits", limits, "defaults", defaults, "meters", meters, "meter_kinds", "rapl-sysfs",
        "rapl-perf", "estimate", "repetition_modes", "fresh_process", "same_process",
        "argument_convention", "inputs list -> f(*inputs), object -> f(**inputs)",
        "else -> f(inputs)", "routes", routes, "nats", bus);
    json_object_set_new(body, "batches", jt_gw_batch_capabilities());
    jt_http_reply_json(req, 200, body, NULL);
}

void jt_route_ping(jt_gw_t *gw, jt_req_t *req)
{
    (void)gw;
    jt_http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

void jt_route_metrics(jt_gw_t *gw, jt_req_t *req)
{
    jt_view_summary_t v;
    jt_metrics_gauges_t g;
    size_t len = 0;
    jt_view_summary(gw->view, &v);
    g.pending_jobs = v.pending_jobs;
    g.live_workers = v.live_workers;
    g.calibrated_workers = v.calibrated_workers;
    g.nats_connected = v.nats_connected;
    g.sse_streams = atomic_load(&gw->sse_open);
    char *text = jt_metrics_render(&gw->metrics, &g, &len);
    if (text == NULL) {
        jt_http_reply_error(req, 503, "out_of_memory", NULL, NULL, "out of memory; retry");
        return;
    }
    jt_http_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
    free(text);
}
