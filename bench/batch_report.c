/* batch_report.c -- bench_batch's report: per-round tables, the totals over rounds, the verdict. */
#include "batch_report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_percentile.h"
#include "cpu_busy.h"
#include "floor_table.h"
#include "platform_floor.h"

#define MAX_SLOTS 16 /* block positions shown (a block holds 8) */

static const char *cell(char *buf, size_t len, const char *fmt, double x)
{
    if (isnan(x))
        return "n/a";
    if (isinf(x))
        return "inf";
    snprintf(buf, len, fmt, x);
    return buf;
}

static double per_hour(const batch_totals_t *m)
{
    return m->socket_s > 0 ? 3600.0 * m->precise / m->socket_s : NAN;
}

static void print_candidates(const batch_options_t *o, const batch_candidate_t *c)
{
    printf("%-9s %8s | %-34s | %-34s %s\n", "candidate", "W", "batch: trials  median J   half-w",
           "jobs:  trials  median J   half-w", "job stop");
    for (int i = 0; i < o->candidates; i++) {
        char a[24], b[24], d[24], e[24];
        const batch_candidate_t *k = &c[i];
        bool bok = k->b_hw <= o->precision, jok = k->j_hw <= o->precision;
        printf("%-9s %8ld |        %6d %9s %7s%% %s |        %6d %9s %7s%% %s %s\n", k->id, k->work,
               k->b_trials, cell(a, sizeof a, "%.5f", k->b_median),
               cell(b, sizeof b, "%.2f", k->b_hw), bok ? "ok" : "--", k->j_trials,
               cell(d, sizeof d, "%.5f", k->j_median), cell(e, sizeof e, "%.2f", k->j_hw),
               jok ? "ok" : "--", k->j_stop);
    }
}

/* Median of v[0..n) (copied: v is kept), NAN when n is 0. */
static double median_of(const double *v, int n)
{
    double tmp[BATCH_MAX_TRIALS];
    if (n <= 0)
        return NAN;
    memcpy(tmp, v, (size_t)n * sizeof *tmp);
    return jt_bench_percentile(tmp, (size_t)n, 0.5);
}

/* What one trial cost in each mode: runs per trial, wall and CPU milliseconds per run
 * (medians), then the batch's wall per run by position in the block, relative to its
 * candidate's median: where a block's order, or a session's first trial, costs more. */
static void print_costs(const batch_options_t *o, const batch_candidate_t *c)
{
    printf("\n%-9s %17s %23s %23s %17s %19s\n", "candidate", "runs/trial b j",
           "wall ms/run batch jobs", "cpu ms/run batch jobs", "trial cv% b j", "trial sd mJ b j");
    static double pos[MAX_SLOTS][BATCH_MAX_CANDIDATES * BATCH_MAX_TRIALS];
    int npos[MAX_SLOTS] = {0};
    for (int i = 0; i < o->candidates; i++) {
        const batch_candidate_t *k = &c[i];
        double bw = median_of(k->b_wall, k->b_n);
        double br = median_of(k->b_runs, k->b_n), jr = median_of(k->j_runs, k->j_n);
        /* one trial's spread in joules: the per-run spread times the runs of a trial */
        printf("%-9s %8.0f %8.0f %11.2f %11.2f %11.2f %11.2f %8.1f %8.1f %9.1f %9.1f\n", k->id, br,
               jr, 1e3 * bw, 1e3 * median_of(k->j_wall, k->j_n), 1e3 * median_of(k->b_cpu, k->b_n),
               1e3 * median_of(k->j_cpu, k->j_n), k->b_cv, k->j_cv,
               10 * k->b_cv * fabs(k->b_median) * br, 10 * k->j_cv * fabs(k->j_median) * jr);
        for (int t = 0; t < k->b_n; t++) {
            int p = k->b_pos[t];
            if (p < MAX_SLOTS && npos[p] < (int)(sizeof pos[p] / sizeof pos[p][0]))
                pos[p][npos[p]++] = k->b_wall[t] / bw;
        }
    }
    printf("# batch wall per run by position in the block / the candidate's median:");
    for (int p = 0; p < MAX_SLOTS; p++)
        if (npos[p] > 0)
            printf(" %d:%.3f", p, jt_bench_percentile(pos[p], (size_t)npos[p], 0.5));
    printf("\n");
}

