/* integrity_report.h -- bench_integrity's candidates, estimate runs and tables. */
#ifndef JT_INTEGRITY_REPORT_H
#define JT_INTEGRITY_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "integrity_stand.h"

#define BUSY_W (JT_STAND_ACTIVE_W + JT_STAND_DRAM_ACTIVE_W) /* net power of a busy core */
#define TICK_S 0.01                                         /* /proc/stat's USER_HZ tick */
#define TREE_STEP_S 0.001 /* the tree's update period (jt_fake_rapl_defaults) */
#define SLEEP_S 0.05
#define SPEED_MOVED 0.10 /* references before and after a measurement further apart: flagged */
#define MAX_CV_RUNS 50
#define MAX_ROUNDS 9
#define CODE_MAX 1024

/* A candidate: its source and one test's inputs, then what was measured. */
typedef struct {
    const char *label;
    char code[CODE_MAX];
    char args[64];    /* JSON array of solve's inputs */
    json_t *expected; /* solve's output, from the reference */
    double cpu[2];    /* reference CPU seconds per run, before and after the measurement */
    double true_j, constant_j, local_j, headline_j, secs, repeats;
    double err_base_j;              /* errors are in % of this (0: of true_j) */
    double err_constant, err_local; /* the methods' errors, in % */
} candidate_t;

enum { CPU_1X, CPU_2X, CPU_4X, SLEEP, CPU_SLEEP, MEMORY, N_CANDIDATES };
#define N_CPU (CPU_4X - CPU_1X + 1) /* the CPU-bound candidates, measured in rounds */

/* What one estimate-meter run reported (NAN and "" for a failed run). */
typedef struct {
    double cv;       /* statistics.cv_percent */
    double headline; /* energy_metrics.median_total_energy_joules */
    int resolved;    /* quality.net_energy_resolved: 1, 0, -1 when absent */
    char verdict[24];
} estimate_run_t;

/* The median of v[0..n) without its NANs, the mean of the two middle values for an even count
 * (NAN when none are left); n <= MAX_ROUNDS. */
double integrity_median(const double *v, int n);

/* The candidates' table: reference ms, true J, both methods with their errors, s/run, runs per
 * trial and the tree's floor per run for its busy-time step step_s; then the '*' legend. */
void integrity_print_candidates(const candidate_t *c, double step_s);

/* A line per round of the CPU-bound candidates: its order, each candidate's reference ms, true
 * and local J per run, and the round's local ratios. */
void integrity_print_rounds(candidate_t round[MAX_ROUNDS][N_CPU], int n);

/* The targets' table (ratios and net power within each round, their median over the n rounds;
 * the sleep's share) and the time-ratio line; whether the local baseline met every target. */
bool integrity_print_targets(const candidate_t *c, candidate_t round[MAX_ROUNDS][N_CPU], int n);

/* The estimate meter's CV row over runs[0..n); whether at least 90 % had a CV <= 5 % and every
 * run was resolved. */
bool integrity_cv_row(const char *figure, const estimate_run_t *runs, int n);

/* The README example's row: whether every run had the same resolution, no headline was negative
 * or missing, and no resolved one had a CV of 100 % or more. */
bool integrity_readme_row(const char *figure, const estimate_run_t *runs, int n);

#endif
