/* integrity_report.c -- bench_integrity's tables: candidates, rounds, targets, estimate runs. */
#include "integrity_report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_percentile.h"

/* The median of v[0..n) without its NANs, the mean of the two middle values for an even count
 * (NAN when none are left). */
double integrity_median(const double *v, int n)
{
    double sorted[MAX_ROUNDS];
    int m = 0;
    for (int i = 0; i < n && m < MAX_ROUNDS; i++)
        if (!isnan(v[i]))
            sorted[m++] = v[i];
    if (m == 0)
        return NAN;
    jt_bench_percentile(sorted, (size_t)m, 0.5); /* sorts */
    return 0.5 * (sorted[(m - 1) / 2] + sorted[m / 2]);
}

/* "%.5f" of x into buf, or "n/a". */
static const char *cell(char *buf, size_t len, const char *fmt, double x)
{
    if (isnan(x))
        return "n/a";
    snprintf(buf, len, fmt, x);
    return buf;
}

void integrity_print_candidates(const candidate_t *c, double step_s)
{
    printf("%-22s %15s %10s %19s %19s %8s %6s %10s\n", "candidate", "ref ms/run", "true J",
           "constant J (err)", "local J (err)", "s/run", "runs", "floor J/run");
    for (int i = 0; i < N_CANDIDATES; i++) {
        const candidate_t *k = &c[i];
        char ms[64], cj[64], lj[64], a[24], d[24];
        /* '*': the core's speed moved by more than SPEED_MOVED between the references */
        bool moved = k->true_j > 0.05 && fabs(k->cpu[1] / k->cpu[0] - 1) > SPEED_MOVED;
        snprintf(ms, sizeof ms, "%s%.2f/%.2f", moved ? "*" : "", 1e3 * k->cpu[0], 1e3 * k->cpu[1]);
        snprintf(cj, sizeof cj, "%s (%s)", cell(a, sizeof a, "%.5f", k->constant_j),
                 cell(d, sizeof d, "%+.1f%%", k->err_constant));
        snprintf(lj, sizeof lj, "%s (%s)", cell(a, sizeof a, "%.5f", k->local_j),
                 cell(d, sizeof d, "%+.1f%%", k->err_local));
        printf("%-22s %15s %10.5f %19s %19s %8.4f %6.0f %10.5f\n", k->label, ms, k->true_j, cj, lj,
               k->secs, k->repeats, BUSY_W * step_s / k->repeats);
        if (!isnan(k->headline_j) && fabs(k->headline_j - k->local_j) > 1e-9)
            printf("%-22s   (energy_metrics.median_total_energy_joules %.5f: an upper bound)\n", "",
                   k->headline_j);
    }
    printf("# *: the core's speed moved by more than %.0f %% between the two references (the VM's "
           "host):\n#   that row's errors, and the ratios with it, are the machine's, not the "
           "method's\n",
           100 * SPEED_MOVED);
}

/* The rounds of the CPU-bound candidates: per round its order, each candidate's reference
 * milliseconds, true and local J per run, and the local ratios. */
void integrity_print_rounds(candidate_t round[MAX_ROUNDS][N_CPU], int n)
{
    printf("# the cpu rows are medians over %d interleaved rounds (each figure and each error on "
           "its own);\n#   per round (order): ref ms/run, true J / local J per run; local "
           "ratios\n",
           n);
    for (int r = 0; r < n; r++) {
        printf("#   round %d (", r + 1);
        for (int j = 0; j < N_CPU; j++)
            printf("%s%dx", j ? " " : "", 1 << (j + r) % N_CPU);
        printf("):");
        for (int k = 0; k < N_CPU; k++) {
            const candidate_t *m = &round[r][k];
            bool moved = fabs(m->cpu[1] / m->cpu[0] - 1) > SPEED_MOVED;
            printf(" %dx %s%.1f ms %.4f/%.4f;", 1 << k, moved ? "*" : "",
                   500 * (m->cpu[0] + m->cpu[1]), m->true_j, m->local_j);
        }
        printf(" 2x/1x %.3f, 4x/2x %.3f\n", round[r][1].local_j / round[r][0].local_j,
               round[r][2].local_j / round[r][1].local_j);
    }
}

/* One target row: the figure by both methods, lo .. hi; returns whether the local one met it. */
static bool target_row(const char *figure, double constant, double local, double lo, double hi)
{
    char a[24], b[24], t[32];
    const char *vc = isnan(constant) ? "-" : constant >= lo && constant <= hi ? "PASS" : "FAIL";
    const char *vl = isnan(local) ? "-" : local >= lo && local <= hi ? "PASS" : "FAIL";
    snprintf(t, sizeof t, "%.3g .. %.3g", lo, hi);
    printf("%-40s %10s %5s %10s %5s %16s\n", figure, cell(a, sizeof a, "%.3f", constant), vc,
           cell(b, sizeof b, "%.3f", local), vl, t);
    return strcmp(vl, "PASS") == 0;
}

/* The targets: the ratios and the net power within each round, whose candidates ran a minute
 * apart, and their medians over the rounds (a slow stretch over a whole round moves truth and
 * estimates of all its candidates alike); the sleep's share from its one measurement. */
