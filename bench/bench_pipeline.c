/* bench_pipeline.c -- the NATS pipeline's speed: POSTs per second, added latency, lease hand-over.
 *
 * Starts a real nats-server (tests/support/nats_server.h), jouletrace-gateway and two
 * `jouletrace-worker run` daemons (estimate meter, no calibration file,
 * measurement core 1) on free 127.0.0.1 ports, and measures with trivial jobs
 * (warmup_trials 0, energy_measurement_trials 1, min_trial_seconds 0):
 *   1. accepted POSTs per second at 1, 8 and 64 keep-alive connections
 *      (libcurl multi, each connection posting back to back), with no worker
 *      running: a fake estimate-meter heartbeat admits the jobs, and the jobs
 *      stream is purged after each level (bench_post_rate.c);
 *   2. added latency of ~50 jobs submitted one at a time: POST to the result
 *      on jouletrace.result.<id>, minus the sum of the result's trial windows
 *      (bench_latency.c, following the jobs with bench_tracks.c);
 *   3. lease hand-over: a KV watcher on the lease bucket times, with the
 *      server's timestamps, each release (delete marker) to the next
 *      acquisition, for pairs of jobs posted back to back to the two workers
 *      (bench_latency.c).
 * Prints one table with the targets of issue 4. Usage: bench_pipeline.
 * This file (the system under test and the table) runs on the main thread.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_http.h"
#include "bench_latency.h"
#include "bench_percentile.h"
#include "bench_post_rate.h"
#include "bench_tracks.h"
#include "bus.h"
#include "nats_server.h"
#include "platform_floor.h"
#include "process_harness.h"
#include "temp_dir.h"

#define HTTP_THREADS "128"

static const int LEVELS[] = {1, 8, 64};
#define N_LEVELS (sizeof LEVELS / sizeof LEVELS[0])

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
        jt_bench_wait_health(s->port, &s->gateway, 0) != 0) {
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

static void print_table(const jt_post_level_t *lv, jt_latency_t *lat, jt_handover_t *ho)
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
    double a50 = jt_bench_percentile(lat->added, n, 0.5),
           a99 = jt_bench_percentile(lat->added, n, 0.99);
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
        printf("%-46s %9s %9.2f %9.2f %6zu\n", parts[i].what, "",
               jt_bench_percentile(parts[i].v, n, 0.5), jt_bench_percentile(parts[i].v, n, 0.99),
               n);
    double h50 = jt_bench_percentile(ho->ms, ho->n, 0.5),
           h99 = jt_bench_percentile(ho->ms, ho->n, 0.99);
    printf("%-46s %9s %9.2f %9.2f %6zu  %-16s %s\n", "lease hand-over (release -> next acquire)",
           "", h50, h99, ho->n, "p50<=5", verdict(ho->n > 0 && h50 <= 5));
    printf("# POST: trivial job, keep-alive, %.0f s per level after %.1f s warm-up, no worker "
           "running (fake heartbeat);\n"
           "#   non-202 answers: %ld/%ld/%ld; TCP connections opened: %ld/%ld/%ld.\n",
           JT_POST_RATE_SECONDS, JT_POST_RATE_WARMUP_S, lv[0].other, lv[1].other, lv[2].other,
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
    static jt_latency_t lat;
    static jt_handover_t ho;
    jt_post_level_t lv[N_LEVELS];
    jt_error_t err;
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
        if (jt_post_rate_fake_heartbeat(&s.bus) != 0 ||
            jt_bench_wait_health(s.port, &s.gateway, 1) != 0) {
            fprintf(stderr, "bench_pipeline: the gateway does not admit jobs\n");
            dump_log(&s.gateway);
            goto out;
        }
        if (jt_post_rate_level(s.port, LEVELS[i], &lv[i]) != 0 || jt_post_rate_purge(&s.bus) != 0) {
            fprintf(stderr, "bench_pipeline: POST level %d failed\n", LEVELS[i]);
            goto out;
        }
        fprintf(stderr, "bench_pipeline: %d connections: %.0f accepted/s\n", LEVELS[i], lv[i].rate);
    }
    jt_post_rate_forget_heartbeat(&s.bus);

    /* 2 and 3 need the real workers and the record subjects. */
    if (jt_tracks_subscribe(s.bus.nc) != 0)
        goto out;
    if (start_worker(&s, 0) != 0 || start_worker(&s, 1) != 0 ||
        jt_bench_wait_health(s.port, &s.gateway, 2) != 0)
        goto out;
    if (jt_latency_measure(s.port, &lat) != 0) {
        dump_log(&s.worker[0]);
        dump_log(&s.worker[1]);
        goto out;
    }
    fprintf(stderr, "bench_pipeline: %zu jobs timed\n", lat.n);
    if (jt_handover_measure(s.port, &s.bus, &ho) != 0) {
        dump_log(&s.worker[0]);
        dump_log(&s.worker[1]);
        goto out;
    }
    print_table(lv, &lat, &ho);
    rc = 0;
out:
    jt_tracks_unsubscribe();
    jt_proc_stop(&s.worker[0].pid, SIGTERM, 10.0, false);
    jt_proc_stop(&s.worker[1].pid, SIGTERM, 10.0, false);
    jt_proc_stop(&s.gateway.pid, SIGTERM, 10.0, false);
    jt_bus_close(&s.bus);
    jt_nats_server_stop(&s.nats);
    jt_tracks_free();
    if (rc == 0)
        jt_temp_dir_remove(s.dir);
    else
        fprintf(stderr, "bench_pipeline: failed; logs kept in %s\n", s.dir);
    curl_global_cleanup();
    return rc;
}
