/* daemon.c -- `jouletrace-worker run`: start-up order, libuv loop (signals, timers), clean
 * shutdown.
 *
 * The libuv loop and every callback here run on the main thread; the job
 * thread (job_consumer.c) and the validate responder (validate_service.c) run
 * on their own threads and reach the loop only through uv_async_send.
 */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "bus.h"
#include "bus_names.h"
#include "calibration.h"
#include "clock.h"
#include "heartbeat.h"
#include "host_info.h"
#include "job_consumer.h"
#include "lease.h"
#include "log.h"
#include "measurer.h"
#include "poison.h"
#include "runner_client.h"
#include "validate_service.h"

#define KEEPALIVE_MS 10000    /* InProgress: well inside AckWait (JT_JOBS_ACK_WAIT_NS) */
#define CONNECT_PATIENCE_S 60 /* how long start-up waits for NATS to come up */

typedef struct {
    jt_config_t cfg;
    uv_loop_t loop;
    uv_timer_t heartbeat_timer, renew_timer, keepalive_timer;
    uv_signal_t sigterm, sigint;
    uv_async_t job_done;
    jt_bus_t bus;
    jt_measurer_t *ms;
    jt_lease_t *lease;
    jt_job_consumer_t *jobs;
    jt_validate_service_t *validate;
    jt_poison_t *poison;
    jt_heartbeat_info_t hb;
    char worker_id[128];
    char host[256];
    char meter_type[32];
    char calibrated_at[JT_CLOCK_ISO_MAX];
    char reason[512];
    const char *box_missing[16]; /* what the runners' boxes lack */
    char box_cgroup[8];
    bool stopping;
    bool heartbeat_failing;
} daemon_t;

/* Keep [A-Za-z0-9_-] and replace the rest: ids become KV keys and subject tokens. */
static void sanitise(char *s)
{
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            *s = '_';
    }
}

static void identify(daemon_t *d)
{
    if (gethostname(d->host, sizeof d->host) != 0 || d->host[0] == '\0')
        snprintf(d->host, sizeof d->host, "localhost");
    d->host[sizeof d->host - 1] = '\0';
    if (d->cfg.worker_id[0] != '\0')
        snprintf(d->worker_id, sizeof d->worker_id, "%s", d->cfg.worker_id);
    else
        snprintf(d->worker_id, sizeof d->worker_id, "%.100s-%ld", d->host, (long)getpid());
    sanitise(d->worker_id);
}

/* What both runners' boxes lack goes into the heartbeat (and so into the
 * gateway's health), and into the log once. */
static void describe_boxes(daemon_t *d, const jt_runner_t *a, const jt_runner_t *b)
{
    jt_runner_box_t both = *jt_runner_box(a);
    both.features &= jt_runner_box(b)->features;
    if (strcmp(jt_runner_box(b)->cgroup, "none") == 0)
        snprintf(both.cgroup, sizeof both.cgroup, "none");
    size_t n = jt_runner_box_missing(&both, d->box_missing,
                                     sizeof d->box_missing / sizeof d->box_missing[0]);
    snprintf(d->box_cgroup, sizeof d->box_cgroup, "%s", both.cgroup);
    d->hb.sandbox_cgroup = d->box_cgroup;
    d->hb.sandbox_missing = d->box_missing;
    d->hb.n_sandbox_missing = n;
    for (size_t i = 0; i < n; i++)
        jt_log_warn("the sandbox runs without %s (see docs/security.md)", d->box_missing[i]);
}

/* Meter + idle baseline; failure leaves ms NULL with the reason (not fatal). */
static void open_meter(daemon_t *d, int measure_core)
{
    jt_error_t err;
    d->hb.measurement_core = measure_core;
    d->hb.socket = d->cfg.socket;
    if (jt_measurer_open(&d->cfg, NULL, &d->ms, &err) != JT_OK) {
        d->ms = NULL;
        snprintf(d->reason, sizeof d->reason, "%s", err.message);
        snprintf(d->meter_type, sizeof d->meter_type, "%s", d->cfg.meter);
        jt_log_error("not measuring: %s; jobs will fail with not_calibrated", d->reason);
    } else {
        snprintf(d->meter_type, sizeof d->meter_type, "%s", jt_measurer_meter_type(d->ms));
        d->hb.calibrated = jt_measurer_calibrated(d->ms, &d->hb.calibration_idle_watts);
        const jt_calibration_t *cal = jt_measurer_calibration(d->ms);
        if (cal != NULL && jt_calibration_format_timestamp(cal->timestamp, d->calibrated_at,
                                                           sizeof d->calibrated_at)) {
            d->hb.calibrated_at = d->calibrated_at;
            d->hb.calibration_valid_days = cal->valid_until_days;
        }
        if (!d->hb.calibrated) {
            jt_calibration_t c;
            char why[400];
            jt_calibration_fresh(d->cfg.calibration_path, time(NULL), NULL, &c, why, sizeof why);
            snprintf(d->reason, sizeof d->reason, "%s (the %s meter uses its model's idle power)",
                     why, d->meter_type);
        }
    }
    d->hb.meter_type = d->meter_type;
    d->hb.energy_is_estimated = strcmp(d->meter_type, "estimate") == 0;
    d->hb.calibration_reason = d->hb.calibrated ? NULL : d->reason;
}

