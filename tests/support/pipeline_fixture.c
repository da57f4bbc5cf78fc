/* pipeline_fixture.c -- the pipeline tests' fixture: the whole system as real processes. */
#include "pipeline_fixture.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_tree.h"
#include "pipeline_http.h"
#include "proc_scan.h"
#include "temp_dir.h"
#include "unit_main.h"

static void pl_dump_logs(const pl_t *pl)
{
    char path[256];
    jt_proc_dump_log("gateway", pl->gw.log, 6000);
    for (int i = 0; i < PL_WORKERS; i++)
        jt_proc_dump_log(pl->w[i].id, pl->w[i].log, 10000);
    snprintf(path, sizeof path, "%s/calibrate.log", pl->dir);
    jt_proc_dump_log("calibrate", path, 2000);
    FILE *f = fopen("/proc/loadavg", "r");
    char load[128] = "?";
    if (f != NULL) {
        if (fgets(load, sizeof load, f) == NULL)
            snprintf(load, sizeof load, "?");
        fclose(f);
    }
    fprintf(stderr, "load average: %s\n", load);
}

void pl_fail(const pl_t *pl, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pl_dump_logs(pl);
    fail_msg("%s", msg);
    abort(); /* fail_msg does not return */
}

int pl_stop(jt_proc_t *p, double seconds)
{
    if (p->pid <= 0)
        return 0;
    int status = jt_proc_stop(&p->pid, SIGTERM, seconds, true);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Wait (at most `budget` s) until the measurement core was quiet for a second:
 * calibrate refuses a busy core, and other programs of this machine may use it. */
static void pl_wait_quiet_core(double budget)
{
    double until = jt_nats_now() + budget;
    int quiet = 0;
    while (quiet < 2 && jt_nats_now() < until) {
        long long a = jt_scan_busy_ticks(PL_MEASURE_CORE);
        jt_nats_sleep_ms(500);
        long long b = jt_scan_busy_ticks(PL_MEASURE_CORE);
        quiet = (a >= 0 && b >= 0 && b - a <= 1) ? quiet + 1 : 0;
    }
}

/* `jouletrace-worker calibrate --seconds 2` against the fake tree, retried
 * when the box is busy (the load may be another program's). */
static void pl_calibrate(pl_t *pl)
{
    char v[6][320];
    snprintf(v[0], sizeof v[0], "JOULETRACE_METER=rapl-sysfs");
    snprintf(v[1], sizeof v[1], "JOULETRACE_POWERCAP_ROOT=%s", pl->rapl);
    snprintf(v[2], sizeof v[2], "JOULETRACE_MEASURE_CORE=%d", PL_MEASURE_CORE);
    snprintf(v[3], sizeof v[3], "JOULETRACE_VALIDATE_CORE=%d", PL_VALIDATE_CORE);
    /* energy values are not judged here: a noisy idle baseline is acceptable */
    snprintf(v[4], sizeof v[4], "JOULETRACE_CALIBRATION_MAX_CV_PERCENT=60");
    snprintf(v[5], sizeof v[5], "JOULETRACE_LOG_LEVEL=info");
    const char *vars[] = {v[0], v[1], v[2], v[3], v[4], v[5], NULL};
    char *argv[] = {(char *)JT_WORKER_BIN,
                    (char *)"calibrate",
                    (char *)"--seconds",
                    (char *)"2",
                    (char *)"--out",
                    pl->cal,
                    NULL};
    jt_proc_t c = {.id = "calibrate"};
    snprintf(c.log, sizeof c.log, "%s/calibrate.log", pl->dir);
    for (int attempt = 1; attempt <= 6; attempt++) {
        pl_wait_quiet_core(30.0);
        PL_CHECK(pl, jt_proc_start(&c, argv, vars, true) == 0);
        int status = 0;
        if (!jt_proc_reap(c.pid, 60.0, &status)) {
            jt_proc_stop(&c.pid, SIGKILL, 10.0, false);
            continue;
        }
        c.pid = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(pl->cal, R_OK) == 0)
            return;
        fprintf(stderr, "calibrate refused (attempt %d); retrying\n", attempt);
    }
    pl_fail(pl, "calibrate failed 6 times (is core %d busy with something else?)", PL_MEASURE_CORE);
}

void pl_start_gateway(pl_t *pl, int port)
{
    char v[5][320];
    pl->port = port > 0 ? port : jt_proc_free_port();
    PL_CHECK(pl, pl->port > 0);
    snprintf(v[0], sizeof v[0], "JOULETRACE_NATS_URL=%s", pl->nats.url);
    snprintf(v[1], sizeof v[1], "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", pl->port);
    snprintf(v[2], sizeof v[2], "JOULETRACE_HTTP_THREADS=16");
    snprintf(v[3], sizeof v[3], "JOULETRACE_CALIBRATION=%s", pl->cal);
    snprintf(v[4], sizeof v[4], "JOULETRACE_LOG_LEVEL=info");
    const char *vars[] = {v[0], v[1], v[2], v[3], v[4], NULL};
    char *argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    snprintf(pl->gw.id, sizeof pl->gw.id, "gateway");
    snprintf(pl->gw.log, sizeof pl->gw.log, "%s/gateway.log", pl->dir);
    PL_CHECK(pl, jt_proc_start(&pl->gw, argv, vars, true) == 0);
}

