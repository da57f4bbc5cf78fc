/* trials.h -- the worker's trial orchestration: autorange, warmup, interleaved null trials, stats.
 *
 * Runs on the worker's thread that owns the runner. The meter is read
 * immediately before the sandbox is told "go" and immediately after it
 * reports the end of the trial; wall time is taken here, in C.
 */
#ifndef JT_TRIALS_H
#define JT_TRIALS_H

#include <stdbool.h>

#include "job.h"
#include "measurement.h"
#include "meter.h"
#include "runner_client.h"
#include "sampler.h"
#include "status.h"

typedef struct {
    const char *stage;  /* "autorange", "warmup", "measuring" */
    double progress;    /* 0..1 of the measurement */
    int trial;          /* measured trials done */
    int trials_total;   /* energy_measurement_trials */
    double cv_percent;  /* current CV of net energy per run (0 until 2 trials) */
} jt_trial_progress_t;

typedef struct {
    jt_meter_t *meter;
    jt_sampler_t *sampler;          /* optional: power timelines of measured trials */
    double idle_watts[JT_METER_MAX_DOMAINS]; /* per meter domain index */
    int measure_core;
    /* The box's cgroup directory for the hardware counters (pmu.h), NULL or "" when the box
     * has none the perf_event controller sees: the counters are then absent with that reason. */
    const char *counters_cgroup;
    /* Called after each trial; a nonzero return aborts the measurement
     * (cancellation, lost lease): the trial in flight is killed. Optional. */
    int (*on_progress)(void *ctx, const jt_trial_progress_t *p);
    void *ctx;
} jt_trials_env_t;

/* Measure job (already proven correct) through runner r. Fills m: trials,
 * statistics, overhead, repeats, early-stop reason. A candidate problem
 * (a run failed, outputs changed between runs, aborted) makes m->completed
 * false with error_type/error_message set, and still returns JT_OK. Returns
 * an error (runner unusable: destroy and respawn it) when the sandbox itself
 * failed. */
jt_status_t jt_trials_measure(jt_runner_t *r, const jt_job_t *job, const jt_trials_env_t *env,
                              jt_measurement_t *m, jt_error_t *err);

#endif
