/* batch_report.h -- bench_batch's report: per-round tables, the totals over rounds, the verdict.
 *
 * bench_batch.c runs the rounds and fills the figures below; the functions here print them on
 * stdout (bench_batch.c's comment says what each table holds), in the order bench_batch.c
 * calls them: batch_report_header once, batch_report_round after each round (whose totals
 * batch_totals_add sums), batch_report_verdict at the end. Everything runs on the bench's main
 * thread.
 */
#ifndef JT_BATCH_REPORT_H
#define JT_BATCH_REPORT_H

#include <stdbool.h>

#include "batch_stand.h"

#define BATCH_MAX_CANDIDATES 20
/* Trials kept per candidate and mode, for the cost table (JT_MAX_TRIALS is 50). */
#define BATCH_MAX_TRIALS 64
#define BATCH_WORK_STEP 1.3 /* candidate i loops W = --work x BATCH_WORK_STEP^i times */

/* bench_batch's options (its usage line names each). */
typedef struct {
    int candidates;     /* --candidates: candidates measured in each mode */
    long work;          /* --work: W of the first candidate */
    double precision;   /* --precision: the half-width, % of the median, a candidate must reach */
    double budget_s;    /* --budget: the batch's max_measurement_seconds */
    double job_cv;      /* --job-cv: each job's target_cv_percent */
    int job_trials;     /* --job-trials: each job's energy_measurement_trials */
    double min_trial_s; /* --min-trial-seconds: min_trial_seconds of the batch and the jobs */
    int warmup;         /* --warmup: warmup_trials of the batch and the jobs */
    double target;      /* --target: the batch / jobs ratio of candidates per hour that passes */
    bool jobs_first;    /* the separate jobs before the batch (the drift and the machine move) */
    int rounds;         /* rounds of both modes, the order alternating */
} batch_options_t;

/* One candidate and what each mode measured of it (NAN: not measured); b_ the batch, j_ the
 * jobs. */
typedef struct {
    char id[16];           /* candidate_id: "w<i>" */
    long work;             /* W, its loop's iterations */
    char *code;            /* its candidate_code (owned) */
    int b_trials;          /* the batch's ranking entry: trials */
    double b_median, b_hw; /* ... median joules and half-width, % (INFINITY: unbounded) */
    char task[64];         /* its job's task_id */
    int j_trials;          /* the job's trials with a net energy per run */
    double j_median, j_hw; /* ... their median and half-width, % (jt_rank_compute) */
    char j_stop[64];       /* the job's early_stop_reason */
    /* per trial, both modes: runs, wall and CPU seconds per run; the batch's block position */
    int b_n, j_n;
    double b_runs[BATCH_MAX_TRIALS], b_wall[BATCH_MAX_TRIALS], b_cpu[BATCH_MAX_TRIALS];
    int b_pos[BATCH_MAX_TRIALS];
    double j_runs[BATCH_MAX_TRIALS], j_wall[BATCH_MAX_TRIALS], j_cpu[BATCH_MAX_TRIALS];
    double b_cv, j_cv; /* robust CV of the net energy per run of one trial, % */
} batch_candidate_t;

/* One mode's totals: of one round, or (batch_totals_add) summed over rounds. */
typedef struct {
    bool ok;         /* it ran to the end */
    double socket_s; /* lease held */
    int holds;       /* lease holds */
    double wall_s;   /* first POST to the last final record */
    int precise;     /* candidates at the precision */
    double trial_s;  /* candidate trial windows */
    double null_s;   /* null trial windows (batch only: NAN for jobs) */
    double idle_s;   /* idle windows */
    double block_s;  /* batch: the blocks' own seconds */
    int blocks;      /* batch: stored blocks */
    double gap_s;    /* batch: time between blocks, lease not held */
    char stop[240];  /* batch: stop_reason */
    /* |difference| of package + dram watts between neighbouring idle windows (a block's
     * two; a job's consecutive ones) */
    double idle_dw[BATCH_MAX_CANDIDATES * BATCH_MAX_TRIALS];
    int n_idle_dw;
} batch_totals_t;

/* Print the bench's title and the comment lines on its tree (s->tree, started and calibrated)
 * and candidates. */
void batch_report_header(const jt_batch_stand_t *s, const batch_options_t *o);

/* Print round `round` (0-based) of o->rounds (the batch ran first when batch_first): the
 * candidates c[0..o->candidates) with both modes' trials, median and half-width, what a trial
 * cost, both modes' rates from b (the batch, id batch_id; "" when it never started) and j (the
 * jobs), where their socket time went, and the idle-window noise on measurement core
 * s->tree.core. Sorts b->idle_dw and j->idle_dw in place. */
void batch_report_round(const jt_batch_stand_t *s, const batch_options_t *o,
                        const batch_candidate_t *c, batch_totals_t *b, batch_totals_t *j,
                        const char *batch_id, int round, bool batch_first);

/* Add a round's totals r into sum (sum->ok: every round's ok, sum's own ignored when first;
 * stop and idle_dw are not summed). */
void batch_totals_add(batch_totals_t *sum, const batch_totals_t *r, bool first);

/* Print the rates over the rounds that completed (rounds of o->rounds) from the sums b (the
 * batch) and j (the jobs), their ratio against o->target with the verdict, then the platform
 * floor and the load since load_before (jt_floor_table_load). Whether it passed: every round
 * ran, both modes ok, the jobs reached a candidate at the precision, ratio >= o->target. */
bool batch_report_verdict(const batch_options_t *o, int rounds, const batch_totals_t *b,
                          const batch_totals_t *j, double load_before);

#endif
