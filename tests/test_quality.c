/* test_quality.c -- the verdict, the never-negative headline and the proxies of a result
 * (quality.c, measurement.c). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_main.h"

#include "json_path.h"
#include "measurement.h"

#define MAX_T 8

/* A measurement of n trials on a package + dram meter: trial k has net total nets[k] J per
 * run (all on the package), `gross` J per run in all, window `seconds`, 10 runs. Idle
 * windows at 40 W package + 3 W dram, the calibration the same. */
static void make(jt_measurement_t *m, const double *nets, size_t n, double gross, double seconds)
{
    jt_measurement_init(m);
    m->completed = true;
    m->n_domains = 2;
    m->domains[0] = JT_DOMAIN_PACKAGE;
    m->domains[1] = JT_DOMAIN_DRAM;
    m->calibration_idle_watts[0] = 40;
    m->calibration_idle_watts[1] = 3;
    m->target_cv_percent = 5;
    m->total_tests = 2;
    m->repeats_per_trial = 10;
    m->trials = calloc(MAX_T, sizeof *m->trials);
    m->idle_windows = calloc(MAX_T + 1, sizeof *m->idle_windows);
    assert_non_null(m->trials);
    assert_non_null(m->idle_windows);
    double x[MAX_T];
    for (size_t k = 0; k < n; k++) {
        jt_trial_t *t = &m->trials[k];
        t->repeats = 10;
        t->seconds = seconds;
        t->gross_joules[0] = gross * 10 * 0.9;
        t->gross_joules[1] = gross * 10 * 0.1;
        t->net_joules[0] = nets[k] * 10;
        t->net_total_joules_per_run = nets[k];
        t->constant_baseline_joules_per_run = nets[k] + 0.5;
        t->net_seconds_per_run = seconds / 10 * 0.5;
        t->net_power_watts = nets[k] / t->net_seconds_per_run;
        x[k] = nets[k];
    }
    for (size_t k = 0; k <= n; k++) {
        m->idle_windows[k].seconds = 0.2;
        m->idle_windows[k].watts[0] = 40;
        m->idle_windows[k].watts[1] = 3;
    }
    m->n_trials = n;
    m->n_idle_windows = n + 1;
    jt_stats_compute(x, n, &m->stats);
}

static json_t *result(jt_measurement_t *m)
{
    jt_quality_assess(m);
    json_t *j = jt_measurement_to_json(m);
    assert_non_null(j);
    return j;
}

static double num(const json_t *j, const char *path)
{
    const json_t *v = jt_json_at(j, path);
    if (!json_is_number(v))
        fail_msg("%s is not a number", path);
    return json_number_value(v);
}

static const char *verdict(const json_t *j)
{
    const char *v = json_string_value(jt_json_at(j, "quality.verdict"));
    assert_non_null(v);
    return v;
}

/* Whether some quality.reasons[] entry starts with code. */
static bool has_reason(const json_t *j, const char *code)
{
    size_t i;
    const json_t *r;
    json_array_foreach(jt_json_at(j, "quality.reasons"), i, r)
    {
        if (strncmp(json_string_value(r), code, strlen(code)) == 0)
            return true;
    }
    return false;
}

static void finish(jt_measurement_t *m, json_t *j)
{
    json_decref(j);
    jt_measurement_cleanup(m);
}

