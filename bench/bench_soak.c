/* bench_soak.c -- the whole system under 100 concurrent clients for ten minutes: errors, GET
 * latency against an idle floor, memory growth of the gateway and the workers.
 *
 * Starts a real nats-server, jouletrace-gateway and two `jouletrace-worker run` daemons
 * (estimate meter, no calibration file, measurement core 1) on free 127.0.0.1 ports in a
 * temporary directory. With the system idle it completes one job and times GET /ping, the task,
 * health and socket0 status back to back: each route's idle p99 is the floor its p99 under load
 * is compared with. Then --clients clients (soak_client.h; a third follow their jobs with event
 * streams, the rest poll) run for --seconds; the clients still following a job when the time is
 * up follow it to its end. The resident memory (VmRSS) of nats-server (no target), the gateway,
 * each worker daemon and each worker's runners is read after a warm-up (warmup_s()), halfway
 * through the rest, at the end of the load, and every SAMPLE_S in between (the peak).
 * Prints one table; exits 0 when every target is met, 1 when one is missed or the run failed,
 * 128 + the signal after SIGINT or SIGTERM, which stop the clients and every process the bench
 * started. The directory is removed (--keep keeps it and the logs). Usage:
 *     bench_soak [--seconds N] [--clients N] [--max-pending N] [--keep]
 * This file runs on the main thread; the clients run on their own.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_http.h"
#include "bench_percentile.h"
#include "floor_table.h"
#include "nats_server.h"
#include "platform_floor.h"
#include "process_harness.h"
#include "soak_client.h"
#include "temp_dir.h"

#define WORKERS 2
#define HTTP_THREADS "128"     /* civetweb holds a thread per busy keep-alive connection */
/* Load before the first memory sample: a quarter of the run, at least 20 s. The gateway's
 * HTTP threads each fill glibc's per-thread malloc caches during the first minutes (heaptrack
 * over 110 s of load: nothing leaked); what grows after that is what a leak would grow. */
#define WARMUP_S 20.0
#define WARMUP_FRACTION 0.25
#define SAMPLE_S 5.0           /* memory samples in between (the peak) */
#define DRAIN_S 120.0          /* how long clients may follow their last job after the load */
#define FLOOR_ROUNDS 500       /* idle GETs of each route for the floor */
#define GET_P99_TARGET 20.0    /* a route's GET p99 under load / its idle p99 */
#define RSS_GROWTH_TARGET 10.0 /* percent, start to end */

/* Seconds of load before the first memory sample, for a load of load_s seconds. */
static double warmup_s(double load_s)
{
    double w = load_s * WARMUP_FRACTION;
    if (w < WARMUP_S)
        w = WARMUP_S;
    return w < load_s / 3.0 ? w : load_s / 3.0;
}
#define MAX_RUNNERS 8          /* direct children of a worker looked at */

static atomic_int stop_now; /* set by SIGINT/SIGTERM, or when a process of the system died */
static volatile sig_atomic_t got_signal;

typedef struct {
    int seconds, clients, max_pending;
    bool keep;
} options_t;

typedef struct {
    jt_nats_server_t nats;
    char dir[128];
    int port;
    jt_proc_t gateway;
    jt_proc_t worker[WORKERS];
} sut_t;

/* The processes whose memory is read: each worker daemon, then the runners of each worker. */
enum { P_NATS, P_GATEWAY, P_WORKER, P_RUNNERS = P_WORKER + WORKERS, P_COUNT = P_RUNNERS + WORKERS };

/* Resident memory (KiB) of the system's processes at one moment. */
typedef struct {
    long kib[P_COUNT];
    pid_t runner_pid[WORKERS][MAX_RUNNERS];
    int n_runners[WORKERS];
} rss_t;

/* The samples of one run: after the warm-up, halfway through the rest, at the end, the peak
 * (a sample not taken yet reads 0 for the gateway). */
typedef struct {
    rss_t start, mid, end, peak;
} rss_series_t;

