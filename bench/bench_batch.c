/* bench_batch.c -- candidates measured per hour of measurement socket: a batch against single jobs.
 *
 * Starts the whole system on a drifting fake powercap tree (batch_stand.h: fake_rapl with
 * package idle 40 W, +10 W while the measurement core is busy, dram 3 W, +1 W; calibrated
 * before the drift, then --step-after seconds after the tree's start every idle power steps
 * by --idle-step-percent (5) and the package's grows by --idle-ramp-wps (0.01 W/s); real
 * nats-server, gateway and two `jouletrace-worker run` with rapl-sysfs on core 1), then
 * measures the same --candidates (8) Python functions twice, each a loop of W iterations
 * with W = --work x 1.3^i a module constant (a few ms to tens of ms per run), all returning
 * the same value:
 *   (a) as one batch, POST /api/v1/batches with target_precision_percent --precision (3)
 *       and a generous max_measurement_seconds (--budget); the precision of each candidate
 *       is its ranking entry's half_width_percent (GET /api/v1/batches/{id});
 *   (b) as separate jobs, POST /api/v1/measure all at once (they take turns on the lease),
 *       each with energy_measurement_trials --job-trials (50) and target_cv_percent
 *       --job-cv (1.2), a job's stopping rule, set so that a job that stops has reached the
 *       precision: at 3 trials the interval is the t interval of the mean, 2.48 x the CV
 *       (ranking.md), so a CV of 1.2 % is a half-width of 3 %, where 2 % would stop jobs at
 *       5 %; the precision of each is the same interval as the batch's (jt_rank_compute of
 *       ranking.h on the job's trials[].net_total_joules_per_run), so both modes are judged
 *       by one method.
 * Both use the same min_trial_seconds (0.1) and warmup_trials (1). A candidate counts when
 * its half-width is at most --precision % of its median. The two modes run in --rounds (2)
 * rounds in the order batch, jobs, jobs, batch, ... (--jobs-first: jobs, batch, batch, jobs,
 * ...), each round a new batch and new jobs, and the rates are over all rounds: this VM's
 * vCPU has slow and fast phases minutes apart, and alternating the order puts them on both
 * modes alike instead of on whichever ran second.
 *
 * Measurement-socket time is the time the measurement lease is held, from a KV watcher on
 * the lease bucket (the server's timestamps of the put that takes the key and of its
 * delete): it is exactly the time the socket is unavailable to anyone else, whatever the
 * holder does with it (session start, autorange, warm-up, idle windows, null trials, the
 * trials). The records' own timestamps would leave out part of it, and not the same part in
 * both modes: a job's trial windows omit its autorange, warm-up and null trials, a block's
 * `seconds` the lease round trips around it. A batch's lease is held once per block, with
 * the batch id as its task_id; a job's once, with its task id.
 *
 * Prints per round and candidate the trials, median and half-width of both modes; what one trial
 * cost in each (runs per trial, wall and CPU ms per run, the trial's robust CV and its
 * spread in mJ, the batch's cost by position in a block), then both rates, their ratio
 * over all rounds (target: the batch at least --target (2.5) times the jobs), the socket
 * seconds and where
 * they went (the batch's blocks in KV `<id>.block.<n>`: trial, null and idle windows; the
 * jobs' trial and idle windows), how much neighbouring idle windows disagree, the platform
 * floor and the load (batch_report.h).
 *
 * Everything runs under bench_guard.h: when the bench ends or gets SIGINT, SIGTERM or
 * SIGHUP, its process group (fake_rapl, nats-server, gateway, workers; the sandboxes die
 * with their worker) is killed and its temporary directory removed, nats-server's store
 * included (it lives inside). The bench's own thread and the lease clock's watcher thread
 * are the only threads.
 *
 * Exit 0 when the batch reaches the target ratio, 1 otherwise (also when a mode failed or
 * the jobs reached no candidate at the precision, which leaves nothing to compare), 2 on
 * bad usage.
 * Usage: bench_batch [--candidates N] [--work W] [--precision P] [--budget S] [--job-cv P]
 *                    [--job-trials N] [--min-trial-seconds S] [--warmup N] [--target X]
 *                    [--idle-step-percent P] [--idle-ramp-wps W] [--step-after S]
 *                    [--jobs-first] [--rounds N]
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_report.h"
#include "batch_stand.h"
#include "batch_state.h"
#include "bench_guard.h"
#include "bench_percentile.h"
#include "floor_table.h"
#include "json_path.h"
#include "process_harness.h"
#include "ranking.h"
#include "temp_dir.h"

#define POLL_MS 500
#define JOBS_WAIT_S 1800.0
#define PRINT_EVERY_S 15.0
#define MAX_BLOCKS 100000
#define TEST_INPUT 7 /* solve(7) == 49 for every candidate */