/* A function that does nothing: signed trials around zero, headline never negative. */
static void nothing_is_never_negative(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {-0.010, 0.004, -0.002, -0.006, 0.001};
    make(&m, nets, 5, 1.0, 0.2);
    json_t *j = result(&m);
    static const char *const headline[] = {"energy_metrics.median_package_energy_joules",
                                           "energy_metrics.median_ram_energy_joules",
                                           "energy_metrics.median_total_energy_joules",
                                           "energy_metrics.median_execution_time_seconds",
                                           "energy_metrics.energy_per_test_case_joules",
                                           "energy_metrics.energy_efficiency_score"};
    for (size_t i = 0; i < sizeof headline / sizeof headline[0]; i++)
        if (!(num(j, headline[i]) >= 0))
            fail_msg("%s = %g is negative", headline[i], num(j, headline[i]));
    assert_true(json_is_true(jt_json_at(j, "energy_metrics.is_upper_bound")));
    assert_true(num(j, "energy_metrics.power_consumption_watts") >= 0);
    assert_string_equal(verdict(j), "unresolved");
    assert_false(json_is_true(jt_json_at(j, "statistics.net_energy_resolved")));
    assert_false(json_is_true(jt_json_at(j, "quality.net_energy_resolved")));
    /* the upper bound is the interval's top, and the trials keep their signs */
    double top = num(j, "statistics.ci95_high");
    assert_true(top > 0);
    assert_true(fabs(num(j, "energy_metrics.median_total_energy_joules") - top) < 1e-12);
    assert_true(fabs(num(j, "quality.upper_bound_joules") - top) < 1e-12);
    assert_true(num(j, "trials.0.net_total_joules_per_run") < 0);
    finish(&m, j);
}

/* Net time and power per run below zero in every trial (the harness's share over-subtracted,
 * as the estimate meter's model can): the headline time and power are never negative. */
static void negative_time_and_power_clamped(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {-0.010, -0.004, -0.012, -0.006, -0.008};
    make(&m, nets, 5, 1.0, 0.2);
    for (size_t k = 0; k < 5; k++) {
        m.trials[k].net_seconds_per_run = -0.001 * (double)(k + 1);
        m.trials[k].net_power_watts = -2.0 * (double)(k + 1);
    }
    json_t *j = result(&m);
    assert_true(num(j, "energy_metrics.median_execution_time_seconds") >= 0);
    assert_true(num(j, "energy_metrics.power_consumption_watts") >= 0);
    assert_true(num(j, "energy_metrics.median_total_energy_joules") >= 0);
    assert_true(json_is_true(jt_json_at(j, "energy_metrics.is_upper_bound")));
    finish(&m, j);
}

/* An interval entirely below zero is a wrong baseline, not a resolved energy. */
static void negative_interval_is_unresolved(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {-0.100, -0.101, -0.099, -0.100};
    make(&m, nets, 4, 1.0, 0.2);
    json_t *j = result(&m);
    assert_false(json_is_true(jt_json_at(j, "statistics.net_energy_resolved")));
    assert_string_equal(verdict(j), "unresolved");
    assert_true(num(j, "energy_metrics.median_total_energy_joules") == 0.0);
    finish(&m, j);
}

/* A clear positive energy is its median, and the verdict is ok. */
static void resolved_is_the_median(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49, 0.50, 0.505};
    make(&m, nets, 5, 1.0, 0.2);
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "ok");
    assert_true(json_is_true(jt_json_at(j, "quality.net_energy_resolved")));
    assert_false(json_is_true(jt_json_at(j, "energy_metrics.is_upper_bound")));
    assert_true(fabs(num(j, "energy_metrics.median_total_energy_joules") - 0.50) < 1e-12);
    assert_true(json_is_number(jt_json_at(j, "energy_metrics.power_consumption_watts")));
    assert_int_equal(json_array_size(jt_json_at(j, "quality.reasons")), 0);
    assert_true(fabs(num(j, "quality.net_energy_constant_baseline_joules") - 1.00) < 1e-12);
    finish(&m, j);
}

/* A tight interval above zero, but under 1 % of what a run costs: below the resolution. */
static void below_resolution_is_unresolved(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.0050, 0.0051, 0.0049, 0.0050};
    make(&m, nets, 4, 1.0, 0.2);
    json_t *j = result(&m);
    assert_true(num(j, "statistics.ci95_low") > 0);
    assert_string_equal(verdict(j), "unresolved");
    finish(&m, j);
}

/* A median above the floor (1 % of 1 J per run) is not enough: the interval's low end,
 * about 0.007 J, lies above zero but under the floor, so the net energy is unresolved and the
 * headline is the upper bound. */