static void on_stop_signal(int sig)
{
    got_signal = sig;
    atomic_store(&stop_now, 1);
}

/* SIGINT and SIGTERM stop the run (and everything it started); a closed socket is no signal. */
static void catch_stop_signals(void)
{
    static const int stop_signals[] = {SIGINT, SIGTERM};
    struct sigaction sa = {.sa_handler = on_stop_signal};
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        sigaction(stop_signals[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- the system under test ------------------------------------------------------------- */

/* Start argv as p, its output in <dir>/<id>.log; 0, or -1 with a line on stderr. */
static int start_proc(jt_proc_t *p, const char *id, const char *dir, char *const *argv,
                      const char *const *vars)
{
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->log, sizeof p->log, "%s/%s.log", dir, id);
    /* A group of its own: a terminal's ^C reaches the bench, which stops it in order. */
    if (jt_proc_start(p, argv, vars, true) == 0)
        return 0;
    fprintf(stderr, "bench_soak: cannot start %s\n", id);
    return -1;
}

/* Start nats-server, the gateway and the workers (s->dir set); 0 once the gateway counts every
 * worker, else -1 (a line on stderr) with whatever started left for sut_stop. */
static int sut_start(sut_t *s, const options_t *o)
{
    char url[128], addr[64], cal[192], pending[64];
    if (jt_nats_server_start(&s->nats) != 0)
        return -1;
    s->port = jt_proc_free_port();
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", s->nats.url);
    snprintf(addr, sizeof addr, "JOULETRACE_HTTP_ADDR=127.0.0.1:%d", s->port);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s/missing-calibration.json", s->dir);
    snprintf(pending, sizeof pending, "JOULETRACE_MAX_PENDING_JOBS=%d", o->max_pending);
    /* What every program gets, then (from ROLE) what only the gateway or a worker gets. */
    enum { ROLE = 3 };
    const char *vars[] = {url,  cal,     "JOULETRACE_LOG_LEVEL=warn",
                          addr, pending, "JOULETRACE_HTTP_THREADS=" HTTP_THREADS,
                          NULL, NULL};
    char *gw_argv[] = {(char *)JT_GATEWAY_BIN, NULL};
    char *w_argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    if (s->port < 0 || start_proc(&s->gateway, "gateway", s->dir, gw_argv, vars) != 0)
        return -1;
    for (int i = 0; i < WORKERS; i++) {
        char sandbox[192], sbvar[224], idvar[64], name[32];
        snprintf(sandbox, sizeof sandbox, "%s/sandbox-%d", s->dir, i);
        snprintf(sbvar, sizeof sbvar, "JOULETRACE_SANDBOX_DIR=%s", sandbox);
        snprintf(idvar, sizeof idvar, "JOULETRACE_WORKER_ID=soak-w%d", i);
        snprintf(name, sizeof name, "worker-%d", i);
        vars[ROLE] = sbvar;
        vars[ROLE + 1] = idvar;
        vars[ROLE + 2] = "JOULETRACE_METER=estimate";
        vars[ROLE + 3] = "JOULETRACE_MEASURE_CORE=1";
        if (mkdir(sandbox, 0700) != 0 || start_proc(&s->worker[i], name, s->dir, w_argv, vars) != 0)
            return -1;
    }
    if (jt_bench_wait_health(s->port, &s->gateway, WORKERS) != 0) {
        fprintf(stderr, "bench_soak: the gateway does not count %d calibrated workers\n", WORKERS);
        return -1;
    }
    return 0;
}

/* Which process of the system is gone, or NULL while all run. */
static const char *sut_dead(const sut_t *s)
{
    if (!jt_proc_alive(s->gateway.pid))
        return "the gateway";
    for (int i = 0; i < WORKERS; i++)
        if (!jt_proc_alive(s->worker[i].pid))
            return i == 0 ? "worker 0" : "worker 1";
    return kill(s->nats.pid, 0) != 0 ? "nats-server" : NULL;
}

/* Lines of the log at path at level ("warn", "error"). */
static long log_lines(const char *path, const char *level)
{
    char needle[32], line[4096];
    long n = 0;
    snprintf(needle, sizeof needle, "\"level\":\"%s\"", level);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        n += strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return n;
}

static void sut_stop(sut_t *s, bool show_logs)
{
    for (int i = 0; i < WORKERS; i++) {
        if (show_logs)
            jt_proc_dump_log(s->worker[i].id, s->worker[i].log, 3000);
        jt_proc_stop(&s->worker[i].pid, SIGTERM, 10.0, true);
    }
    if (show_logs)
        jt_proc_dump_log(s->gateway.id, s->gateway.log, 3000);
    jt_proc_stop(&s->gateway.pid, SIGTERM, 10.0, true);
    jt_nats_server_stop(&s->nats);
}

/* ---- resident memory ------------------------------------------------------------------- */

/* VmRSS of pid in KiB, or -1. */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib;
}

/* The parent of pid from /proc/<pid>/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    int ppid = -1;
    if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
        return -1;
    return ppid;
}

/* The worker's runners (its direct children) and their summed VmRSS into r. */
static void sample_runners(pid_t worker, int i, rss_t *r)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || parent_of(pid) != worker)
            continue;
        long kib = rss_kib(pid);
        if (kib < 0 || r->n_runners[i] == MAX_RUNNERS)
            continue;
        r->runner_pid[i][r->n_runners[i]++] = pid;
        r->kib[P_RUNNERS + i] += kib;
    }
    if (d != NULL)
        closedir(d);
}

