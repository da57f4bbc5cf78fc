/* measurement.c -- lifecycle of jt_measurement_t and its JSON form (the completed/failed result).
 */
#include "measurement.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void jt_measurement_init(jt_measurement_t *m)
{
    memset(m, 0, sizeof *m);
    jt_validation_init(&m->validation);
    m->repetition_mode = "fresh_process";
    m->environment.temperature_c_start = NAN;
    m->environment.temperature_c_end = NAN;
}

void jt_measurement_cleanup(jt_measurement_t *m)
{
    for (size_t i = 0; i < m->n_trials; i++)
        free(m->trials[i].timeline);
    free(m->trials);
    free(m->idle_windows);
    json_decref(m->environment.provenance);
    jt_validation_cleanup(&m->validation);
    jt_measurement_init(m);
}

int jt_measurement_domain_index(const jt_measurement_t *m, jt_domain_t d)
{
    for (size_t i = 0; i < m->n_domains; i++)
        if (m->domains[i] == d)
            return (int)i;
    return -1;
}

/* JSON number, or null for NaN/inf (JSON has neither). */
static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* What a net value per run is taken from, of one trial. */
typedef enum { Q_PACKAGE, Q_RAM, Q_TOTAL, Q_SECONDS, Q_WATTS } quantity_t;

/* The net value per run of quantity q in trial t (net), and the gross value it is taken
 * from (gross). */
static void trial_values(const jt_measurement_t *m, const jt_trial_t *t, quantity_t q, double *net,
                         double *gross)
{
    int pkg = jt_measurement_domain_index(m, JT_DOMAIN_PACKAGE);
    int ram = jt_measurement_domain_index(m, JT_DOMAIN_DRAM);
    double r = (double)(t->repeats ? t->repeats : 1);
    double gp = pkg >= 0 ? t->gross_joules[pkg] / r : 0,
           gr = ram >= 0 ? t->gross_joules[ram] / r : 0;
    switch (q) {
    case Q_PACKAGE:
        *net = pkg >= 0 ? t->net_joules[pkg] / r : 0;
        *gross = gp;
        break;
    case Q_RAM:
        *net = ram >= 0 ? t->net_joules[ram] / r : 0;
        *gross = gr;
        break;
    case Q_TOTAL:
        *net = t->net_total_joules_per_run;
        *gross = gp + gr;
        break;
    case Q_SECONDS:
        *net = t->net_seconds_per_run;
        *gross = t->seconds / r;
        break;
    case Q_WATTS:
        *net = t->net_power_watts;
        *gross = 0; /* a power is resolved through its energy and its time */
        break;
    }
}

/* The headline of quantity q over the trials: the median when it is resolved above zero
 * (at least 2 trials, its whole 95 % interval above the resolution floor,
 * JT_RESOLUTION_FRACTION of the median gross value it is taken from), else the upper bound
 * max(0, ci95_high), so that no headline is ever negative. With only the median above the
 * floor, a function far below it (the harness's noise around a true zero) came out resolved
 * in about one run of ten. NaN on no memory; 0 without trials. */
static double headline(const jt_measurement_t *m, quantity_t q, bool *resolved)
{
    size_t n = m->n_trials;
    jt_stats_t st;
    *resolved = false;
    if (n == 0)
        return 0.0;
    double *x = malloc(2 * n * sizeof *x);
    if (x == NULL)
        return NAN;
    for (size_t i = 0; i < n; i++)
        trial_values(m, &m->trials[i], q, &x[i], &x[n + i]);
    double floor_value = JT_RESOLUTION_FRACTION * fabs(jt_stats_median(x + n, n));
    bool ok = jt_stats_compute(x, n, &st);
    free(x);
    if (!ok)
        return NAN;
    *resolved = n >= 2 && st.ci95_low > floor_value; /* floor_value >= 0 */
    return *resolved ? st.median : fmax(0.0, st.ci95_high);
}

bool jt_measurement_resolved(const jt_measurement_t *m)
{
    bool resolved;
    headline(m, Q_TOTAL, &resolved);
    return resolved;
}