static bool is_final(const char *status)
{
    return status != NULL && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                              strcmp(status, "cancelled") == 0);
}

/* 100 x 1.4826 MAD / |median| of x[0..n) (sorted in place): the spread of one trial that
 * spikes do not inflate; NAN for fewer than 3 values. */
static double robust_cv(double *x, size_t n)
{
    if (n < 3)
        return NAN;
    double med = jt_bench_percentile(x, n, 0.5);
    double *dev = malloc(n * sizeof *dev);
    if (dev == NULL)
        return NAN;
    for (size_t k = 0; k < n; k++)
        dev[k] = fabs(x[k] - med);
    double mad = jt_bench_percentile(dev, n, 0.5);
    free(dev);
    return 100.0 * 1.4826 * mad / fabs(med);
}

/* The robust CV of the numbers of array a (NAN when too few). */
static double array_cv(const json_t *a)
{
    size_t n = json_array_size(a), m = 0;
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t k = 0; x != NULL && k < n; k++)
        if (json_is_number(json_array_get(a, k)))
            x[m++] = json_number_value(json_array_get(a, k));
    double cv = x != NULL ? robust_cv(x, m) : NAN;
    free(x);
    return cv;
}

/* ---- the candidates ---------------------------------------------------------------------- */

/* Forget what a round measured of the candidates; keep their code. */
static void reset_results(batch_candidate_t *c, const batch_options_t *o)
{
    for (int i = 0; i < o->candidates; i++) {
        batch_candidate_t keep = c[i];
        memset(&c[i], 0, sizeof c[i]);
        memcpy(c[i].id, keep.id, sizeof c[i].id);
        c[i].work = keep.work;
        c[i].code = keep.code;
        c[i].b_median = c[i].b_hw = c[i].j_median = c[i].j_hw = NAN;
        c[i].b_cv = c[i].j_cv = NAN;
    }
}

static int make_candidates(batch_candidate_t *c, const batch_options_t *o)
{
    for (int i = 0; i < o->candidates; i++) {
        memset(&c[i], 0, sizeof c[i]);
        snprintf(c[i].id, sizeof c[i].id, "w%d", i);
        c[i].work = lround((double)o->work * pow(BATCH_WORK_STEP, i));
        /* s never goes below 0: every candidate returns x * x, after W iterations */
        if (asprintf(&c[i].code,
                     "W = %ld\n"
                     "def solve(x):\n"
                     "    s = 0\n"
                     "    for i in range(W):\n"
                     "        s = (s * 31 + i) & 0xFFFFFFFF\n"
                     "    return x * x if s >= 0 else -x\n",
                     c[i].work) < 0)
            return -1;
    }
    return 0;
}

/* The problem's fields shared by the batch and every job into o. */
static void set_problem(json_t *o, const batch_options_t *opt)
{
    json_object_set_new(o, "function_name", json_string("solve"));
    json_object_set_new(o, "problem_name", json_string("bench-batch"));
    json_object_set_new(o, "test_cases",
                        json_pack("[{s:s, s:[i], s:i}]", "test_id", "t1", "inputs", TEST_INPUT,
                                  "expected_output", TEST_INPUT * TEST_INPUT));
    json_object_set_new(o, "timeout_seconds", json_real(20));
    json_object_set_new(o, "min_trial_seconds", json_real(opt->min_trial_s));
    json_object_set_new(o, "warmup_trials", json_integer(opt->warmup));
}