static void sample_rss(const sut_t *s, rss_t *r)
{
    memset(r, 0, sizeof *r);
    r->kib[P_NATS] = rss_kib(s->nats.pid);
    r->kib[P_GATEWAY] = rss_kib(s->gateway.pid);
    for (int i = 0; i < WORKERS; i++) {
        r->kib[P_WORKER + i] = rss_kib(s->worker[i].pid);
        sample_runners(s->worker[i].pid, i, r);
    }
}

static void keep_peak(rss_t *peak, const rss_t *r)
{
    for (int p = 0; p < P_COUNT; p++)
        peak->kib[p] = r->kib[p] > peak->kib[p] ? r->kib[p] : peak->kib[p];
}

/* Runner pids of `now` that `before` did not have (a runner was started again). */
static int runners_replaced(const rss_t *before, const rss_t *now, int i)
{
    int n = 0;
    for (int a = 0; a < now->n_runners[i]; a++) {
        bool seen = false;
        for (int b = 0; b < before->n_runners[i]; b++)
            seen = seen || before->runner_pid[i][b] == now->runner_pid[i][a];
        n += !seen;
    }
    return n;
}

/* ---- the table ------------------------------------------------------------------------- */

#define ROW "%-34s %9s %9s %9s %9s %-4s %-38s %-9s %s\n"

static const char *num(char *buf, size_t len, const char *fmt, double v)
{
    snprintf(buf, len, fmt, v);
    return buf;
}

/* Percentiles of a sample set. */
typedef struct {
    size_t n;
    double p50, p99, max;
} lat_t;

/* The percentiles of v (sorted in place; NAN when empty). */
static lat_t lat_of(soak_samples_t *v)
{
    lat_t l = {v->n, jt_bench_percentile(v->v, v->n, 0.5), jt_bench_percentile(v->v, v->n, 0.99),
               jt_bench_percentile(v->v, v->n, 1.0)};
    return l;
}

static void lat_row(const char *figure, lat_t l, const char *unit, const char *note,
                    const char *target, const char *verdict)
{
    char n[24], a[24], b[24], c[24];
    printf(ROW, figure, num(n, sizeof n, "%.0f", (double)l.n), num(a, sizeof a, "%.2f", l.p50),
           num(b, sizeof b, "%.2f", l.p99), num(c, sizeof c, "%.2f", l.max), unit, note, target,
           verdict);
}

