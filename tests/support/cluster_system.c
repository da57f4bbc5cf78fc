/* cluster_system.c -- the cluster tests' fixture: nats-server nodes, a gateway and two workers. */
#include "cluster_system.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus_names.h"
#include "curl_client.h"
#include "json_path.h"
#include "pipeline_http.h"
#include "pipeline_job.h"
#include "temp_dir.h"
#include "unit_main.h"

#define READY_WAIT_S 120.0
#define QUEUE_EMPTY_WAIT_S 60.0

static void dump_logs(const cs_t *cs)
{
    jt_proc_dump_log("gateway", cs->gw.log, 6000);
    for (int i = 0; i < CS_WORKERS; i++)
        jt_proc_dump_log(cs->w[i].id, cs->w[i].log, 8000);
    cl_nodes_dump_logs(&cs->nodes);
}

void cs_fail(cs_t *cs, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dump_logs(cs);
    fail_msg("%s", msg);
    abort(); /* fail_msg does not return */
}

int cs_setup(void **state)
{
    cs_t *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return -1;
    pthread_mutex_init(&cs->lock, NULL);
    *state = cs;
    return 0;
}

static void close_observers(cs_t *cs)
{
    for (int i = 0; i < CL_MAX_NODES; i++) {
        cs_observer_t *o = &cs->obs[i];
        if (o->sub != NULL) {
            natsSubscription_Unsubscribe(o->sub);
            natsSubscription_Destroy(o->sub);
        }
        if (o->nc != NULL) {
            natsConnection_Close(o->nc);
            natsConnection_Destroy(o->nc);
        }
        o->sub = NULL;
        o->nc = NULL;
    }
}

int cs_teardown(void **state)
{
    cs_t *cs = *state;
    if (cs == NULL)
        return 0;
    if (getenv("JT_TEST_VERBOSE") != NULL)
        dump_logs(cs);
    for (int i = 0; i < CS_WORKERS; i++)
        if (cs->w[i].pid > 0)
            jt_proc_stop(&cs->w[i].pid, SIGTERM, 30.0, true);
    if (cs->gw.pid > 0)
        jt_proc_stop(&cs->gw.pid, SIGTERM, 15.0, true);
    close_observers(cs);
    jsCtx_Destroy(cs->probe);
    if (cs->bus_open)
        jt_bus_close(&cs->bus);
    if (cs->nodes_started)
        cl_nodes_stop(&cs->nodes);
    if (cs->dir[0] != '\0')
        jt_temp_dir_remove(cs->dir);
    pthread_mutex_destroy(&cs->lock);
    free(cs);
    return 0;
}

/* nats.c thread of observer o: count one result record by the task id in its subject. */
static void on_result(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    cs_observer_t *o = closure;
    cs_t *cs = o->cs;
    const char *subject = natsMsg_GetSubject(msg);
    size_t plen = strlen(JT_SUBJECT_RESULT_PREFIX);
    if (subject != NULL && strncmp(subject, JT_SUBJECT_RESULT_PREFIX, plen) == 0) {
        const char *id = subject + plen;
        pthread_mutex_lock(&cs->lock);
        int k = 0;
        while (k < cs->n_seen && strcmp(cs->seen[k].id, id) != 0)
            k++;
        if (k == cs->n_seen && k < CS_MAX_SEEN) {
            snprintf(cs->seen[k].id, sizeof cs->seen[k].id, "%s", id);
            cs->n_seen++;
        }
        if (k < CS_MAX_SEEN)
            cs->seen[k].seen[o->node]++;
        pthread_mutex_unlock(&cs->lock);
    }
    natsMsg_Destroy(msg);
}