/* Median and 90th percentile of v[0..n) into buf (sorts v), "n/a" when empty. */
static const char *spread(char *buf, size_t len, double *v, int n)
{
    if (n <= 0)
        return "n/a";
    snprintf(buf, len, "median %.3f W, p90 %.3f W", jt_bench_percentile(v, (size_t)n, 0.5),
             jt_bench_percentile(v, (size_t)n, 0.9));
    return buf;
}

/* How much neighbouring idle windows disagree in each mode: the noise of the local idle
 * power, which every trial's net energy carries. */
static void print_idle_noise(const batch_options_t *o, int core, batch_totals_t *b,
                             batch_totals_t *j)
{
    char x[64], y[64];
    double w = fmax(o->min_trial_s, 0.05);
    jt_cpu_busy_t busy; /* the source the tree counts the core's busy time from */
    jt_error_t err;
    const char *source = jt_cpu_busy_init(&busy, core, NULL, &err) == JT_OK
                             ? jt_cpu_busy_source_name(busy.source)
                             : "unknown";
    printf("# idle windows (package + dram), |difference| between neighbours: batch %s; jobs "
           "%s\n#   (10 ms of busy time on the core in a %.2f s window reads %+.2f W; the tree "
           "counts the core's busy time from %s)\n",
           spread(x, sizeof x, b->idle_dw, b->n_idle_dw),
           spread(y, sizeof y, j->idle_dw, j->n_idle_dw), w,
           (JT_STAND_ACTIVE_W + JT_STAND_DRAM_ACTIVE_W) * 0.01 / w, source);
}

static void print_mode(const char *name, int n, const batch_totals_t *m)
{
    char a[24];
    printf("%-15s %10d %12d %10.1f %7d %8.1f %12s\n", name, n, m->precise, m->socket_s, m->holds,
           m->wall_s, cell(a, sizeof a, "%.0f", per_hour(m)));
}

void batch_report_header(const jt_batch_stand_t *s, const batch_options_t *o)
{
    const jt_integrity_options_t *t = &s->tree.opt;
    printf("bench_batch: candidates measured per hour of measurement socket at an interval "
           "half-width <= %g %% of the median\n",
           o->precision);
    printf("# tree: fake_rapl, package %.0f W idle, +%.0f W busy; dram %.0f W, +%.0f W; %.1f s "
           "after its start (after the calibration) idle %+.1f %%, then package %+.3f W/s; "
           "measurement core %d\n",
           JT_STAND_IDLE_W, JT_STAND_ACTIVE_W, JT_STAND_DRAM_IDLE_W, JT_STAND_DRAM_ACTIVE_W,
           s->tree.step_at, t->step_percent, t->ramp_wps, s->tree.core);
    printf("# candidates: %d loops of W = %ld x %.1f^i iterations; min_trial_seconds %g, "
           "warmup_trials %d; %d rounds, the order alternating\n",
           o->candidates, o->work, BATCH_WORK_STEP, o->min_trial_s, o->warmup, o->rounds);
    printf("# half-w: the 95 %% interval of the median (ranking.h), in %% of the median; "
           "jobs: on trials[].net_total_joules_per_run\n");
}

static void print_mode_head(void)
{
    printf("%-15s %10s %12s %10s %7s %8s %12s\n", "mode", "candidates", "at_precision", "socket_s",
           "holds", "wall_s", "per_hour");
}