/* A latency row without a target. */
static void latency_row(const char *figure, soak_samples_t *v, const char *unit, const char *note)
{
    lat_row(figure, lat_of(v), unit, note, "", "");
}

static void count_row(const char *figure, long value, const char *note, const char *target,
                      const char *verdict)
{
    char n[24];
    printf(ROW, figure, num(n, sizeof n, "%.0f", (double)value), "", "", "", "", note, target,
           verdict);
}

static double growth_percent(long from, long to)
{
    return from > 0 ? 100.0 * (double)(to - from) / (double)from : 0.0;
}

/* The memory rows: start, end, peak in MiB, the growth from start to end (target: below
 * RSS_GROWTH_TARGET, but for nats-server) and from the middle sample to the end. Returns the
 * number of missed targets (a missing sample misses). */
static int rss_rows(const rss_series_t *m)
{
    int missed = 0;
    for (int p = 0; p < P_COUNT; p++) {
        char fig[64], extra[48] = "", a[24], b[24], c[24], note[96];
        long start = m->start.kib[p], end = m->end.kib[p];
        int w = p >= P_RUNNERS ? p - P_RUNNERS : p - P_WORKER;
        if (p == P_NATS)
            snprintf(fig, sizeof fig, "RSS nats-server (no target)");
        else if (p == P_GATEWAY)
            snprintf(fig, sizeof fig, "RSS gateway");
        else if (p < P_RUNNERS)
            snprintf(fig, sizeof fig, "RSS worker %d daemon", w);
        else
            snprintf(fig, sizeof fig, "RSS worker %d runners (%d)", w, m->end.n_runners[w]);
        if (p >= P_RUNNERS)
            snprintf(extra, sizeof extra, "; %d new pid", runners_replaced(&m->start, &m->end, w));
        double growth = growth_percent(start, end);
        bool target = p != P_NATS;
        bool miss = target && (start <= 0 || end <= 0 || growth >= RSS_GROWTH_TARGET);
        snprintf(note, sizeof note, "growth %+.1f %% (2nd half %+.1f %%)%s", growth,
                 growth_percent(m->mid.kib[p], end), extra);
        printf(ROW, fig, "", num(a, sizeof a, "%.1f", (double)start / 1024.0),
               num(b, sizeof b, "%.1f", (double)end / 1024.0),
               num(c, sizeof c, "%.1f", (double)m->peak.kib[p] / 1024.0), "MiB", note,
               target ? "< 10 %" : "", target ? (miss ? "FAIL" : "PASS") : "");
        missed += miss;
    }
    return missed;
}

static const char *verdict(bool met)
{
    return met ? "PASS" : "FAIL";
}

