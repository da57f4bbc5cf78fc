/* batch_block.h -- one block of a batch: a null trial and one trial per candidate between idle
 * windows.
 *
 * A batch (docs/ranking.md) is measured in blocks: each block visits a few candidates in a
 * shuffled order, one trial each, with the harness's null trial and an idle window before
 * and after, all within seconds, so that drift and temperature fall on every candidate
 * alike. The daemon holds the lease around a block and stores it (as JSON, below) before
 * the next one; jt_batch_estimate turns every stored block into net energies per run.
 * Runs on the thread that owns the runner.
 */
#ifndef JT_BATCH_BLOCK_H
#define JT_BATCH_BLOCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "runner_client.h"
#include "status.h"
#include "trials.h"

/* One candidate's place in a block. */
typedef struct {
    size_t candidate;    /* its index in the batch */
    const jt_job_t *job; /* the problem with its code */
    unsigned long runs;  /* runs per trial; 0: autorange first (then written back) */
    /* Filled by jt_block_measure: */
    bool measured; /* its trial is in the block */
    bool failed;   /* a candidate problem (outputs changed, a run failed): excluded */
    char error_type[64];
    char error_message[2048];
} jt_block_slot_t;

/* Measure one block. slots[0..n) in the order to measure them (the caller shuffles);
 * *null_runs: runs of the null trial (0: autorange it, then written back); warmup: trials
 * of the first candidate run and discarded before anything is measured. abort(ctx)
 * (may be NULL) is asked between trials: nonzero stops the block (then *aborted is true
 * and the block is not to be stored). On success *out is the block as JSON (new
 * reference; "block" and "worker" are the caller's to add). Returns an error when the
 * sandbox or the meter failed (respawn the runner; the block is lost, not stored). */
jt_status_t jt_block_measure(jt_runner_t *r, const jt_trials_env_t *env, jt_block_slot_t *slots,
                             size_t n, unsigned long *null_runs, int warmup,
                             int (*abort)(void *ctx), void *ctx, bool *aborted, json_t **out,
                             jt_error_t *err);

/* Fewest other candidates, each with 2+ trials and a positive median, a trial's block needs
 * for a block factor; a trial in a smaller block keeps its measured value (factor 1). */
#define JT_BLOCK_MIN_OTHERS 2

/* Net energy per run of every trial of every stored block, per candidate. */
typedef struct {
    double *joules;          /* owned: net joules per run (package + dram) of each trial, the
                                block effect taken out: measured_joules / block_factor */
    double *measured_joules; /* owned: the same as measured, before the block effect */
    double *block_factor;    /* owned: what the trial's block did to every candidate alike
                                (block_effects.h); 1 where too few others were measured */
    size_t *block_of;        /* owned: the trial's block (index into the estimator's blocks) */
    double *cpu_seconds;     /* owned: CPU seconds per run of the same trials (NaN when absent) */
    size_t n;                /* trials */
    unsigned long runs;      /* runs per trial of the last trial */
    bool failed;             /* a block reported a candidate problem */
    char error_type[64];
    char error_message[2048];
} jt_batch_sample_t;

typedef struct {
    jt_batch_sample_t *candidates; /* owned, n_candidates */
    size_t n_candidates;
    double null_joules_per_run; /* the harness overhead subtracted (median over blocks) */
    double measurement_seconds; /* sum of the blocks' wall time */
    size_t blocks;
    double idle_watts_first, idle_watts_last; /* counted domains, first and last idle window */
    size_t blocks_adjusted, trials_adjusted;  /* blocks with a factor, and their trials */
    double factor_low, factor_high; /* their smallest and largest factor (1 and 1: none) */
    double spread_measured;         /* pooled MAD / median of the candidates' trials as measured */
    double spread_adjusted;         /* ... with the factors (NAN: no candidate with 3 trials) */
} jt_batch_estimate_t;

/* The estimator over blocks[0..n_blocks) (JSON as jt_block_measure made them): each block's
 * local idle power is the time-weighted mean of its two idle windows per domain; the null
 * overhead per run is the median over blocks of (null gross - local idle x seconds) / runs;
 * a trial's net energy per run = (gross - local idle x seconds) / runs - overhead, summed
 * over package and dram (docs/ranking.md "Blocks"), then divided by its block factor
 * (block_effects.h, docs/ranking.md "Block effects"). Blocks that do not parse are skipped.
 * JT_ERR_NOMEM; *out owned by the caller (jt_batch_estimate_free). */
jt_status_t jt_batch_estimate(json_t *const *blocks, size_t n_blocks, size_t n_candidates,
                              jt_batch_estimate_t *out, jt_error_t *err);

void jt_batch_estimate_free(jt_batch_estimate_t *e);

#endif