/* Start worker i (its id pl-worker-<i+1>) against the case's broker, tree and calibration. */
static void pl_start_worker(pl_t *pl, int i)
{
    char v[10][320];
    jt_proc_t *w = &pl->w[i];
    snprintf(w->id, sizeof w->id, "pl-worker-%d", i + 1);
    snprintf(w->log, sizeof w->log, "%s/%s.log", pl->dir, w->id);
    snprintf(v[0], sizeof v[0], "JOULETRACE_NATS_URL=%s", pl->nats.url);
    snprintf(v[1], sizeof v[1], "JOULETRACE_WORKER_ID=%s", w->id);
    snprintf(v[2], sizeof v[2], "JOULETRACE_METER=rapl-sysfs");
    snprintf(v[3], sizeof v[3], "JOULETRACE_POWERCAP_ROOT=%s", pl->rapl);
    snprintf(v[4], sizeof v[4], "JOULETRACE_MEASURE_CORE=%d", PL_MEASURE_CORE);
    snprintf(v[5], sizeof v[5], "JOULETRACE_VALIDATE_CORE=%d", PL_VALIDATE_CORE);
    snprintf(v[6], sizeof v[6], "JOULETRACE_CALIBRATION=%s", pl->cal);
    snprintf(v[7], sizeof v[7], "%s", pl->sandbox_env);
    snprintf(v[8], sizeof v[8], "JOULETRACE_LOG_LEVEL=debug");
    snprintf(v[9], sizeof v[9], "JOULETRACE_MAX_ACK_PENDING=64");
    const char *vars[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], NULL};
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    PL_CHECK(pl, jt_proc_start(w, argv, vars, true) == 0);
}

int pl_worker_index(const pl_t *pl, const char *id)
{
    for (int i = 0; i < PL_WORKERS; i++)
        if (strcmp(pl->w[i].id, id) == 0)
            return i;
    return -1;
}

/* Start every worker. */
static void pl_start_workers(pl_t *pl)
{
    for (int i = 0; i < PL_WORKERS; i++)
        pl_start_worker(pl, i);
}

int pl_setup(void **state)
{
    pl_t *pl = calloc(1, sizeof *pl);
    if (pl == NULL)
        return -1;
    *state = pl;
    return 0;
}

void pl_boot(pl_t *pl)
{
    /* this process and all it starts stay off the measurement core */
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(PL_VALIDATE_CORE, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        pl_fail(pl, "sched_setaffinity(core %d): %s", PL_VALIDATE_CORE, strerror(errno));
    if (jt_temp_dir_make(pl->dir, sizeof pl->dir, "jt-pipeline") != 0) {
        pl->dir[0] = '\0';
        pl_fail(pl, "mkdtemp: %s", strerror(errno));
    }
    chmod(pl->dir, 0711); /* the sandbox user must reach its work directories */
    snprintf(pl->rapl, sizeof pl->rapl, "%s/rapl", pl->dir);
    snprintf(pl->cal, sizeof pl->cal, "%s/cal.json", pl->dir);
    snprintf(pl->sandbox, sizeof pl->sandbox, "%s/sandbox", pl->dir);
    snprintf(pl->sandbox_env, sizeof pl->sandbox_env, "JOULETRACE_SANDBOX_DIR=%s", pl->sandbox);
    snprintf(pl->gw.log, sizeof pl->gw.log, "%s/gateway.log", pl->dir);
    PL_CHECK(pl, mkdir(pl->rapl, 0755) == 0 && mkdir(pl->sandbox, 0755) == 0);

    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.core = PL_MEASURE_CORE;
    if (pl->idle_drift) {
        o.idle_step_percent = 5.0;
        o.idle_step_after_s = 20.0;
        o.idle_ramp_wps = 0.01;
    }
    if (jt_fake_rapl_start(pl->rapl, &o, &pl->fake) != 0)
        pl_fail(pl, "fake_rapl did not start on %s", pl->rapl);
    pl_calibrate(pl);

    if (jt_nats_server_start_config(&pl->nats, JT_BROKER_CONF) != 0)
        pl_fail(pl, "nats-server did not start from %s", JT_BROKER_CONF);
    jt_topology_opts_t topo;
    jt_error_t err;
    jt_topology_opts_init(&topo);
    if (jt_bus_connect(pl->nats.url, "test-pipeline", &topo, &pl->bus, &err) != JT_OK)
        pl_fail(pl, "jt_bus_connect: %s", err.message);
    pl->bus_open = true;
    pl_start_gateway(pl, 0);
    pl_start_workers(pl);
    pl_wait_ready(pl, PL_WORKERS, 90.0);
}

int pl_teardown(void **state)
{
    pl_t *pl = *state;
    if (pl == NULL)
        return 0;
    if (getenv("JT_TEST_VERBOSE") != NULL)
        pl_dump_logs(pl);
    for (int i = 0; i < PL_WORKERS; i++)
        pl_stop(&pl->w[i], 30.0);
    pl_stop(&pl->gw, 15.0);
    if (pl->bus_open)
        jt_bus_close(&pl->bus);
    jt_nats_server_stop(&pl->nats);
    if (pl->fake.pid > 0)
        jt_fake_rapl_stop(&pl->fake);
    if (pl->dir[0] != '\0') {
        char ready[300];
        snprintf(ready, sizeof ready, "%s.ready", pl->rapl);
        unlink(ready);
        jt_fake_tree_remove(pl->dir);
    }
    free(pl);
    return 0;
}