/* Print the table; returns the number of missed targets. */
static int print_table(const options_t *o, double load_s, int streaming, long idle_clients,
                       soak_stats_t *t, soak_stats_t *idle, const rss_series_t *mem, const sut_t *s)
{
    char note[96], target[32];
    int missed = 0;
    soak_samples_t all = {0};
    printf(ROW, "figure", "n", "p50/start", "p99/end", "max/peak", "unit", "note", "target",
           "verdict");
    snprintf(note, sizeof note, "%d clients: %d poll, %d stream", o->clients,
             o->clients - streaming, streaming);
    count_row("load (s)", (long)(load_s + 0.5), note, "", "");
    long gets = 0;
    for (int k = 0; k < SOAK_GET_PING; k++)
        gets += (long)t->t[k].n;
    long streams = t->n[SOAK_SSE_OPENED] + t->n[SOAK_SSE_REFUSED];
    snprintf(note, sizeof note, "POST %ld, GET %ld, SSE %ld", t->n[SOAK_POSTS], gets, streams);
    count_row("requests", t->n[SOAK_POSTS] + gets + streams, note, "", "");
    snprintf(note, sizeof note, "%.1f per s; %ld clients without one",
             (double)t->n[SOAK_JOBS_COMPLETED] / load_s, idle_clients);
    bool enough = idle_clients == 0 && t->n[SOAK_JOBS_COMPLETED] > 0;
    missed += !enough;
    count_row("jobs completed (correct)", t->n[SOAK_JOBS_COMPLETED], note, "1+/client",
              verdict(enough));
    long errors = soak_stats_errors(t);
    snprintf(note, sizeof note, "tr %ld st %ld js %ld stuck %ld fail %ld sse %ld",
             t->errors[SOAK_ERR_TRANSPORT], t->errors[SOAK_ERR_STATUS], t->errors[SOAK_ERR_JSON],
             t->errors[SOAK_ERR_STUCK], t->errors[SOAK_ERR_FAILED], t->errors[SOAK_ERR_STREAM]);
    missed += errors != 0;
    count_row("errors", errors, note, "0", verdict(errors == 0));
    snprintf(note, sizeof note, "429 %ld, 503 %ld; %ld w/o Retry-After", t->n[SOAK_BUSY_429],
             t->n[SOAK_BUSY_503], t->n[SOAK_BUSY_BARE]);
    count_row("designed retry-later answers", t->n[SOAK_BUSY_429] + t->n[SOAK_BUSY_503], note, "",
              "");
    snprintf(note, sizeof note, "completed %ld, refused %ld", t->n[SOAK_SSE_DONE],
             t->n[SOAK_SSE_REFUSED]);
    count_row("SSE streams opened", t->n[SOAK_SSE_OPENED], note, "", "");
    snprintf(note, sizeof note, "%ld events", t->n[SOAK_SSE_EVENTS]);
    latency_row("SSE open -> first event", &t->t[SOAK_T_SSE_FIRST], "ms", note);
    latency_row("job 202 -> end seen", &t->t[SOAK_T_JOB], "s", "");
    latency_row("POST measure-socket0 (202)", &t->t[SOAK_T_POST], "ms", "");
    latency_row("GET /ping idle (HTTP floor)", &idle->t[SOAK_GET_PING], "ms", "");
    snprintf(target, sizeof target, "<= %.0fx", GET_P99_TARGET);
    for (int k = 0; k < SOAK_GET_PING; k++) {
        char fig[64];
        lat_t base = lat_of(&idle->t[k]), l = lat_of(&t->t[k]);
        double ratio = base.n > 0 && base.p99 > 0 ? l.p99 / base.p99 : NAN;
        bool fast = l.n > 0 && !isnan(ratio) && ratio <= GET_P99_TARGET;
        snprintf(fig, sizeof fig, "GET %s", SOAK_GET_PATH[k]);
        snprintf(note, sizeof note, "p99 = %.1fx its idle p99 %.2f", ratio, base.p99);
        lat_row(fig, l, "ms", note, target, verdict(fast));
        missed += !fast;
        for (size_t i = 0; i < t->t[k].n; i++)
            soak_samples_add(&all, t->t[k].v[i]);
    }
    latency_row("GET, all three routes, under load", &all, "ms", "");
    free(all.v);
    missed += rss_rows(mem);
    printf("# job: def solve(x): return x + 1, 2 test cases, warmup_trials 0, 2 trials, "
           "min_trial_seconds 0; estimate meter, measurement core 1\n");
    printf("# clients: polling every %d ms (health + socket0 status every %d polls), streaming "
           "with SSE; both GET health + status before each POST;\n"
           "#   a 429 or a 503 with Retry-After waits as told (1 s without); gateway %s threads, "
           "JOULETRACE_MAX_PENDING_JOBS %d\n",
           SOAK_POLL_MS, SOAK_SIDE_EVERY, HTTP_THREADS, o->max_pending);
    printf("# floor: each route's own p99 with the system idle, before the load: %d rounds of "
           "GET /ping, task, health, status back to back on one connection\n",
           FLOOR_ROUNDS);
    printf("# RSS: VmRSS at %.0f s of load (start), at its end (end), max of samples every %.0f s "
           "(peak); 2nd half: from the sample halfway\n#   between start and end; runners = the "
           "worker's direct children summed (new pid: a runner started again)\n",
           warmup_s(load_s), SAMPLE_S);
    printf("# health answers counting fewer than %d live workers: %ld; log lines warn/error: "
           "gateway %ld/%ld, worker 0 %ld/%ld, worker 1 %ld/%ld\n",
           WORKERS, t->n[SOAK_HEALTH_SHORT], log_lines(s->gateway.log, "warn"),
           log_lines(s->gateway.log, "error"), log_lines(s->worker[0].log, "warn"),
           log_lines(s->worker[0].log, "error"), log_lines(s->worker[1].log, "warn"),
           log_lines(s->worker[1].log, "error"));
    if (t->first_error[0] != '\0')
        printf("# first error: %s\n", t->first_error);
    jt_floor_print(8);
    return missed;
}