static json_t *energy_metrics_json(const jt_measurement_t *m)
{
    bool pkg_ok, ram_ok, total_ok, seconds_ok, watts_ok;
    double pkg = headline(m, Q_PACKAGE, &pkg_ok);
    double ram = headline(m, Q_RAM, &ram_ok);
    double total = headline(m, Q_TOTAL, &total_ok);
    double seconds = headline(m, Q_SECONDS, &seconds_ok);
    double watts = headline(m, Q_WATTS, &watts_ok);
    double per_test = m->total_tests ? total / (double)m->total_tests : 0.0;
    json_t *o = json_object();
    json_object_set_new(o, "median_package_energy_joules", number(pkg));
    json_object_set_new(o, "median_ram_energy_joules", number(ram));
    json_object_set_new(o, "median_total_energy_joules", number(total));
    json_object_set_new(o, "median_execution_time_seconds", number(seconds));
    json_object_set_new(o, "energy_per_test_case_joules", number(per_test));
    /* Like the energies: the median when resolved above zero, else the upper bound. */
    json_object_set_new(o, "power_consumption_watts", number(watts));
    /* joules per test case: lower is better */
    json_object_set_new(o, "energy_efficiency_score", number(per_test));
    json_object_set_new(o, "is_upper_bound", json_boolean(!total_ok));
    return o;
}

static json_t *statistics_json(const jt_measurement_t *m)
{
    const jt_stats_t *s = &m->stats;
    json_t *outliers = json_array();
    for (size_t i = 0; i < m->n_trials; i++)
        if (m->trials[i].outlier)
            json_array_append_new(outliers, json_integer((json_int_t)i));
    json_t *o = json_object();
    json_object_set_new(o, "trials", json_integer((json_int_t)m->n_trials));
    json_object_set_new(o, "warmup_trials", json_integer(m->warmup_trials));
    json_object_set_new(o, "repeats_per_trial", json_integer((json_int_t)m->repeats_per_trial));
    json_object_set_new(o, "quantity", json_string("net_total_energy_joules_per_run"));
    json_object_set_new(o, "median", number(s->median));
    json_object_set_new(o, "mean", number(s->mean));
    json_object_set_new(o, "stddev", number(s->stddev));
    json_object_set_new(o, "cv_percent", number(s->cv_percent));
    json_object_set_new(o, "mad", number(s->mad));
    json_object_set_new(o, "ci95_low", number(s->ci95_low));
    json_object_set_new(o, "ci95_high", number(s->ci95_high));
    /* Net energy near the noise floor can come out negative: say whether the
     * confidence interval tells the candidate's energy apart from zero. */
    json_object_set_new(o, "net_energy_resolved", json_boolean(jt_measurement_resolved(m)));
    json_object_set_new(o, "upper_bound", number(m->n_trials > 0 ? fmax(0.0, s->ci95_high) : 0));
    json_object_set_new(o, "outliers", outliers);
    json_object_set_new(o, "outlier_count", json_integer((json_int_t)m->outliers));
    json_object_set_new(o, "early_stop_reason", json_string(m->early_stop_reason));
    return o;
}

static json_t *per_domain_json(const jt_measurement_t *m, const double *values)
{
    json_t *o = json_object();
    for (size_t d = 0; d < m->n_domains; d++)
        json_object_set_new(o, jt_domain_name(m->domains[d]), number(values[d]));
    return o;
}

static const char *const proxy_names[JT_PROXY_COUNTERS] = {"instructions", "cycles",
                                                           "cache_misses"};

const char *jt_proxy_counter_name(jt_proxy_counter_t c)
{
    return (unsigned)c < JT_PROXY_COUNTERS ? proxy_names[c] : "unknown";
}

/* A window's raw proxies: {"usage": {...} | null, "counters": {name: N | null},
 * "counters_absent": {name: reason}} (the last only when one is absent). */
static json_t *window_proxies_json(const jt_window_proxies_t *p)
{
    json_t *o = json_object();
    json_t *counters = json_object(), *absent = json_object();
    json_object_set_new(o, "usage", jt_trial_usage_json(&p->usage));
    for (int i = 0; i < JT_PROXY_COUNTERS; i++) {
        json_object_set_new(counters, proxy_names[i],
                            p->counter[i].present ? number(p->counter[i].value) : json_null());
        if (!p->counter[i].present)
            json_object_set_new(absent, proxy_names[i], json_string(p->counter[i].reason));
    }
    json_object_set_new(o, "counters", counters);
    if (json_object_size(absent) > 0)
        json_object_set_new(o, "counters_absent", absent);
    else
        json_decref(absent);
    return o;
}

/* Per run, net of the null candidate (medians over the trials), like the energy: CPU time
 * of the runs, their peak memory, the box's hardware counters. Absent values are null with
 * the reason under "absent". */