/* One connection to node i only, reconnecting forever, counting result records. */
static void start_observer(cs_t *cs, int i)
{
    cs_observer_t *o = &cs->obs[i];
    natsOptions *opts = NULL;
    o->cs = cs;
    o->node = i;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, cs->nodes.node[i].url);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 100);
    if (s == NATS_OK)
        s = natsOptions_SetNoRandomize(opts, true);
    if (s == NATS_OK)
        s = natsConnection_Connect(&o->nc, opts);
    natsOptions_Destroy(opts);
    if (s == NATS_OK)
        s = natsConnection_Subscribe(&o->sub, o->nc, JT_SUBJECT_RESULT_PREFIX "*", on_result, o);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(o->sub, -1, -1);
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(o->nc, 5000);
    if (s != NATS_OK)
        cs_fail(cs, "observer of %s: %s", cs->nodes.node[i].name, natsStatus_GetText(s));
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* Start p (its id and log under the case's directory) as argv with vars plus the NATS URL of
 * every node and the missing calibration file. */
static void start_program(cs_t *cs, jt_proc_t *p, const char *id, char *const *argv,
                          const char *const *vars)
{
    char url[320], cal[256];
    const char *all[16];
    size_t n = 0;
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->log, sizeof p->log, "%s/%s.log", cs->dir, id);
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", cs->nodes.urls);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s", cs->cal);
    all[n++] = url;
    all[n++] = cal;
    for (size_t i = 0; vars[i] != NULL && n + 1 < sizeof all / sizeof all[0]; i++)
        all[n++] = vars[i];
    all[n] = NULL;
    CS_CHECK(cs, jt_proc_start(p, argv, all, true) == 0);
}

static void start_gateway(cs_t *cs)
{
    char addr[64];
    if (cs->port <= 0)
        cs->port = jt_proc_free_port();
    CS_CHECK(cs, cs->port > 0);
    snprintf(addr, sizeof addr, "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", cs->port);
    const char *vars[] = {addr, "JOULETRACE_HTTP_THREADS=16", "JOULETRACE_LOG_LEVEL=info", NULL};
    char *argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    start_program(cs, &cs->gw, "gateway", argv, vars);
}