static void interval_under_floor_is_unresolved(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.005, 0.030, 0.031, 0.032, 0.060};
    make(&m, nets, 5, 1.0, 0.2);
    json_t *j = result(&m);
    double low = num(j, "statistics.ci95_low");
    assert_true(low > 0 && low < 0.01);
    assert_true(num(j, "statistics.median") > 0.01);
    assert_string_equal(verdict(j), "unresolved");
    assert_false(
        json_is_true(json_object_get(json_object_get(j, "statistics"), "net_energy_resolved")));
    assert_true(num(j, "energy_metrics.median_total_energy_joules") > num(j, "statistics.median"));
    finish(&m, j);
}

/* One trial gives no interval: unresolved, reported as at most its value. */
static void one_trial_is_an_upper_bound(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.3};
    make(&m, nets, 1, 1.0, 0.2);
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "unresolved");
    assert_true(fabs(num(j, "energy_metrics.median_total_energy_joules") - 0.3) < 1e-12);
    finish(&m, j);
}

/* Idle power that moves between the first and the last idle window is reported. */
static void drift_during_trials(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49, 0.50};
    make(&m, nets, 4, 1.0, 0.2);
    for (size_t k = 0; k < m.n_idle_windows; k++)
        m.idle_windows[k].watts[0] = 40 + 0.6 * (double)k; /* 43 W -> 45.4 W in all */
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "baseline_drift");
    assert_true(has_reason(j, "baseline_drift"));
    assert_true(fabs(num(j, "quality.idle_watts_before") - 43.0) < 1e-9);
    assert_true(fabs(num(j, "quality.idle_watts_after") - 45.4) < 1e-9);
    assert_true(fabs(num(j, "quality.drift_percent") - 100 * 2.4 / 43) < 1e-9);
    finish(&m, j);
}

/* Local idle power 5 % above the calibration, steady during the trials, is reported too. */
static void local_differs_from_calibration(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49, 0.50};
    make(&m, nets, 4, 1.0, 0.2);
    for (size_t k = 0; k < m.n_idle_windows; k++)
        m.idle_windows[k].watts[0] = 42.15; /* 45.15 W counted, calibration 43 W */
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "baseline_drift");
    assert_true(fabs(num(j, "quality.calibration_offset_percent") - 5.0) < 1e-9);
    assert_true(fabs(num(j, "quality.drift_percent")) < 1e-9);
    finish(&m, j);
}

/* Within the thresholds nothing is said about the baseline. */
static void small_drift_is_ok(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49, 0.50};
    make(&m, nets, 4, 1.0, 0.2);
    m.idle_windows[m.n_idle_windows - 1].watts[0] = 41; /* +2.3 % of 43 W */
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "ok");
    finish(&m, j);
}

static void thermal_rise(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49, 0.50};
    make(&m, nets, 4, 1.0, 0.2);
    m.environment.temperature_c_start = 50;
    m.environment.temperature_c_end = 57;
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "thermal");
    assert_true(fabs(num(j, "quality.temperature_rise_c") - 7) < 1e-9);
    finish(&m, j);
}

static void too_short_windows(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49, 0.50};
    make(&m, nets, 4, 1.0, 0.004);
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "too_short");
    finish(&m, j);
}

/* Resolved but spread wider than the job's target CV. */
static void noisy_but_resolved(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.60, 0.45, 0.55, 0.52};
    make(&m, nets, 5, 1.0, 0.2);
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "noisy");
    assert_true(json_is_true(jt_json_at(j, "quality.net_energy_resolved")));
    finish(&m, j);
}

/* A stalled meter fails before any trial: the quality still says so. */
static void meter_stalled_without_trials(void **state)
{
    (void)state;
    jt_measurement_t m;
    make(&m, NULL, 0, 1.0, 0.2);
    m.n_idle_windows = 0;
    m.completed = false;
    snprintf(m.error_type, sizeof m.error_type, "meter_stalled");
    json_t *j = result(&m);
    assert_string_equal(verdict(j), "meter_stalled");
    assert_null(jt_json_at(j, "energy_metrics"));
    finish(&m, j);
}