/* ---- main ------------------------------------------------------------------------------ */

static int parse_options(int argc, char **argv, options_t *o)
{
    o->seconds = 600;
    o->clients = 100;
    o->max_pending = -1;
    o->keep = false;
    for (int i = 1; i < argc; i++) {
        int *dest = NULL;
        if (strcmp(argv[i], "--keep") == 0) {
            o->keep = true;
            continue;
        }
        if (strcmp(argv[i], "--seconds") == 0)
            dest = &o->seconds;
        else if (strcmp(argv[i], "--clients") == 0)
            dest = &o->clients;
        else if (strcmp(argv[i], "--max-pending") == 0)
            dest = &o->max_pending;
        if (dest == NULL || i + 1 == argc || (*dest = atoi(argv[++i])) <= 0) {
            fprintf(stderr, "usage: bench_soak [--seconds N] [--clients N] [--max-pending N] "
                            "[--keep]\n");
            return -1;
        }
    }
    if (o->max_pending < 0)
        o->max_pending = o->clients / 2 > 0 ? o->clients / 2 : 1;
    return o->clients > 4096 ? -1 : 0;
}

/* Run the load; samples memory while it lasts. Returns 0, or -1 when stopped or a process
 * died (why on stderr). */
static int run_load(const sut_t *s, soak_plan_t *plan, soak_client_t *c, int n, double warm,
                    rss_series_t *m)
{
    double t0 = jt_proc_now(), next = t0 + warm;
    double mid = t0 + warm + (plan->until - t0 - warm) / 2.0;
    const char *dead = NULL;
    for (int i = 0; i < n; i++)
        if (soak_client_start(&c[i]) != 0)
            fprintf(stderr, "bench_soak: client %d did not start\n", i);
    while (!atomic_load(&stop_now) && atomic_load(&plan->live->running) > 0) {
        jt_proc_sleep_ms(200);
        double now = jt_proc_now();
        if ((dead = sut_dead(s)) != NULL) {
            atomic_store(&stop_now, 1);
            break;
        }
        bool at_end = now >= plan->until && m->start.kib[P_GATEWAY] > 0 &&
                      m->end.kib[P_GATEWAY] == 0; /* the end of the load, before the drain */
        if ((now < plan->until && now >= next) || at_end) {
            rss_t r;
            sample_rss(s, &r);
            m->start = m->start.kib[P_GATEWAY] > 0 ? m->start : r;
            m->mid = m->mid.kib[P_GATEWAY] > 0 || (now < mid && !at_end) ? m->mid : r;
            m->end = at_end ? r : m->end;
            keep_peak(&m->peak, &r);
            next = now + SAMPLE_S;
            fprintf(stderr,
                    "bench_soak: %4.0f s: %ld requests, %ld jobs, %ld errors; RSS gateway "
                    "%.1f MiB, workers %.1f/%.1f MiB\n",
                    now - t0, atomic_load(&plan->live->requests), atomic_load(&plan->live->jobs),
                    atomic_load(&plan->live->errors), (double)r.kib[P_GATEWAY] / 1024.0,
                    (double)r.kib[P_WORKER] / 1024.0, (double)r.kib[P_WORKER + 1] / 1024.0);
        }
    }
    for (int i = 0; i < n; i++)
        soak_client_join(&c[i]);
    if (dead != NULL)
        fprintf(stderr, "bench_soak: %s died during the load\n", dead);
    else if (got_signal != 0)
        fprintf(stderr, "bench_soak: stopped by signal %d\n", (int)got_signal);
    return dead != NULL || atomic_load(&stop_now) || m->end.kib[P_GATEWAY] <= 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    static sut_t s;
    static soak_stats_t idle, total;
    static soak_live_t live;
    options_t o;
    static rss_series_t mem;
    soak_client_t *c = NULL;
    int rc = 1, missed = 0;

    if (parse_options(argc, argv, &o) != 0)
        return 2;
    catch_stop_signals();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (jt_temp_dir_make(s.dir, sizeof s.dir, "jt-bench-soak") != 0) {
        perror("bench_soak: temporary directory");
        return 1;
    }
    if (sut_start(&s, &o) != 0 || atomic_load(&stop_now))
        goto out;
    if (soak_floor_measure(s.port, FLOOR_ROUNDS, &idle) != 0 || atomic_load(&stop_now))
        goto out;
    fprintf(stderr, "bench_soak: system up on 127.0.0.1:%d, floor taken; %d clients for %d s\n",
            s.port, o.clients, o.seconds);

    c = calloc((size_t)o.clients, sizeof *c);
    if (c == NULL)
        goto out;
    double warm = warmup_s(o.seconds);
    soak_plan_t plan = {.port = s.port,
                        .workers = WORKERS,
                        .until = jt_proc_now() + o.seconds,
                        .abort = &stop_now,
                        .live = &live};
    plan.drain_until = plan.until + DRAIN_S;
    int streaming = 0;
    for (int i = 0; i < o.clients; i++) {
        c[i].plan = &plan;
        c[i].index = i;
        c[i].streams = i % 3 == 0;
        streaming += c[i].streams;
    }
    double load_before = jt_floor_table_load(), t_load = jt_proc_now();
    int loaded = run_load(&s, &plan, c, o.clients, warm, &mem);
    double load_s = (plan.until < jt_proc_now() ? plan.until : jt_proc_now()) - t_load;
    long idle_clients = 0;
    for (int i = 0; i < o.clients; i++) {
        idle_clients += c[i].stats.n[SOAK_JOBS_COMPLETED] == 0;
        if (soak_stats_merge(&total, &c[i].stats) != 0)
            fprintf(stderr, "bench_soak: out of memory merging figures\n");
    }
    if (loaded != 0)
        goto out;
    missed = print_table(&o, load_s, streaming, idle_clients, &total, &idle, &mem, &s);
    jt_floor_table_print_load(load_before);
    rc = missed > 0 ? 1 : 0;
out:
    if (rc != 0 && total.first_error[0] != '\0')
        fprintf(stderr, "bench_soak: first error: %s\n", total.first_error);
    sut_stop(&s, rc != 0 && got_signal == 0);
    for (int i = 0; c != NULL && i < o.clients; i++)
        soak_stats_cleanup(&c[i].stats);
    free(c);
    soak_stats_cleanup(&total);
    soak_stats_cleanup(&idle);
    if (o.keep)
        fprintf(stderr, "bench_soak: logs kept in %s\n", s.dir);
    else
        jt_temp_dir_remove(s.dir);
    curl_global_cleanup();
    if (missed > 0)
        fprintf(stderr, "bench_soak: %d target(s) missed\n", missed);
    return got_signal != 0 ? 128 + (int)got_signal : rc;
}