static void beat(daemon_t *d)
{
    char task[JT_MAX_NAME_BYTES + 1];
    bool busy = d->jobs != NULL && jt_job_consumer_current(d->jobs, task, sizeof task);
    jt_error_t err;
    if (jt_heartbeat_put(d->bus.workers, &d->hb, busy ? task : NULL, &err) != JT_OK) {
        if (!d->heartbeat_failing)
            jt_log_warn("%s", err.message);
        d->heartbeat_failing = true;
    } else {
        d->heartbeat_failing = false;
    }
}

static void on_heartbeat(uv_timer_t *t)
{
    beat(t->data);
}

static void on_renew(uv_timer_t *t)
{
    daemon_t *d = t->data;
    if (!jt_lease_held(d->lease))
        return;
    jt_error_t err;
    jt_status_t s = jt_lease_renew(d->lease, &err);
    if (s == JT_ERR_PROTOCOL) {
        jt_log_error("%s; aborting the trial in flight", err.message);
        jt_job_consumer_lease_lost(d->jobs);
    } else if (s != JT_OK && s != JT_ERR_MISSING) {
        jt_log_warn("%s", err.message);
    }
}

static void on_keepalive(uv_timer_t *t)
{
    daemon_t *d = t->data;
    jt_job_consumer_keepalive(d->jobs);
}

static void on_signal(uv_signal_t *h, int signum)
{
    daemon_t *d = h->data;
    if (d->stopping)
        return;
    d->stopping = true;
    jt_log_info("signal %d: stopping (the job in flight is given back)", signum);
    jt_job_consumer_stop(d->jobs);
}

/* Job thread is over: close every handle so uv_run returns. */
static void on_job_done(uv_async_t *a)
{
    daemon_t *d = a->data;
    uv_close((uv_handle_t *)&d->heartbeat_timer, NULL);
    uv_close((uv_handle_t *)&d->renew_timer, NULL);
    uv_close((uv_handle_t *)&d->keepalive_timer, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->job_done, NULL);
}

static void job_thread_exit(void *ctx)
{
    daemon_t *d = ctx;
    uv_async_send(&d->job_done); /* the only libuv call that is safe from another thread */
}

static int setup_loop(daemon_t *d)
{
    int rc = uv_loop_init(&d->loop);
    if (rc != 0)
        return rc;
    uv_timer_init(&d->loop, &d->heartbeat_timer);
    uv_timer_init(&d->loop, &d->renew_timer);
    uv_timer_init(&d->loop, &d->keepalive_timer);
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    d->heartbeat_timer.data = d->renew_timer.data = d->keepalive_timer.data = d;
    d->sigterm.data = d->sigint.data = d;
    if ((rc = uv_async_init(&d->loop, &d->job_done, on_job_done)) != 0)
        return rc;
    d->job_done.data = d;
    uv_timer_start(&d->heartbeat_timer, on_heartbeat, JT_HEARTBEAT_INTERVAL_MS,
                   JT_HEARTBEAT_INTERVAL_MS);
    uv_timer_start(&d->renew_timer, on_renew, JT_LEASE_RENEW_MS, JT_LEASE_RENEW_MS);
    uv_timer_start(&d->keepalive_timer, on_keepalive, KEEPALIVE_MS, KEEPALIVE_MS);
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    return 0;
}

static int validate_core_for(const jt_config_t *cfg, int measure_core)
{
    if (cfg->validate_core == measure_core && jt_host_highest_cpu() > 0)
        return measure_core == 0 ? 1 : 0;
    return cfg->validate_core;
}

/* Connect, retrying while NATS is not reachable yet (a broker starting beside
 * us); a configuration error (JetStream off, bad URL, a refused credentials
 * file) fails at once. The credentials live on this stack only (nats.c keeps
 * its own copy for reconnects). */
static jt_status_t connect_bus(daemon_t *d, const char *name, const jt_topology_opts_t *topo,
                               jt_error_t *err)
{
    double waited = 0;
    jt_nats_credentials_t creds = {.set = false};
    /* main checked the URL against the file (jt_nats_auth_prepare) before we ran */
    jt_status_t loaded = d->cfg.nats_credentials_file[0] == '\0'
                             ? JT_OK
                             : jt_nats_credentials_load(d->cfg.nats_credentials_file, &creds, err);
    for (;;) {
        jt_status_t s = loaded != JT_OK ? loaded
                                        : jt_bus_connect_auth(d->cfg.nats_url, &creds, name, topo,
                                                              &d->bus, err);
        if (s == JT_OK || s == JT_ERR_CONFIG || waited >= CONNECT_PATIENCE_S) {
            jt_nats_credentials_wipe(&creds);
            return s;
        }
        if (waited == 0)
            jt_log_warn("%s; retrying for up to %d s", err->message, CONNECT_PATIENCE_S);
        jt_clock_sleep(1.0);
        waited += 1;
    }
}

