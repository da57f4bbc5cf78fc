/* quality.c -- the verdict of a measurement: resolved or not, idle drift, thermal, noise. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measurement.h"

#define DRIFT_PERCENT 3.0      /* idle before vs after, and local vs calibration */
#define THERMAL_RISE_C 5.0     /* package warming during the trials */
#define TOO_SHORT_SECONDS 0.01 /* a window shorter than ten RAPL updates */

static const char *const verdict_names[] = {
    [JT_VERDICT_OK] = "ok",
    [JT_VERDICT_NOISY] = "noisy",
    [JT_VERDICT_BASELINE_DRIFT] = "baseline_drift",
    [JT_VERDICT_THERMAL] = "thermal",
    [JT_VERDICT_UNRESOLVED] = "unresolved",
    [JT_VERDICT_TOO_SHORT] = "too_short",
    [JT_VERDICT_METER_STALLED] = "meter_stalled",
};

const char *jt_verdict_name(jt_verdict_t v)
{
    return (unsigned)v < sizeof verdict_names / sizeof verdict_names[0] ? verdict_names[v]
                                                                        : "unknown";
}

static void reason(jt_quality_t *q, jt_verdict_t v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add "code: text" and raise the verdict to v when v is more severe. */
static void reason(jt_quality_t *q, jt_verdict_t v, const char *fmt, ...)
{
    if (v > q->verdict)
        q->verdict = v;
    if (q->n_reasons == JT_QUALITY_MAX_REASONS)
        return;
    char *out = q->reasons[q->n_reasons++];
    int len = snprintf(out, sizeof q->reasons[0], "%s: ", jt_verdict_name(v));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + len, sizeof q->reasons[0] - (size_t)len, fmt, ap);
    va_end(ap);
}

/* Package + dram watts of per-domain values (the domains counted in the total). */
static double counted_watts(const jt_measurement_t *m, const double *watts)
{
    int pkg = jt_measurement_domain_index(m, JT_DOMAIN_PACKAGE);
    int ram = jt_measurement_domain_index(m, JT_DOMAIN_DRAM);
    return (pkg >= 0 ? watts[pkg] : 0) + (ram >= 0 ? watts[ram] : 0);
}

static double percent_of(double x, double base)
{
    return base != 0 ? 100.0 * (x - base) / base : NAN;
}

void jt_quality_assess(jt_measurement_t *m)
{
    jt_quality_t *q = &m->quality;
    memset(q, 0, sizeof *q);
    q->assessed = true;
    q->verdict = JT_VERDICT_OK;
    q->drift_percent = NAN;
    q->calibration_offset_percent = NAN;
    q->idle_watts_before = NAN;
    q->idle_watts_after = NAN;
    q->idle_watts_local = NAN;
    q->net_energy_constant_baseline_joules = NAN;
    q->idle_watts_calibration = counted_watts(m, m->calibration_idle_watts);
    q->temperature_rise_c = m->environment.temperature_c_end - m->environment.temperature_c_start;

    const jt_stats_t *s = &m->stats;
    size_t n = m->n_trials;
    q->resolved = jt_measurement_resolved(m);
    q->upper_bound_joules = n > 0 ? fmax(0.0, s->ci95_high) : 0.0;

    if (strcmp(m->error_type, "meter_stalled") == 0)
        reason(q, JT_VERDICT_METER_STALLED, "no counter of the meter advanced during a trial");

    double *x = malloc(((n > m->n_idle_windows ? n : m->n_idle_windows) + 1) * sizeof *x);
    if (x != NULL && n > 0) {
        for (size_t k = 0; k < n; k++)
            x[k] = m->trials[k].seconds;
        double window = jt_stats_median(x, n);
        if (window < TOO_SHORT_SECONDS)
            reason(q, JT_VERDICT_TOO_SHORT,
                   "the median trial window lasted %.3g s, under the %.3g s the meter needs; "
                   "raise min_trial_seconds",
                   window, TOO_SHORT_SECONDS);
        for (size_t k = 0; k < n; k++)
            x[k] = m->trials[k].constant_baseline_joules_per_run;
        q->net_energy_constant_baseline_joules = jt_stats_median(x, n);
    }
    if (n > 0 && !q->resolved) {
        if (n < 2)
            reason(q, JT_VERDICT_UNRESOLVED,
                   "one trial gives no interval; the energy is reported as at most %.6g J",
                   q->upper_bound_joules);
        else
            reason(q, JT_VERDICT_UNRESOLVED,
                   "the net energy per run (median %.6g J, 95 %% interval [%.6g, %.6g] J) is "
                   "not told apart from zero: its interval does not lie above %g %% of what a "
                   "run costs in all; the function costs less than the measurement resolves; "
                   "the headline energies are upper bounds",
                   s->median, s->ci95_low, s->ci95_high, 100 * JT_RESOLUTION_FRACTION);
    }
    if (q->temperature_rise_c > THERMAL_RISE_C)
        reason(q, JT_VERDICT_THERMAL,
               "the package warmed by %.1f °C during the trials (start %.1f °C)",
               q->temperature_rise_c, m->environment.temperature_c_start);
    if (m->n_idle_windows > 0) {
        q->idle_watts_before = counted_watts(m, m->idle_windows[0].watts);
        q->idle_watts_after = counted_watts(m, m->idle_windows[m->n_idle_windows - 1].watts);
        if (x != NULL) {
            for (size_t k = 0; k < m->n_idle_windows; k++)
                x[k] = counted_watts(m, m->idle_windows[k].watts);
            q->idle_watts_local = jt_stats_median(x, m->n_idle_windows);
        }
        if (m->n_idle_windows > 1)
            q->drift_percent = percent_of(q->idle_watts_after, q->idle_watts_before);
        q->calibration_offset_percent = percent_of(q->idle_watts_local, q->idle_watts_calibration);
        if (fabs(q->drift_percent) > DRIFT_PERCENT)
            reason(q, JT_VERDICT_BASELINE_DRIFT,
                   "idle power moved from %.4g W before the trials to %.4g W after (%+.1f %%); "
                   "each trial used the idle power measured next to it",
                   q->idle_watts_before, q->idle_watts_after, q->drift_percent);
        if (fabs(q->calibration_offset_percent) > DRIFT_PERCENT)
            reason(q, JT_VERDICT_BASELINE_DRIFT,
                   "idle power next to the trials (%.4g W) differs from the calibration "
                   "(%.4g W) by %+.1f %%; the local value was used (recalibrate if the host "
                   "changed)",
                   q->idle_watts_local, q->idle_watts_calibration, q->calibration_offset_percent);
    }
    free(x);
    if (q->resolved && m->target_cv_percent > 0 && s->cv_percent > m->target_cv_percent)
        reason(q, JT_VERDICT_NOISY,
               "the CV of the net energy stayed at %.1f %%, above the %g %% "
               "target; more trials or longer trials would narrow it",
               s->cv_percent, m->target_cv_percent);
}