bool integrity_print_targets(const candidate_t *c, candidate_t round[MAX_ROUNDS][N_CPU], int n)
{
    double v[2][3][MAX_ROUNDS]; /* [constant, local][2x/1x, 4x/2x, 2x's watts][round] */
    double t[2][2][MAX_ROUNDS]; /* [the jobs' s/run, the references' CPU s][2x/1x, 4x/2x][round] */
    for (int r = 0; r < n; r++) {
        const candidate_t *m = round[r];
        for (int i = 0; i < 2; i++) {
            t[0][i][r] = m[i + 1].secs / m[i].secs;
            t[1][i][r] = (m[i + 1].cpu[0] + m[i + 1].cpu[1]) / (m[i].cpu[0] + m[i].cpu[1]);
        }
        v[0][0][r] = m[1].constant_j / m[0].constant_j;
        v[1][0][r] = m[1].local_j / m[0].local_j;
        v[0][1][r] = m[2].constant_j / m[1].constant_j;
        v[1][1][r] = m[2].local_j / m[1].local_j;
        v[0][2][r] = m[1].constant_j / m[1].secs;
        v[1][2][r] = m[1].local_j / m[1].secs;
    }
    printf("\n%-40s %16s %16s %16s\n", "target (cpu: median of the rounds)", "constant", "local",
           "accepted");
    bool ok = true;
    ok &= target_row("cpu 2x / cpu 1x, net J per run", integrity_median(v[0][0], n),
                     integrity_median(v[1][0], n), 1.9, 2.1);
    ok &= target_row("cpu 4x / cpu 2x, net J per run", integrity_median(v[0][1], n),
                     integrity_median(v[1][1], n), 1.9, 2.1);
    ok &= target_row("cpu 2x net power, W (10 W + 1 W)", integrity_median(v[0][2], n),
                     integrity_median(v[1][2], n), 0.95 * BUSY_W, 1.05 * BUSY_W);
    double busy = BUSY_W * SLEEP_S;
    ok &= target_row("sleep 50 ms, % of 50 ms busy (0.55 J)", 100 * c[SLEEP].constant_j / busy,
                     100 * c[SLEEP].local_j / busy, -5, 5);
    printf("# time per run, 2x/1x and 4x/2x (median of the rounds): the jobs' own runs "
           "(energy_metrics.median_execution_time_seconds) %.3f and %.3f, the references' CPU "
           "%.3f and %.3f:\n#   the work's own cost ratio, which the energy ratios follow\n",
           integrity_median(t[0][0], n), integrity_median(t[0][1], n), integrity_median(t[1][0], n),
           integrity_median(t[1][1], n));
    return ok;
}

/* One CV row; returns whether at least 90 % of the runs had a CV <= 5 % and every run was
 * resolved. */
bool integrity_cv_row(const char *figure, const estimate_run_t *runs, int n)
{
    double sorted[MAX_CV_RUNS];
    int within = 0, m = 0, resolved = 0;
    for (int i = 0; i < n; i++) {
        within += runs[i].cv <= 5.0;
        resolved += runs[i].resolved == 1;
        if (!isnan(runs[i].cv))
            sorted[m++] = runs[i].cv;
    }
    double med = m ? jt_bench_percentile(sorted, (size_t)m, 0.5) : NAN;
    double max = m ? jt_bench_percentile(sorted, (size_t)m, 1.0) : NAN;
    int need = (9 * n + 9) / 10;
    char a[24], b[24], got[32], t[40];
    snprintf(got, sizeof got, "%d of %d", within, n);
    snprintf(t, sizeof t, ">= %d of %d", need, n);
    bool ok = n > 0 && within >= need && resolved == n;
    printf("%-40s %8s %8s %12s %12s %s\n", figure, cell(a, sizeof a, "%.2f", med),
           cell(b, sizeof b, "%.2f", max), got, t, ok ? "PASS" : "FAIL");
    for (int i = 0; i < n; i++)
        printf("%s%.2f", i ? " " : "#   cv: ", runs[i].cv);
    printf("\n#   resolved in %d of %d runs (target: all)\n", resolved, n);
    return ok;
}

/* The README example's row: a function far below the harness's cost. Passes when every run
 * has the same resolution (all resolved or all unresolved), no headline is negative, and a
 * resolved headline is not a number with a CV of 100 % or more. */
bool integrity_readme_row(const char *figure, const estimate_run_t *runs, int n)
{
    int resolved = 0, unresolved = 0, negative = 0, wild = 0;
    for (int i = 0; i < n; i++) {
        resolved += runs[i].resolved == 1;
        unresolved += runs[i].resolved == 0;
        negative += runs[i].headline < 0 || isnan(runs[i].headline);
        wild += runs[i].resolved == 1 && !(runs[i].cv < 100.0);
    }
    bool same = n > 0 && (resolved == n || unresolved == n);
    bool ok = same && negative == 0 && wild == 0;
    char got[48];
    snprintf(got, sizeof got, "%d+%d of %d", resolved, unresolved, n);
    printf("%-40s %8s %8s %12s %12s %s\n", figure, "", "", got, "one verdict",
           ok ? "PASS" : "FAIL");
    printf("#   resolved + unresolved runs; headline J per run (verdict):");
    for (int i = 0; i < n; i++)
        printf("%s%.3g (%s)", i % 4 ? " " : "\n#     ", runs[i].headline,
               runs[i].verdict[0] ? runs[i].verdict : "failed");
    printf("\n#   negative or missing headlines: %d; resolved with a CV >= 100 %%: %d\n", negative,
           wild);
    return ok;
}