/* ---- (a) one batch ----------------------------------------------------------------------- */

/* Package + dram watts of a block's idle window w (watts by the block's domain index). */
static double block_idle_watts(const json_t *block, const json_t *w)
{
    double sum = 0;
    size_t d;
    json_t *name;
    json_array_foreach(json_object_get(block, "domains"), d, name)
    {
        const char *n = json_string_value(name);
        if (n != NULL && (strcmp(n, "package") == 0 || strcmp(n, "dram") == 0))
            sum += json_number_value(json_array_get(json_object_get(w, "watts"), d));
    }
    return sum;
}

static void keep_idle_diff(batch_totals_t *m, double a, double b)
{
    if (isfinite(a) && isfinite(b) && m->n_idle_dw < BATCH_MAX_CANDIDATES * BATCH_MAX_TRIALS)
        m->idle_dw[m->n_idle_dw++] = fabs(a - b);
}

/* Keep one block trial t, at position pos of its block, in its candidate's lists. */
static void keep_block_trial(const json_t *t, int pos, batch_candidate_t *c, int n)
{
    json_int_t i = json_integer_value(json_object_get(t, "candidate"));
    double runs = jt_json_number_at(t, "runs");
    if (i < 0 || i >= n || !(runs > 0) || c[i].b_n >= BATCH_MAX_TRIALS)
        return;
    batch_candidate_t *k = &c[i];
    k->b_runs[k->b_n] = runs;
    k->b_wall[k->b_n] = jt_json_number_at(t, "seconds") / runs;
    k->b_cpu[k->b_n] = jt_json_number_at(t, "cpu_seconds") / runs;
    k->b_pos[k->b_n] = pos;
    k->b_n++;
}

/* Sum what the stored blocks of batch id spent, into m; each trial's costs into c. */
static void read_blocks(jt_batch_stand_t *s, const char *id, batch_totals_t *m,
                        batch_candidate_t *c, int n)
{
    double prev_end = NAN;
    m->trial_s = m->null_s = m->idle_s = m->block_s = m->gap_s = 0;
    for (size_t k = 0; k < MAX_BLOCKS; k++) {
        json_t *b = NULL;
        jt_error_t err;
        if (jt_batch_json_get(&s->bus, id, "block", k, &b, &err) != JT_OK)
            break;
        double started = jt_json_number_at(b, "started_at"), secs = jt_json_number_at(b, "seconds");
        m->blocks++;
        m->block_s += secs;
        m->idle_s += jt_json_number_at(b, "idle_before.seconds") +
                     jt_json_number_at(b, "idle_after.seconds");
        m->null_s += jt_json_number_at(b, "null.seconds");
        keep_idle_diff(m, block_idle_watts(b, json_object_get(b, "idle_before")),
                       block_idle_watts(b, json_object_get(b, "idle_after")));
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(b, "trials"), i, t)
        {
            m->trial_s += json_number_value(json_object_get(t, "seconds"));
            keep_block_trial(t, (int)i, c, n);
        }
        if (!isnan(prev_end) && started - prev_end > 0)
            m->gap_s += started - prev_end;
        prev_end = started + secs;
        json_decref(b);
    }
}