static json_t *proxies_json(const jt_measurement_t *m)
{
    size_t n = m->n_trials;
    const jt_proxies_per_run_t *null = &m->null_per_run;
    json_t *o = json_object(), *absent = json_object();
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (o == NULL || absent == NULL || x == NULL) {
        free(x);
        json_decref(absent);
        return o;
    }
    bool usage = null->has_usage && n > 0;
    uint64_t peak = 0;
    for (size_t k = 0; k < n; k++) {
        usage &= m->trials[k].proxies.usage.present;
        if (m->trials[k].proxies.usage.max_rss_kb > peak)
            peak = m->trials[k].proxies.usage.max_rss_kb;
    }
    double user = NAN, sys = NAN;
    if (usage) {
        for (size_t k = 0; k < n; k++)
            x[k] = (double)m->trials[k].proxies.usage.user_us / 1e6 / (double)m->trials[k].repeats -
                   null->cpu_user_seconds;
        user = jt_stats_median(x, n);
        for (size_t k = 0; k < n; k++)
            x[k] =
                (double)m->trials[k].proxies.usage.system_us / 1e6 / (double)m->trials[k].repeats -
                null->cpu_system_seconds;
        sys = jt_stats_median(x, n);
    } else {
        json_object_set_new(absent, "cpu",
                            json_string("the sandbox did not report its runs' usage"));
    }
    json_object_set_new(o, "cpu_user_seconds", number(user));
    json_object_set_new(o, "cpu_system_seconds", number(sys));
    json_object_set_new(o, "cpu_seconds", number(user + sys));
    json_object_set_new(o, "peak_rss_kb", usage ? json_integer((json_int_t)peak) : json_null());
    for (int i = 0; i < JT_PROXY_COUNTERS; i++) {
        bool present = null->counter_present[i] && n > 0;
        const char *why = NULL;
        for (size_t k = 0; k < n; k++) {
            const jt_proxy_value_t *v = &m->trials[k].proxies.counter[i];
            if (!v->present && why == NULL)
                why = v->reason;
            present &= v->present;
            x[k] = v->value / (double)m->trials[k].repeats - null->counter[i];
        }
        json_object_set_new(o, proxy_names[i],
                            present ? number(jt_stats_median(x, n)) : json_null());
        if (!present)
            json_object_set_new(
                absent, proxy_names[i],
                json_string(why != NULL && why[0] ? why : "absent in a null trial"));
    }
    free(x);
    json_object_set_new(o, "absent", absent);
    return o;
}

static json_t *trial_json(const jt_measurement_t *m, size_t index)
{
    const jt_trial_t *t = &m->trials[index];
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)index));
    json_object_set_new(o, "repeats", json_integer((json_int_t)t->repeats));
    json_object_set_new(o, "seconds", number(t->seconds));
    json_object_set_new(o, "started_at", number(t->started_at));
    json_object_set_new(o, "ended_at", number(t->ended_at));
    json_object_set_new(o, "gross_joules", per_domain_json(m, t->gross_joules));
    json_object_set_new(o, "net_joules", per_domain_json(m, t->net_joules));
    json_object_set_new(o, "idle_watts", per_domain_json(m, t->idle_watts));
    json_object_set_new(o, "net_total_joules_per_run", number(t->net_total_joules_per_run));
    json_object_set_new(o, "net_seconds_per_run", number(t->net_seconds_per_run));
    json_object_set_new(o, "net_power_watts", number(t->net_power_watts));
    json_object_set_new(o, "outlier", json_boolean(t->outlier));
    json_object_set_new(o, "proxies", window_proxies_json(&t->proxies));
    if (t->timeline != NULL) {
        json_t *tl = json_array();
        for (size_t p = 0; p < t->n_timeline; p++) {
            json_t *pt = json_object();
            json_object_set_new(pt, "t", number(t->timeline[p].time));
            json_object_set_new(pt, "watts", per_domain_json(m, t->timeline[p].watts));
            json_array_append_new(tl, pt);
        }
        json_object_set_new(o, "power_timeline", tl);
    }
    return o;
}