/* One round: its candidates, costs, rates and where the socket time went. */
void batch_report_round(const jt_batch_stand_t *s, const batch_options_t *o,
                        const batch_candidate_t *c, batch_totals_t *b, batch_totals_t *j,
                        const char *batch_id, int round, bool batch_first)
{
    printf("\n## round %d of %d (%s first)\n", round + 1, o->rounds,
           batch_first ? "batch" : "jobs");
    printf("# batch %s: target_precision_percent %g, max_measurement_seconds %g (stop: %s); "
           "jobs: energy_measurement_trials %d, target_cv_percent %g\n",
           batch_id, o->precision, o->budget_s, b->stop, o->job_trials, o->job_cv);
    print_candidates(o, c);
    print_costs(o, c);
    printf("\n");
    print_mode_head();
    print_mode("batch", o->candidates, b);
    print_mode("separate jobs", o->candidates, j);
    printf("# socket time = the measurement lease held (KV watcher on the lease bucket, server "
           "timestamps of take and delete)\n");
    printf("# batch: %d lease holds, %d blocks of %.1f s in all: candidate trial windows %.1f s, "
           "null trials %.1f s, idle windows %.1f s,\n#   the rest %.1f s (a sandbox session per "
           "candidate and block, autorange on first trials, warm-up);\n#   lease held beyond the "
           "blocks %.1f s; between blocks, lease free, %.1f s\n",
           b->holds, b->blocks, b->block_s, b->trial_s, b->null_s, b->idle_s,
           b->block_s - b->trial_s - b->null_s - b->idle_s, b->socket_s - b->block_s, b->gap_s);
    printf("# jobs: %d lease holds: candidate trial windows %.1f s, idle windows %.1f s, the rest "
           "%.1f s\n#   (null trials, autorange of candidate and null, warm-up, sandbox session)\n",
           j->holds, j->trial_s, j->idle_s, j->socket_s - j->trial_s - j->idle_s);
    print_idle_noise(o, s->tree.core, b, j);
    int bt = 0, jt = 0;
    for (int i = 0; i < o->candidates; i++) {
        bt += c[i].b_trials;
        jt += c[i].j_trials;
    }
    char x[24], y[24], z[24], w[24];
    printf("# socket seconds per measured trial: batch %s (%d trials), jobs %s (%d trials); "
           "mean candidate window: batch %s s, jobs %s s\n",
           cell(x, sizeof x, "%.3f", bt > 0 ? b->socket_s / bt : NAN), bt,
           cell(y, sizeof y, "%.3f", jt > 0 ? j->socket_s / jt : NAN), jt,
           cell(z, sizeof z, "%.3f", bt > 0 ? b->trial_s / bt : NAN),
           cell(w, sizeof w, "%.3f", jt > 0 ? j->trial_s / jt : NAN));
}

/* A round's totals added to the sums over rounds. */
void batch_totals_add(batch_totals_t *sum, const batch_totals_t *r, bool first)
{
    sum->ok = (first || sum->ok) && r->ok;
    sum->socket_s += r->socket_s;
    sum->holds += r->holds;
    sum->wall_s += r->wall_s;
    sum->precise += r->precise;
    sum->trial_s += r->trial_s;
    sum->null_s += r->null_s;
    sum->idle_s += r->idle_s;
    sum->block_s += r->block_s;
    sum->blocks += r->blocks;
    sum->gap_s += r->gap_s;
}

/* The rates over every round and the verdict; whether it passed. */
bool batch_report_verdict(const batch_options_t *o, int rounds, const batch_totals_t *b,
                          const batch_totals_t *j, double load_before)
{
    printf("\n## all %d rounds\n", rounds);
    print_mode_head();
    print_mode("batch", o->candidates * rounds, b);
    print_mode("separate jobs", o->candidates * rounds, j);
    double rb = per_hour(b), rj = per_hour(j);
    bool comparable = rounds == o->rounds && b->ok && j->ok && j->precise > 0;
    double ratio = comparable ? rb / rj : NAN;
    bool pass = comparable && ratio >= o->target;
    char a[24];
    printf("\n%-44s %8s %10s %s\n", "ratio", "got", "target", "verdict");
    printf("%-44s %8s %9s%.1fx %s\n", "batch / separate jobs, candidates per hour",
           cell(a, sizeof a, "%.2fx", ratio), ">= ", o->target, pass ? "PASS" : "FAIL");
    if (!comparable)
        printf("# no ratio: %s\n", rounds < o->rounds || !b->ok || !j->ok
                                       ? "a mode did not complete"
                                       : "the jobs reached no candidate at the precision (raise "
                                         "--job-trials or lower --job-cv)");
    jt_floor_print(8);
    jt_floor_table_print_load(load_before);
    return pass;
}