static void start_worker(cs_t *cs, int i)
{
    char id[32], id_var[64];
    snprintf(id, sizeof id, "cl-worker-%d", i + 1);
    snprintf(id_var, sizeof id_var, "JOULETRACE_WORKER_ID=%s", id);
    const char *vars[] = {id_var,
                          "JOULETRACE_METER=estimate",
                          "JOULETRACE_MEASURE_CORE=" STR(CS_MEASURE_CORE),
                          "JOULETRACE_VALIDATE_CORE=" STR(CS_VALIDATE_CORE),
                          cs->sandbox_env,
                          "JOULETRACE_LOG_LEVEL=debug",
                          NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    start_program(cs, &cs->w[i], id, argv, vars);
}

/* pl_wait_ready on the case's gateway and workers (the pipeline's judgement of readiness). */
static void wait_ready(cs_t *cs)
{
    _Static_assert(CS_WORKERS == PL_WORKERS, "the pipeline's readiness counts PL_WORKERS");
    pl_t *pl = calloc(1, sizeof *pl);
    CS_CHECK(cs, pl != NULL);
    snprintf(pl->dir, sizeof pl->dir, "%s", cs->dir);
    pl->gw = cs->gw;
    pl->port = cs->port;
    for (int i = 0; i < CS_WORKERS; i++)
        pl->w[i] = cs->w[i];
    pl_wait_ready(pl, CS_WORKERS, READY_WAIT_S); /* fails the case, with the logs, if not */
    free(pl);
}

void cs_restart_gateway(cs_t *cs)
{
    CS_CHECK(cs, cs->gw.pid <= 0);
    start_gateway(cs);
    wait_ready(cs);
}

void cs_boot_nodes(cs_t *cs, int nodes)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(CS_VALIDATE_CORE, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        cs_fail(cs, "sched_setaffinity(core %d): %s", CS_VALIDATE_CORE, strerror(errno));
    if (jt_temp_dir_make(cs->dir, sizeof cs->dir, "jt-cluster") != 0) {
        cs->dir[0] = '\0';
        cs_fail(cs, "mkdtemp: %s", strerror(errno));
    }
    chmod(cs->dir, 0711); /* the sandbox user must reach its work directories */
    char sandbox[192];
    snprintf(sandbox, sizeof sandbox, "%s/sandbox", cs->dir);
    snprintf(cs->sandbox_env, sizeof cs->sandbox_env, "JOULETRACE_SANDBOX_DIR=%s", sandbox);
    snprintf(cs->cal, sizeof cs->cal, "%s/no-calibration.json", cs->dir);
    CS_CHECK(cs, mkdir(sandbox, 0755) == 0);

    cs->nodes_started = true; /* teardown stops whatever started */
    if (cl_nodes_start(&cs->nodes, cs->dir, nodes) != 0)
        cs_fail(cs, "the %d nats-server nodes did not start", nodes);
}

void cs_boot(cs_t *cs, int nodes)
{
    cs_boot_nodes(cs, nodes);
    jt_error_t err;
    if (jt_bus_connect(cs->nodes.urls, "test-cluster", NULL, &cs->bus, &err) != JT_OK)
        cs_fail(cs, "jt_bus_connect(%s): %s", cs->nodes.urls, err.message);
    cs->bus_open = true;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    CS_CHECK(cs, natsConnection_JetStream(&cs->probe, cs->bus.nc, &jo) == NATS_OK);
    jsStreamInfo *si = NULL;
    CS_CHECK(cs, js_GetStreamInfo(&si, cs->bus.js, JT_STREAM_JOBS, NULL, NULL) == NATS_OK);
    int64_t replicas = si->Config->Replicas;
    jsStreamInfo_Destroy(si);
    if (replicas != nodes)
        cs_fail(cs, "the jobs stream has %lld replicas on %d nodes", (long long)replicas, nodes);
    for (int i = 0; i < nodes; i++)
        start_observer(cs, i);
    start_gateway(cs);
    for (int i = 0; i < CS_WORKERS; i++)
        start_worker(cs, i);
    wait_ready(cs);
}

/* One submission with the key, retried through 503s and silence: 1 accepted (id into the
 * table), 0 deadline. */
static int submit_one(cs_t *cs, const char *key, const char *body, double until)
{
    char hdr[160];
    snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
    const char *hdrs[] = {hdr, NULL};
    while (jt_proc_now() < until) {
        jt_curl_resp_t r;
        int rc = jt_curl_request(cs->port, "POST", "/api/v1/measure-socket0", body, -1, hdrs, 30,
                                 &r);
        const char *id = json_string_value(json_object_get(r.json, "task_id"));
        if (rc == 0 && r.status == 202 && id != NULL) {
            CS_CHECK(cs, cs->n_ids < CS_MAX_JOBS);
            snprintf(cs->ids[cs->n_ids++], sizeof cs->ids[0], "%s", id);
            jt_curl_resp_free(&r);
            return 1;
        }
        if (rc != 0 || r.status == 0) {
            cs->no_answer++;
        } else if (r.status == 503) {
            /* the bus's 503 must say when to come back; "not_calibrated" (heartbeats expired
             * in a long outage) is the workers' and says nothing */
            bool bus = strcmp(jt_json_str(r.json, "error"), "nats_unavailable") == 0;
            cs->refused_503 += bus;
            if (bus && (strstr(r.headers, "Retry-After:") != NULL ||
                        strstr(r.headers, "retry-after:") != NULL))
                cs->refused_503_retry_after++;
        } else {
            fprintf(stderr, "POST -> %ld: %.2000s\n", r.status, r.body ? r.body : "");
            jt_curl_resp_free(&r);
            cs_fail(cs, "a submission got %ld", r.status);
        }
        jt_curl_resp_free(&r);
        jt_proc_sleep_ms(250);
    }
    return 0;
}

double cs_submit(cs_t *cs, const char *tag, int n, double seconds)
{
    double t0 = jt_proc_now(), until = t0 + seconds;
    char *body = pl_small_job(1);
    CS_CHECK(cs, body != NULL);
    for (int i = 0; i < n; i++) {
        char key[96];
        snprintf(key, sizeof key, "%s-%d", tag, i);
        if (!submit_one(cs, key, body, until)) {
            free(body);
            cs_fail(cs, "job %s was not accepted within %.0f s", key, seconds);
        }
    }
    free(body);
    return jt_proc_now() - t0;
}

double cs_wait_accepting(cs_t *cs, const char *tag, double seconds)
{
    double t0 = jt_proc_now();
    char *body = pl_small_job(1);
    CS_CHECK(cs, body != NULL);
    int ok = submit_one(cs, tag, body, t0 + seconds);
    free(body);
    return ok ? jt_proc_now() - t0 : -1;
}

/* Result records of id seen by observer `node` (under the lock). */
static int seen_of(const cs_t *cs, const char *id, int node)
{
    for (int k = 0; k < cs->n_seen; k++)
        if (strcmp(cs->seen[k].id, id) == 0)
            return cs->seen[k].seen[node];
    return 0;
}

/* The most result records one observer saw of id (under the lock). */
static int seen_max(const cs_t *cs, const char *id)
{
    int most = 0;
    for (int node = 0; node < CL_MAX_NODES; node++)
        if (seen_of(cs, id, node) > most)
            most = seen_of(cs, id, node);
    return most;
}

int cs_results_seen(cs_t *cs)
{
    int n = 0;
    pthread_mutex_lock(&cs->lock);
    for (int i = 0; i < cs->n_ids; i++)
        n += seen_max(cs, cs->ids[i]) > 0;
    pthread_mutex_unlock(&cs->lock);
    return n;
}

void cs_wait_results(cs_t *cs, int k, double seconds)
{
    double until = jt_proc_now() + seconds;
    while (cs_results_seen(cs) < k) {
        if (jt_proc_now() > until)
            cs_fail(cs, "only %d of %d results within %.0f s", cs_results_seen(cs), k, seconds);
        jt_proc_sleep_ms(50);
    }
}

void cs_stream_leader(cs_t *cs, const char *stream, char *buf, size_t len)
{
    jsStreamInfo *si = NULL;
    buf[0] = '\0';
    if (js_GetStreamInfo(&si, cs->probe, stream, NULL, NULL) != NATS_OK)
        return;
    if (si->Cluster != NULL && si->Cluster->Leader != NULL)
        snprintf(buf, len, "%s", si->Cluster->Leader);
    jsStreamInfo_Destroy(si);
}

double cs_wait_leader(cs_t *cs, const char *stream, const char *not, double seconds)
{
    double t0 = jt_proc_now();
    char leader[64];
    while (jt_proc_now() - t0 < seconds) {
        cs_stream_leader(cs, stream, leader, sizeof leader);
        if (leader[0] != '\0' && (not == NULL || strcmp(leader, not) != 0))
            return jt_proc_now() - t0;
        jt_proc_sleep_ms(50);
    }
    return -1;
}

/* GET the task: its status into buf ("" when no answer or not 200). */
static void task_status(const cs_t *cs, const char *id, char *buf, size_t len)
{
    char path[160];
    jt_curl_resp_t r;
    buf[0] = '\0';
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    if (jt_curl_request(cs->port, "GET", path, NULL, 0, NULL, 20, &r) == 0 && r.status == 200)
        snprintf(buf, len, "%s", jt_json_str(r.json, "status"));
    jt_curl_resp_free(&r);
}

/* Whether the work queue is empty and the consumer holds nothing pending or unacknowledged. */
static bool queue_drained(cs_t *cs, char *why, size_t len)
{
    jsStreamInfo *si = NULL;
    jsConsumerInfo *ci = NULL;
    if (js_GetStreamInfo(&si, cs->probe, JT_STREAM_JOBS, NULL, NULL) != NATS_OK) {
        snprintf(why, len, "no stream info");
        return false;
    }
    uint64_t msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    if (js_GetConsumerInfo(&ci, cs->probe, JT_STREAM_JOBS, JT_CONSUMER_WORKERS, NULL, NULL) !=
        NATS_OK) {
        snprintf(why, len, "no consumer info");
        return false;
    }
    snprintf(why, len, "%llu messages, %llu pending, %lld unacknowledged",
             (unsigned long long)msgs, (unsigned long long)ci->NumPending,
             (long long)ci->NumAckPending);
    bool drained = msgs == 0 && ci->NumPending == 0 && ci->NumAckPending == 0;
    jsConsumerInfo_Destroy(ci);
    return drained;
}

double cs_check(cs_t *cs, const char *label, double seconds)
{
    double t0 = jt_proc_now();
    char status[CS_MAX_JOBS][32];
    int final = 0;
    memset(status, 0, sizeof status);
    while (final < cs->n_ids && jt_proc_now() - t0 < seconds) {
        final = 0;
        for (int i = 0; i < cs->n_ids; i++) {
            bool done = strcmp(status[i], "completed") == 0 || strcmp(status[i], "failed") == 0 ||
                        strcmp(status[i], "cancelled") == 0;
            if (!done)
                task_status(cs, cs->ids[i], status[i], sizeof status[i]);
            done = strcmp(status[i], "completed") == 0 || strcmp(status[i], "failed") == 0 ||
                   strcmp(status[i], "cancelled") == 0;
            final += done;
        }
        if (final < cs->n_ids)
            jt_proc_sleep_ms(500);
    }
    double t_final = jt_proc_now() - t0;
    int completed = 0, lost = 0, stuck = 0, duplicated = 0, seen = 0;
    for (int i = 0; i < cs->n_ids; i++) {
        if (strcmp(status[i], "completed") == 0)
            completed++;
        else if (status[i][0] == '\0')
            lost++; /* 404 or no answer at the end */
        else if (strcmp(status[i], "failed") != 0 && strcmp(status[i], "cancelled") != 0)
            stuck++;
    }
    /* Results published just before the last GET may still be on their way. */
    jt_proc_sleep_ms(500);
    pthread_mutex_lock(&cs->lock);
    for (int i = 0; i < cs->n_ids; i++) {
        int most = seen_max(cs, cs->ids[i]);
        duplicated += most > 1;
        seen += most > 0;
    }
    pthread_mutex_unlock(&cs->lock);
    char why[160] = "";
    double until = jt_proc_now() + QUEUE_EMPTY_WAIT_S;
    bool drained;
    while (!(drained = queue_drained(cs, why, sizeof why)) && jt_proc_now() < until)
        jt_proc_sleep_ms(250);
    printf("%s: %d accepted, %d completed, %d lost, %d duplicated, %d stuck, %d other; results "
           "seen %d; queue %s (%s); all final %.1f s into the check; submissions refused 503 "
           "%d times (%d with Retry-After), %d without answer\n",
           label, cs->n_ids, completed, lost, duplicated, stuck,
           cs->n_ids - completed - lost - stuck, seen, drained ? "drained" : "NOT drained", why,
           t_final, cs->refused_503, cs->refused_503_retry_after, cs->no_answer);
    fflush(stdout);
    for (int i = 0; i < cs->n_ids; i++)
        if (strcmp(status[i], "completed") != 0)
            fprintf(stderr, "task %s: %s\n", cs->ids[i], status[i][0] ? status[i] : "(none)");
    if (completed != cs->n_ids || duplicated != 0 || !drained)
        cs_fail(cs, "%s: %d of %d accepted jobs completed, %d duplicated, queue %s", label,
                completed, cs->n_ids, duplicated, drained ? "drained" : why);
    if (cs->refused_503 != cs->refused_503_retry_after)
        cs_fail(cs, "%s: %d of %d 503 answers lacked Retry-After", label,
                cs->refused_503 - cs->refused_503_retry_after, cs->refused_503);
    return t_final;
}
