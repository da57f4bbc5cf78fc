/* net_energy.c -- the estimator: net energy per run from candidate, null and idle windows. */
#include "net_energy.h"

#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* Local idle power of domain d for trial pair k: the mean of the idle windows before and
 * after the pair (the one before when the pair has none after yet). */
static double local_idle(const jt_measurement_t *m, size_t k, size_t d)
{
    const jt_idle_window_t *w = m->idle_windows;
    if (k + 1 < m->n_idle_windows)
        return 0.5 * (w[k].watts[d] + w[k + 1].watts[d]);
    return k < m->n_idle_windows ? w[k].watts[d] : 0.0;
}

/* Medians per run of the null trials' proxies into *out (x: scratch for n values). */
static void null_proxies(const jt_window_t *nulls, size_t n, unsigned long null_runs, double *x,
                         jt_proxies_per_run_t *out)
{
    memset(out, 0, sizeof *out);
    out->has_usage = n > 0;
    for (size_t k = 0; k < n; k++)
        out->has_usage &= nulls[k].proxies.usage.present;
    if (out->has_usage) {
        for (size_t k = 0; k < n; k++)
            x[k] = (double)nulls[k].proxies.usage.user_us / 1e6 / (double)null_runs;
        out->cpu_user_seconds = jt_stats_median(x, n);
        for (size_t k = 0; k < n; k++)
            x[k] = (double)nulls[k].proxies.usage.system_us / 1e6 / (double)null_runs;
        out->cpu_system_seconds = jt_stats_median(x, n);
    }
    for (int i = 0; i < JT_PROXY_COUNTERS; i++) {
        bool present = n > 0;
        for (size_t k = 0; k < n; k++) {
            present &= nulls[k].proxies.counter[i].present;
            x[k] = nulls[k].proxies.counter[i].value / (double)null_runs;
        }
        out->counter_present[i] = present;
        out->counter[i] = present ? jt_stats_median(x, n) : 0;
    }
}

/* Net values of every trial from the windows, the local idle power and the current
 * overhead (docs/measurement.md, "Net energy"). */
void jt_net_energy_compute(jt_measurement_t *m, const double *calibration_idle,
                           const jt_window_t *cand, const jt_window_t *nulls, size_t n,
                           unsigned long null_runs)
{
    size_t nd = m->n_domains;
    double per_run[JT_METER_MAX_DOMAINS] = {0}, const_per_run[JT_METER_MAX_DOMAINS] = {0};
    double null_secs = 0;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (x == NULL)
        return;
    for (size_t d = 0; d < nd; d++) {
        for (size_t k = 0; k < n; k++)
            x[k] = (nulls[k].gross[d] - local_idle(m, k, d) * nulls[k].seconds) / (double)null_runs;
        per_run[d] = jt_stats_median(x, n);
        m->harness_overhead_joules_per_run[d] = per_run[d];
        for (size_t k = 0; k < n; k++)
            x[k] = (nulls[k].gross[d] - calibration_idle[d] * nulls[k].seconds) / (double)null_runs;
        const_per_run[d] = jt_stats_median(x, n);
    }
    for (size_t k = 0; k < n; k++)
        x[k] = nulls[k].seconds / (double)null_runs;
    null_secs = jt_stats_median(x, n);
    null_proxies(nulls, n, null_runs, x, &m->null_per_run);
    m->harness_overhead_seconds_per_run = null_secs;
    int pkg = jt_measurement_domain_index(m, JT_DOMAIN_PACKAGE);
    int ram = jt_measurement_domain_index(m, JT_DOMAIN_DRAM);
    for (size_t k = 0; k < n; k++) {
        jt_trial_t *t = &m->trials[k];
        t->repeats = m->repeats_per_trial;
        t->seconds = cand[k].seconds;
        t->started_at = cand[k].started_at;
        t->ended_at = cand[k].ended_at;
        t->proxies = cand[k].proxies;
        double total = 0, constant = 0;
        for (size_t d = 0; d < nd; d++) {
            t->gross_joules[d] = cand[k].gross[d];
            t->idle_watts[d] = local_idle(m, k, d);
            t->net_joules[d] = cand[k].gross[d] - t->idle_watts[d] * cand[k].seconds -
                               per_run[d] * (double)t->repeats;
            if ((int)d == pkg || (int)d == ram) {
                total += t->net_joules[d];
                constant += cand[k].gross[d] - calibration_idle[d] * cand[k].seconds -
                            const_per_run[d] * (double)t->repeats;
            }
        }
        t->net_total_joules_per_run = total / (double)t->repeats;
        t->constant_baseline_joules_per_run = constant / (double)t->repeats;
        t->net_seconds_per_run = cand[k].seconds / (double)t->repeats - null_secs;
        /* the candidate's own power: its net energy over its own time, not
         * over the window (which includes the harness's fork and wait) */
        double own_seconds = t->net_seconds_per_run * (double)t->repeats;
        t->net_power_watts = own_seconds > 0       ? total / own_seconds
                             : cand[k].seconds > 0 ? total / cand[k].seconds
                                                   : 0;
        x[k] = t->net_total_joules_per_run;
    }
    m->n_trials = n;
    jt_stats_compute(x, n, &m->stats);
    free(x);
}