/* Submit the batch, wait for its end, read its ranking into c and its totals into m. */
static int run_batch(jt_batch_stand_t *s, const batch_options_t *o, batch_candidate_t *c,
                     batch_totals_t *m, char *batch_id, size_t id_len)
{
    json_t *body = json_object();
    set_problem(body, o);
    json_object_set_new(body, "target_precision_percent", json_real(o->precision));
    json_object_set_new(body, "max_measurement_seconds", json_real(o->budget_s));
    json_t *cands = json_array();
    for (int i = 0; i < o->candidates; i++)
        json_array_append_new(
            cands, json_pack("{s:s, s:s}", "candidate_id", c[i].id, "candidate_code", c[i].code));
    json_object_set_new(body, "candidates", cands);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_t *a = NULL;
    double t0 = jt_proc_now();
    long st = text ? jt_batch_stand_http(s, "POST", "/api/v1/batches", text, &a) : -1;
    free(text);
    const char *id = json_string_value(json_object_get(a, "batch_id"));
    if (st != 202 || id == NULL) {
        char *dump = a ? json_dumps(a, JSON_COMPACT) : NULL;
        fprintf(stderr, "bench_batch: POST /api/v1/batches -> %ld %s\n", st, dump ? dump : "");
        free(dump);
        json_decref(a);
        return -1;
    }
    snprintf(batch_id, id_len, "%s", id);
    json_decref(a);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/batches/%s?details=failed", batch_id);
    double deadline = t0 + o->budget_s + 600.0, next_print = t0 + PRINT_EVERY_S;
    json_t *rec = NULL;
    for (;;) {
        json_decref(rec);
        rec = NULL;
        if (jt_batch_stand_http(s, "GET", path, NULL, &rec) == 200 &&
            is_final(jt_json_str(rec, "status")))
            break;
        double now = jt_proc_now();
        if (now > deadline) {
            fprintf(stderr, "bench_batch: batch %s did not end in %.0f s\n", batch_id, now - t0);
            json_decref(rec);
            return -1;
        }
        if (now >= next_print) {
            fprintf(stderr, "[batch] %s: %.0f blocks, %.0f trials, %.1f s measured\n",
                    jt_json_str(rec, "status"), jt_json_number_at(rec, "blocks"),
                    jt_json_number_at(rec, "trials"),
                    jt_json_number_at(rec, "measurement_seconds"));
            next_print = now + PRINT_EVERY_S;
        }
        jt_proc_sleep_ms(POLL_MS);
    }
    m->wall_s = jt_proc_now() - t0;
    int rc = strcmp(jt_json_str(rec, "status"), "completed") == 0 ? 0 : -1;
    if (rc != 0) {
        char *dump = json_dumps(rec, JSON_COMPACT);
        fprintf(stderr, "bench_batch: batch %s ended %s: %.3000s\n", batch_id,
                jt_json_str(rec, "status"), dump ? dump : "");
        free(dump);
    }
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(rec, "ranking"), k, e)
    {
        for (int i = 0; i < o->candidates; i++) {
            if (strcmp(jt_json_str(e, "candidate_id"), c[i].id) != 0)
                continue;
            c[i].b_trials = (int)json_integer_value(json_object_get(e, "trials"));
            c[i].b_median = jt_json_number_at(e, "median_energy_joules");
            /* null for an unbounded interval */
            c[i].b_hw = json_is_number(json_object_get(e, "half_width_percent"))
                            ? jt_json_number_at(e, "half_width_percent")
                            : INFINITY;
            c[i].b_cv = array_cv(json_object_get(e, "energy_per_trial_joules"));
        }
    }
    snprintf(m->stop, sizeof m->stop, "%s",
             jt_json_str(json_object_get(rec, "method"), "stop_reason"));
    json_decref(rec);
    fprintf(stderr, "[batch] %s %s in %.1f s\n", batch_id, rc == 0 ? "completed" : "ended",
            m->wall_s);
    read_blocks(s, batch_id, m, c, o->candidates);
    m->ok = rc == 0;
    return rc;
}

/* ---- (b) separate jobs ------------------------------------------------------------------- */

static json_t *job_body(const batch_options_t *o, const batch_candidate_t *c)
{
    json_t *j = json_object();
    set_problem(j, o);
    json_object_set_new(j, "candidate_id", json_string(c->id));
    json_object_set_new(j, "candidate_code", json_string(c->code));
    json_object_set_new(j, "energy_measurement_trials", json_integer(o->job_trials));
    json_object_set_new(j, "target_cv_percent", json_real(o->job_cv));
    return j;
}