/* Everything after the loop: reverse order of start-up. */
static void shut_down(daemon_t *d)
{
    jt_error_t err;
    jt_poison_stop(d->poison);
    jt_job_consumer_destroy(d->jobs);
    d->jobs = NULL;
    if (d->lease != NULL && jt_lease_held(d->lease) && jt_lease_release(d->lease, &err) != JT_OK)
        jt_log_warn("%s", err.message);
    jt_validate_service_stop(d->validate);
    if (d->bus.workers != NULL && jt_heartbeat_remove(d->bus.workers, d->worker_id, &err) != JT_OK)
        jt_log_warn("%s", err.message);
    if (d->bus.nc != NULL)
        natsConnection_FlushTimeout(d->bus.nc, 2000); /* acks and naks out before closing */
    jt_lease_destroy(d->lease);
    jt_bus_close(&d->bus);
    jt_measurer_close(d->ms);
}

int jt_daemon_run(const jt_config_t *cfg)
{
    daemon_t *d = calloc(1, sizeof *d);
    if (d == NULL)
        return 4;
    d->cfg = *cfg;
    signal(SIGPIPE, SIG_IGN); /* a dead runner's pipe must give EPIPE, not kill us */
    identify(d);
    int measure_core = jt_measurer_pick_core(cfg);
    /* Before any thread and before the runners, which inherit the mask. */
    if (jt_measurer_keep_off_core(measure_core) != 0)
        jt_log_warn("cannot keep the worker off measurement core %d", measure_core);

    jt_error_t err;
    jt_runner_t *job_runner = NULL, *validate_runner = NULL;
    if (jt_runner_spawn(cfg, &job_runner, &err) != JT_OK ||
        jt_runner_spawn(cfg, &validate_runner, &err) != JT_OK) {
        jt_log_error("cannot start the sandbox runner: %s", err.message);
        jt_runner_destroy(job_runner);
        free(d);
        return 1;
    }
    open_meter(d, measure_core);
    describe_boxes(d, job_runner, validate_runner);
    d->hb.worker_id = d->worker_id;
    d->hb.host = d->host;
    d->hb.pid = (long)getpid();

    jt_topology_opts_t topo;
    jt_topology_opts_init(&topo);
    topo.max_ack_pending = cfg->max_ack_pending;
    char client_name[200];
    snprintf(client_name, sizeof client_name, "jouletrace-worker %s", d->worker_id);
    int rc = 0;
    char lease_key[JT_LEASE_KEY_MAX];
    /* Workers on one machine share its lease through its host name, or through
     * JOULETRACE_LEASE_HOST where they do not share a name (containers). */
    const char *lease_host = cfg->lease_host[0] != '\0' ? cfg->lease_host : d->host;
    jt_lease_key(lease_key, sizeof lease_key, lease_host, cfg->socket);
    if (connect_bus(d, client_name, &topo, &err) != JT_OK ||
        jt_lease_create(d->bus.js, d->bus.leases, lease_key, d->worker_id, &d->lease, &err) !=
            JT_OK) {
        jt_log_error("%s", err.message);
        jt_runner_destroy(job_runner);
        jt_runner_destroy(validate_runner);
        rc = 1;
        goto out;
    }
    if (setup_loop(d) != 0) {
        jt_log_error("cannot set up the event loop");
        jt_runner_destroy(job_runner);
        jt_runner_destroy(validate_runner);
        rc = 4;
        goto out;
    }
    if (jt_validate_service_start(d->bus.nc, cfg, validate_core_for(cfg, measure_core),
                                  validate_runner, &d->validate, &err) != JT_OK) {
        jt_log_error("%s", err.message);
        jt_runner_destroy(job_runner);
        rc = 1;
        goto out_loop;
    }
    /* Before the first fetch, which may be what makes the server give up on a job. */
    if (jt_poison_start(&d->bus, d->worker_id, &d->poison, &err) != JT_OK) {
        jt_log_error("%s", err.message);
        jt_runner_destroy(job_runner);
        rc = 1;
        goto out_loop;
    }
    jt_job_consumer_opts_t jo = {.cfg = cfg,
                                 .bus = &d->bus,
                                 .ms = d->ms,
                                 .not_measuring_why = d->reason,
                                 .lease = d->lease,
                                 .worker_id = d->worker_id,
                                 .on_exit = job_thread_exit,
                                 .ctx = d};
    if (jt_job_consumer_start(&jo, job_runner, &d->jobs, &err) != JT_OK) {
        jt_log_error("%s", err.message);
        rc = 1;
        goto out_loop;
    }
    beat(d);
    jt_log_info("worker %s ready: meter %s (%s), measurement core %d, lease %s, NATS %s",
                d->worker_id, d->meter_type, d->hb.calibrated ? "calibrated" : "not calibrated",
                measure_core, lease_key, cfg->nats_url);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    shut_down(d);
    jt_log_info("worker %s stopped", d->worker_id);
    free(d);
    return 0;

out_loop:
    /* No job thread: close the handles ourselves. */
    on_job_done(&d->job_done);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
out:
    shut_down(d);
    free(d);
    return rc;
}