static json_t *quality_json(const jt_measurement_t *m)
{
    const jt_quality_t *q = &m->quality;
    json_t *o = json_object();
    json_t *reasons = json_array();
    for (size_t i = 0; i < q->n_reasons; i++)
        json_array_append_new(reasons, json_string(q->reasons[i]));
    json_t *windows = json_array();
    for (size_t i = 0; i < m->n_idle_windows; i++) {
        json_t *w = json_object();
        json_object_set_new(w, "started_at", number(m->idle_windows[i].started_at));
        json_object_set_new(w, "seconds", number(m->idle_windows[i].seconds));
        json_object_set_new(w, "watts", per_domain_json(m, m->idle_windows[i].watts));
        json_array_append_new(windows, w);
    }
    json_object_set_new(o, "verdict", json_string(jt_verdict_name(q->verdict)));
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "net_energy_resolved", json_boolean(q->resolved));
    json_object_set_new(o, "upper_bound_joules", number(q->upper_bound_joules));
    json_object_set_new(o, "baseline", json_string("local"));
    json_object_set_new(o, "idle_watts_before", number(q->idle_watts_before));
    json_object_set_new(o, "idle_watts_after", number(q->idle_watts_after));
    json_object_set_new(o, "idle_watts_local", number(q->idle_watts_local));
    json_object_set_new(o, "idle_watts_calibration", number(q->idle_watts_calibration));
    json_object_set_new(o, "drift_percent", number(q->drift_percent));
    json_object_set_new(o, "calibration_offset_percent", number(q->calibration_offset_percent));
    json_object_set_new(o, "net_energy_constant_baseline_joules",
                        number(q->net_energy_constant_baseline_joules));
    json_object_set_new(o, "temperature_rise_c", number(q->temperature_rise_c));
    json_object_set_new(o, "idle_windows", windows);
    return o;
}

static json_t *environment_json(const jt_environment_t *e)
{
    json_t *o = json_is_object(e->provenance) ? json_deep_copy(e->provenance) : json_object();
    json_object_set_new(o, "meter_type", json_string(e->meter_type));
    json_object_set_new(o, "energy_is_estimated", json_boolean(e->energy_is_estimated));
    json_object_set_new(o, "socket", json_integer(e->socket));
    json_object_set_new(o, "measurement_core", json_integer(e->measurement_core));
    json_object_set_new(o, "cpu_model", json_string(e->cpu_model));
    json_object_set_new(o, "governor", e->governor[0] ? json_string(e->governor) : json_null());
    json_object_set_new(o, "frequency_mhz",
                        e->frequency_mhz > 0 ? number(e->frequency_mhz) : json_null());
    json_object_set_new(o, "temperature_c_start", number(e->temperature_c_start));
    json_object_set_new(o, "temperature_c_end", number(e->temperature_c_end));
    json_object_set_new(o, "thermal_controlled", json_boolean(e->thermal_controlled));
    json_t *cal = json_object();
    json_object_set_new(cal, "idle_power_watts", number(e->calibration_idle_watts));
    json_object_set_new(cal, "calibrated", json_boolean(e->calibrated));
    json_object_set_new(cal, "age_days",
                        e->calibrated ? number(e->calibration_age_days) : json_null());
    json_object_set_new(cal, "timestamp",
                        e->calibrated ? json_string(e->calibration_timestamp) : json_null());
    json_object_set_new(o, "calibration", cal);
    json_object_set_new(o, "timestamp", number(e->timestamp));
    return o;
}

json_t *jt_measurement_to_json(const jt_measurement_t *m)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "status", json_string(m->completed ? "completed" : "failed"));
    if (!m->completed) {
        json_object_set_new(o, "error_type", json_string(m->error_type));
        json_object_set_new(o, "error", json_string(m->error_message));
    }
    if (m->has_validation)
        json_object_set_new(o, "validation", jt_validation_to_json(&m->validation));
    if (m->n_trials > 0) {
        json_object_set_new(o, "energy_metrics", energy_metrics_json(m));
        json_object_set_new(o, "statistics", statistics_json(m));
        json_object_set_new(o, "proxies", proxies_json(m));
        json_t *trials = json_array();
        for (size_t i = 0; i < m->n_trials; i++)
            json_array_append_new(trials, trial_json(m, i));
        json_object_set_new(o, "trials", trials);
        json_object_set_new(o, "harness_overhead_joules_per_run",
                            per_domain_json(m, m->harness_overhead_joules_per_run));
        json_object_set_new(o, "harness_overhead_seconds_per_run",
                            number(m->harness_overhead_seconds_per_run));
        json_object_set_new(o, "repetition_mode", json_string(m->repetition_mode));
    }
    if (m->quality.assessed && (m->n_trials > 0 || m->quality.verdict != JT_VERDICT_OK))
        json_object_set_new(o, "quality", quality_json(m));
    if (m->environment.meter_type[0] != '\0')
        json_object_set_new(o, "measurement_environment", environment_json(&m->environment));
    return o;
}