/* The batch's interval on one job's trials: c's trials, median and half-width. */
static void job_precision(const json_t *result, batch_candidate_t *c)
{
    const json_t *trials = json_object_get(result, "trials");
    size_t n = json_array_size(trials);
    double *x = calloc(n ? n : 1, sizeof *x);
    size_t m = 0;
    for (size_t k = 0; x != NULL && k < n; k++) {
        double v = jt_json_number_at(json_array_get(trials, k), "net_total_joules_per_run");
        if (isfinite(v))
            x[m++] = v;
    }
    c->j_trials = (int)m;
    jt_rank_sample_t sample = {x, m};
    jt_rank_entry_t e;
    jt_error_t err;
    if (m > 0 && jt_rank_compute(&sample, 1, -1, 1, &e, &err) == JT_OK) {
        c->j_median = e.median;
        c->j_hw = e.half_width_percent;
    }
    if (x != NULL)
        c->j_cv = robust_cv(x, m);
    free(x);
}

/* Sum the windows of one job's result into m; each trial's costs into c. */
static void add_job_windows(const json_t *result, batch_totals_t *m, batch_candidate_t *c)
{
    size_t k;
    json_t *t;
    json_array_foreach(json_object_get(result, "trials"), k, t)
    {
        double runs = jt_json_number_at(t, "repeats"), secs = jt_json_number_at(t, "seconds");
        m->trial_s += secs;
        if (!(runs > 0) || c->j_n >= BATCH_MAX_TRIALS)
            continue;
        c->j_runs[c->j_n] = runs;
        c->j_wall[c->j_n] = secs / runs;
        c->j_cpu[c->j_n] = (jt_json_number_at(t, "proxies.usage.user_us") +
                            jt_json_number_at(t, "proxies.usage.system_us")) /
                           1e6 / runs;
        c->j_n++;
    }
    double prev = NAN;
    json_array_foreach(jt_json_at(result, "quality.idle_windows"), k, t)
    {
        double w = jt_json_number_at(t, "watts.package") + jt_json_number_at(t, "watts.dram");
        m->idle_s += json_number_value(json_object_get(t, "seconds"));
        keep_idle_diff(m, prev, w);
        prev = w;
    }
}

/* Post every candidate as a job at once, wait for all of them, read their precision. */
static int run_jobs(jt_batch_stand_t *s, const batch_options_t *o, batch_candidate_t *c,
                    batch_totals_t *m)
{
    double t0 = jt_proc_now();
    m->trial_s = m->idle_s = 0;
    m->null_s = NAN;
    for (int i = 0; i < o->candidates; i++) {
        json_t *body = job_body(o, &c[i]);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        json_t *a = NULL;
        long st = text ? jt_batch_stand_http(s, "POST", "/api/v1/measure", text, &a) : -1;
        free(text);
        const char *id = json_string_value(json_object_get(a, "task_id"));
        if (st != 202 || id == NULL) {
            fprintf(stderr, "bench_batch: POST /api/v1/measure (%s) -> %ld\n", c[i].id, st);
            json_decref(a);
            return -1;
        }
        snprintf(c[i].task, sizeof c[i].task, "%s", id);
        json_decref(a);
    }
    int done = 0, completed = 0;
    bool *final = calloc((size_t)o->candidates, sizeof *final);
    double next_print = t0 + PRINT_EVERY_S;
    while (final != NULL && done < o->candidates) {
        if (jt_proc_now() - t0 > JOBS_WAIT_S) {
            fprintf(stderr, "bench_batch: %d of %d jobs ended in %.0f s\n", done, o->candidates,
                    JOBS_WAIT_S);
            break;
        }
        for (int i = 0; i < o->candidates; i++) {
            if (final[i])
                continue;
            char path[128];
            snprintf(path, sizeof path, "/api/v1/tasks/%s", c[i].task);
            json_t *r = NULL;
            if (jt_batch_stand_http(s, "GET", path, NULL, &r) == 200 &&
                is_final(jt_json_str(r, "status"))) {
                final[i] = true;
                done++;
                m->wall_s = jt_proc_now() - t0;
                if (strcmp(jt_json_str(r, "status"), "completed") == 0) {
                    completed++;
                    job_precision(r, &c[i]);
                    add_job_windows(r, m, &c[i]);
                    snprintf(c[i].j_stop, sizeof c[i].j_stop, "%s",
                             jt_json_str(json_object_get(r, "statistics"), "early_stop_reason"));
                } else {
                    fprintf(stderr, "bench_batch: job %s (%s) ended %s: %s: %s\n", c[i].task,
                            c[i].id, jt_json_str(r, "status"), jt_json_str(r, "error_type"),
                            jt_json_str(r, "error"));
                }
                fprintf(stderr, "[jobs] %s %s: %d trials, half-width %.2f %%\n", c[i].id,
                        jt_json_str(r, "status"), c[i].j_trials, c[i].j_hw);
            }
            json_decref(r);
        }
        if (jt_proc_now() >= next_print) {
            fprintf(stderr, "[jobs] %d of %d ended\n", done, o->candidates);
            next_print = jt_proc_now() + PRINT_EVERY_S;
        }
        jt_proc_sleep_ms(POLL_MS);
    }
    free(final);
    m->ok = completed == o->candidates;
    return m->ok ? 0 : -1;
}

