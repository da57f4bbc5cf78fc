/* trials.c -- one job's measurement: autorange, warmup, interleaved null/candidate trials, stats.
 */
#include "trials.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_energy.h"
#include "stats.h"
#include "trial_session.h"

#define MIN_TRIALS_FOR_EARLY_STOP 3
#define OUTLIER_MIN_SPREAD 0.01 /* of the median gross energy per run: the MAD floor */

/* Report progress; true when the caller asked to stop (the failure is recorded). */
static bool progress(jt_session_t *c, const char *stage, double fraction, int trial, double cv)
{
    if (c->env->on_progress == NULL)
        return false;
    jt_trial_progress_t p = {stage, fraction, trial, c->job->energy_measurement_trials, cv};
    if (c->env->on_progress(c->env->ctx, &p) == 0)
        return false;
    c->aborted = true;
    jt_session_fail(c, "aborted", "the measurement was aborted (cancelled or lease lost)");
    return true;
}

static jt_status_t measure_loop(jt_session_t *c, jt_error_t *err)
{
    const jt_job_t *job = c->job;
    jt_measurement_t *m = c->m;
    int max_trials = job->energy_measurement_trials;
    unsigned long runs = 1, null_runs = 1;
    jt_status_t s;

    if (progress(c, "autorange", 0.0, 0, 0))
        return JT_OK;
    s = jt_session_autorange(c, true, job->min_trial_seconds, &runs, err);
    if (s != JT_OK || c->failed)
        return s;
    s = jt_session_autorange(c, false, job->min_trial_seconds, &null_runs, err);
    if (s != JT_OK || c->failed)
        return s;
    m->repeats_per_trial = runs;
    for (int k = 0; k < job->warmup_trials; k++) {
        if (progress(c, "warmup", 0.05 * k / (job->warmup_trials ? job->warmup_trials : 1), 0, 0))
            return JT_OK;
        jt_window_t w;
        s = jt_session_window(c, true, runs, false, &w, err);
        free(w.timeline);
        if (s != JT_OK || c->failed)
            return s;
    }
    m->warmup_trials = job->warmup_trials;

    jt_window_t *cand = calloc((size_t)max_trials, sizeof *cand);
    jt_window_t *nulls = calloc((size_t)max_trials, sizeof *nulls);
    m->trials = calloc((size_t)max_trials, sizeof *m->trials);
    m->idle_windows = calloc((size_t)max_trials + 1, sizeof *m->idle_windows);
    if (cand == NULL || nulls == NULL || m->trials == NULL || m->idle_windows == NULL) {
        free(cand);
        free(nulls);
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    /* The local baseline: an idle window before the first pair and after each one. */
    double idle_seconds = jt_idle_window_seconds(job->min_trial_seconds);
    s = jt_idle_window(c->env->meter, idle_seconds, &m->idle_windows[0], err);
    if (s != JT_OK) {
        free(cand);
        free(nulls);
        return s;
    }
    m->n_idle_windows = 1;
    snprintf(m->early_stop_reason, sizeof m->early_stop_reason, "max_trials_reached (%d)",
             max_trials);
    int n = 0;
    while (n < max_trials) {
        /* null and candidate interleaved, so drift affects both alike */
        s = jt_session_window(c, false, null_runs, false, &nulls[n], err);
        free(nulls[n].timeline);
        nulls[n].timeline = NULL;
        if (s == JT_OK && !c->failed)
            s = jt_session_window(c, true, runs, true, &cand[n], err);
        if (s != JT_OK || c->failed) {
            free(cand[n].timeline); /* a failed trial's timeline is not kept */
            break;
        }
        m->trials[n].timeline = cand[n].timeline;
        m->trials[n].n_timeline = cand[n].n_timeline;
        cand[n].timeline = NULL;
        s = jt_idle_window(c->env->meter, idle_seconds, &m->idle_windows[n + 1], err);
        if (s != JT_OK)
            break;
        m->n_idle_windows = (size_t)n + 2;
        n++;
        jt_net_energy_compute(c->m, c->env->idle_watts, cand, nulls, (size_t)n, null_runs);
        double cv = n >= 2 ? m->stats.cv_percent : 0;
        if (n >= MIN_TRIALS_FOR_EARLY_STOP && cv <= job->target_cv_percent) {
            snprintf(m->early_stop_reason, sizeof m->early_stop_reason,
                     "cv_target_reached (%.2f%% <= %g%%)", cv, job->target_cv_percent);
            progress(c, "measuring", 1.0, n, cv);
            break;
        }
        if (progress(c, "measuring", 0.05 + 0.95 * n / max_trials, n, cv))
            break;
    }
    if (n > 0 && s == JT_OK) {
        jt_net_energy_compute(c->m, c->env->idle_watts, cand, nulls, (size_t)n, null_runs);
        /* The outlier rule does not tell apart trials that agree more
         * closely than OUTLIER_MIN_SPREAD of the gross energy per run. */
        int pkg = jt_measurement_domain_index(m, JT_DOMAIN_PACKAGE);
        int ram = jt_measurement_domain_index(m, JT_DOMAIN_DRAM);
        bool flags[JT_MAX_TRIALS];
        double x[JT_MAX_TRIALS], gross[JT_MAX_TRIALS];
        for (int k = 0; k < n; k++) {
            const jt_trial_t *t = &m->trials[k];
            x[k] = t->net_total_joules_per_run;
            double g = pkg >= 0 ? t->gross_joules[pkg] : 0;
            g += ram >= 0 ? t->gross_joules[ram] : 0;
            gross[k] = g / (double)t->repeats;
        }
        double min_spread = OUTLIER_MIN_SPREAD * fabs(jt_stats_median(gross, (size_t)n));
        m->outliers = jt_stats_outliers(x, (size_t)n, min_spread, flags);
        for (int k = 0; k < n; k++)
            m->trials[k].outlier = flags[k];
    }
    free(cand);
    free(nulls);
    return s;
}

jt_status_t jt_trials_measure(jt_runner_t *r, const jt_job_t *job, const jt_trials_env_t *env,
                              jt_measurement_t *m, jt_error_t *err)
{
    m->completed = true;
    m->total_tests = job->n_test_cases;
    m->repetition_mode = jt_repetition_mode_name(job->repetition_mode);
    m->n_domains = jt_meter_domain_count(env->meter);
    for (size_t d = 0; d < m->n_domains; d++) {
        m->domains[d] = jt_meter_domain(env->meter, d);
        m->calibration_idle_watts[d] = env->idle_watts[d];
    }
    m->target_cv_percent = job->target_cv_percent;

    jt_session_t c;
    jt_status_t s = jt_session_open(&c, r, job, env, m, err);
    if (s != JT_OK)
        return s;
    s = measure_loop(&c, err);
    if (s != JT_OK) { /* the runner is unusable: the caller respawns it */
        jt_pmu_close(c.pmu);
        return s;
    }
    return jt_session_close(&c, err);
}