/* Without the sandbox's usage and without a PMU, each proxy is null with its reason. */
static void proxies_absent(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49};
    make(&m, nets, 3, 1.0, 0.2);
    for (size_t k = 0; k < 3; k++)
        for (int i = 0; i < JT_PROXY_COUNTERS; i++)
            snprintf(m.trials[k].proxies.counter[i].reason,
                     sizeof m.trials[k].proxies.counter[i].reason, "no hardware PMU on this host");
    json_t *j = result(&m);
    static const char *const keys[] = {"cpu_user_seconds", "cpu_system_seconds", "cpu_seconds",
                                       "peak_rss_kb",      "instructions",       "cycles",
                                       "cache_misses"};
    char path[64];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        snprintf(path, sizeof path, "proxies.%s", keys[i]);
        if (!json_is_null(jt_json_at(j, path)))
            fail_msg("%s is not null", path);
    }
    assert_non_null(json_string_value(jt_json_at(j, "proxies.absent.cpu")));
    const char *why = json_string_value(jt_json_at(j, "proxies.absent.instructions"));
    assert_non_null(why);
    assert_non_null(strstr(why, "no hardware PMU"));
    assert_true(json_is_null(jt_json_at(j, "trials.0.proxies.usage")));
    finish(&m, j);
}

/* With usage and counters, proxies are per run and net of the null candidate. */
static void proxies_present_net_of_null(void **state)
{
    (void)state;
    jt_measurement_t m;
    const double nets[] = {0.50, 0.51, 0.49};
    make(&m, nets, 3, 1.0, 0.2);
    for (size_t k = 0; k < 3; k++) {
        jt_window_proxies_t *p = &m.trials[k].proxies;
        p->usage = (jt_trial_usage_t){.present = true,
                                      .user_us = 100000 + 1000 * k, /* 10 ms + k/10 ms a run */
                                      .system_us = 20000,
                                      .max_rss_kb = 9000 + k,
                                      .runs = 10};
        for (int i = 0; i < JT_PROXY_COUNTERS; i++) {
            p->counter[i].present = true;
            p->counter[i].value = 1e9 * (i + 1);
        }
    }
    m.null_per_run = (jt_proxies_per_run_t){.has_usage = true,
                                            .cpu_user_seconds = 0.002,
                                            .cpu_system_seconds = 0.001,
                                            .counter_present = {true, true, true},
                                            .counter = {1e7, 2e7, 3e7}};
    json_t *j = result(&m);
    assert_true(fabs(num(j, "proxies.cpu_user_seconds") - (0.0101 - 0.002)) < 1e-12);
    assert_true(fabs(num(j, "proxies.cpu_system_seconds") - (0.002 - 0.001)) < 1e-12);
    assert_true(num(j, "proxies.peak_rss_kb") == 9002);
    assert_true(fabs(num(j, "proxies.instructions") - (1e8 - 1e7)) < 1e-3);
    assert_true(fabs(num(j, "proxies.cache_misses") - (3e8 - 3e7)) < 1e-3);
    assert_int_equal(json_object_size(jt_json_at(j, "proxies.absent")), 0);
    finish(&m, j);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(nothing_is_never_negative),
    cmocka_unit_test(negative_time_and_power_clamped),
    cmocka_unit_test(negative_interval_is_unresolved),
    cmocka_unit_test(resolved_is_the_median),
    cmocka_unit_test(below_resolution_is_unresolved),
    cmocka_unit_test(interval_under_floor_is_unresolved),
    cmocka_unit_test(one_trial_is_an_upper_bound),
    cmocka_unit_test(drift_during_trials),
    cmocka_unit_test(local_differs_from_calibration),
    cmocka_unit_test(small_drift_is_ok),
    cmocka_unit_test(thermal_rise),
    cmocka_unit_test(too_short_windows),
    cmocka_unit_test(noisy_but_resolved),
    cmocka_unit_test(meter_stalled_without_trials),
    cmocka_unit_test(proxies_absent),
    cmocka_unit_test(proxies_present_net_of_null),
};

JT_UNIT_MAIN(tests)