/* ---- the bench --------------------------------------------------------------------------- */

/* Everything but the cleanup of what the guard kills: the stand, both modes, the table. */
static int bench_main(jt_batch_stand_t *s, const batch_options_t *o)
{
    double load = jt_floor_table_load();
    static batch_candidate_t c[BATCH_MAX_CANDIDATES];
    static batch_totals_t b, j, b_all, j_all;
    jt_lease_clock_t clock;
    memset(&clock, 0, sizeof clock);
    int rc = 1, rounds = 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || make_candidates(c, o) != 0)
        return 1;
    if (jt_batch_stand_start(s) != 0 || jt_lease_clock_start(&clock, &s->bus) != 0)
        goto out;
    fprintf(stderr, "bench_batch: the system runs (gateway on 127.0.0.1:%d)\n", s->port);
    batch_report_header(s, o);
    for (int r = 0; r < o->rounds; r++) {
        reset_results(c, o);
        memset(&b, 0, sizeof b);
        memset(&j, 0, sizeof j);
        char batch_id[160] = "";
        bool batch_first = (r % 2 == 0) != o->jobs_first; /* batch, jobs, jobs, batch, ... */
        bool ran = batch_first ? run_batch(s, o, c, &b, batch_id, sizeof batch_id) == 0 &&
                                     run_jobs(s, o, c, &j) == 0
                               : run_jobs(s, o, c, &j) == 0 &&
                                     run_batch(s, o, c, &b, batch_id, sizeof batch_id) == 0;
        jt_proc_sleep_ms(200); /* the watcher has the last delete */
        b.socket_s = jt_lease_clock_held(&clock, batch_id, &b.holds);
        for (int i = 0; i < o->candidates; i++) {
            int holds = 0;
            j.socket_s += jt_lease_clock_held(&clock, c[i].task, &holds);
            j.holds += holds;
            b.precise += c[i].b_hw <= o->precision;
            j.precise += c[i].j_hw <= o->precision;
        }
        batch_report_round(s, o, c, &b, &j, batch_id, r, batch_first);
        batch_totals_add(&b_all, &b, r == 0);
        batch_totals_add(&j_all, &j, r == 0);
        fflush(stdout);
        if (!ran) {
            jt_batch_stand_dump_logs(s);
            break;
        }
        rounds++;
    }
    jt_lease_clock_stop(&clock);
    jt_batch_stand_stop(s);
    bool pass = batch_report_verdict(o, rounds, &b_all, &j_all, load);
    rc = pass ? 0 : 1;
out:
    jt_lease_clock_stop(&clock);
    jt_batch_stand_stop(s);
    for (int i = 0; i < o->candidates; i++)
        free(c[i].code);
    curl_global_cleanup();
    return rc;
}

