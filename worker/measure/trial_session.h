/* trial_session.h -- one candidate's measure session in the sandbox: trial windows, idle windows.
 *
 * Private to worker/measure. A session starts the runner's measure job for one candidate
 * (the sandbox child compiles it and waits), measures windows of candidate or null-candidate
 * runs between two meter reads, and ends the sandbox child. trials.c builds a single job's
 * measurement from one session; batch_block.c measures many candidates, one session each.
 * One thread drives a session.
 */
#ifndef JT_TRIAL_SESSION_H
#define JT_TRIAL_SESSION_H

#include <stdbool.h>

#include "compare.h"
#include "measurement.h"
#include "net_energy.h"
#include "pmu.h"
#include "runner_client.h"
#include "trials.h"

typedef struct {
    jt_runner_t *r;
    const jt_job_t *job;
    const jt_trials_env_t *env;
    jt_measurement_t *m; /* where a candidate problem is recorded (completed, error_type) */
    long long next_id;
    double run_limit; /* seconds one run may take */
    jt_tolerance_t tol;
    jt_pmu_t *pmu;       /* hardware counters of the box, NULL without */
    char pmu_absent[96]; /* why pmu is NULL */
    bool failed;         /* a candidate problem is recorded in m */
    bool aborted;        /* on_progress asked to stop */
} jt_session_t;

/* Start a session for job through runner r: open the box's counters (env->counters_cgroup),
 * ask the runner for the measure job, wait for the sandbox child's "trials_ready" and let the
 * kernel's work of starting the sandbox pass (a 40 ms pause) before the first window. m
 * receives candidate problems (m->completed false, error_type, error_message). Returns an
 * error when the sandbox failed (then destroy and respawn the runner). */
jt_status_t jt_session_open(jt_session_t *c, jt_runner_t *r, const jt_job_t *job,
                            const jt_trials_env_t *env, jt_measurement_t *m, jt_error_t *err);

/* One trial of `runs` runs of the candidate (or of the null candidate) between two meter
 * reads; record: keep its power timeline (env->sampler). On a candidate problem c->failed
 * is set and JT_OK returned. */
jt_status_t jt_session_window(jt_session_t *c, bool candidate, unsigned long runs, bool record,
                              jt_window_t *w, jt_error_t *err);

/* Runs per trial so that one trial lasts at least min_seconds (like timeit's autorange),
 * without a trial exceeding the job's timeout. */
jt_status_t jt_session_autorange(jt_session_t *c, bool candidate, double min_seconds,
                                 unsigned long *out, jt_error_t *err);

/* Record a candidate problem in c->m (the first one wins). */
void jt_session_fail(jt_session_t *c, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* End the session: "done" (or a cancel after a candidate problem), drain to the runner's
 * "end" so the runner is ready for the next job, close the counters. */
jt_status_t jt_session_close(jt_session_t *c, jt_error_t *err);

/* Length of the idle windows for trials of min_trial_seconds: that, within 0.05..0.5 s
 * (long enough for the meter's resolution, short next to the trials). */
double jt_idle_window_seconds(double min_trial_seconds);

/* The pause after a sandbox starts (jt_session_open) and after the last one of a block ends
 * (before its closing idle window), before the meter is read: starting or tearing down a sandbox
 * (namespaces, cgroup, exec) leaves the kernel a few tens of milliseconds of work on the
 * measurement core, which would otherwise fall into the next window measured. */
#define JT_SANDBOX_SETTLE_SECONDS 0.04

/* One idle window of the meter: read across a pause of `seconds` during which nothing of
 * the job runs on the measurement core. */
jt_status_t jt_idle_window(jt_meter_t *meter, double seconds, jt_idle_window_t *w, jt_error_t *err);

#endif