/* ---- options and main ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_batch [--candidates N] [--work W] [--precision P] [--budget S]\n"
            "       [--job-cv P] [--job-trials N] [--min-trial-seconds S] [--warmup N]\n"
            "       [--target X] [--idle-step-percent P] [--idle-ramp-wps W] [--step-after S]\n"
            "       [--jobs-first] [--rounds N]\n");
    exit(2);
}

static double parse_num(const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "bench_batch: bad number \"%s\"\n", s);
        usage();
    }
    return v;
}

static void parse_options(int argc, char **argv, batch_options_t *o, jt_integrity_options_t *t)
{
    *o = (batch_options_t){.candidates = 8,
                           .work = 40000,
                           .precision = 3,
                           .budget_s = 1800,
                           .job_cv = 1.2,
                           .job_trials = 50,
                           .min_trial_s = 0.1,
                           .warmup = 1,
                           .target = 2.5,
                           .rounds = 2};
    *t = (jt_integrity_options_t){.step_percent = 5, .ramp_wps = 0.01, .step_after_s = 20};
    static const struct option opts[] = {
        {"candidates", required_argument, NULL, 'n'},
        {"work", required_argument, NULL, 'w'},
        {"precision", required_argument, NULL, 'p'},
        {"budget", required_argument, NULL, 'b'},
        {"job-cv", required_argument, NULL, 'c'},
        {"job-trials", required_argument, NULL, 't'},
        {"min-trial-seconds", required_argument, NULL, 'm'},
        {"warmup", required_argument, NULL, 'u'},
        {"target", required_argument, NULL, 'x'},
        {"idle-step-percent", required_argument, NULL, 'P'},
        {"idle-ramp-wps", required_argument, NULL, 'W'},
        {"step-after", required_argument, NULL, 'S'},
        {"jobs-first", no_argument, NULL, 'J'},
        {"rounds", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            o->candidates = (int)parse_num(optarg, 2, BATCH_MAX_CANDIDATES);
            break;
        case 'w':
            o->work = (long)parse_num(optarg, 1000, 1e8);
            break;
        case 'p':
            o->precision = parse_num(optarg, 0.1, 100);
            break;
        case 'b':
            o->budget_s = parse_num(optarg, 10, 86400);
            break;
        case 'c':
            o->job_cv = parse_num(optarg, 0, 100);
            break;
        case 't':
            o->job_trials = (int)parse_num(optarg, 3, 50);
            break;
        case 'm':
            o->min_trial_s = parse_num(optarg, 0, 10);
            break;
        case 'u':
            o->warmup = (int)parse_num(optarg, 0, 10);
            break;
        case 'x':
            o->target = parse_num(optarg, 0, 1000);
            break;
        case 'P':
            t->step_percent = parse_num(optarg, -100, 1000);
            break;
        case 'W':
            t->ramp_wps = parse_num(optarg, 0, 100);
            break;
        case 'S':
            t->step_after_s = parse_num(optarg, 1, 600);
            break;
        case 'J':
            o->jobs_first = true;
            break;
        case 'r':
            o->rounds = (int)parse_num(optarg, 1, 20);
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
}

/* What the guarded child runs. */
typedef struct {
    jt_batch_stand_t *stand;
    batch_options_t opt;
} bench_args_t;

static int bench_body(void *arg)
{
    bench_args_t *a = arg;
    return bench_main(a->stand, &a->opt);
}

int main(int argc, char **argv)
{
    static jt_batch_stand_t stand;
    bench_args_t args = {&stand, {0}};
    parse_options(argc, argv, &args.opt, &stand.tree.opt);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    stand.tree.core = cores > 1 ? (int)cores - 1 : 0;
    stand.tree.other_core = 0;
    if (jt_temp_dir_make(stand.tree.dir, sizeof stand.tree.dir, "jt-batch") != 0) {
        fprintf(stderr, "bench_batch: temporary directory %s: %s\n", stand.tree.dir,
                strerror(errno));
        return 1;
    }
    return jt_bench_guard_run(stand.tree.dir, bench_body, &args);
}
