/* measurement.h -- the result of a measurement: trials, statistics, energy metrics, environment. */
#ifndef JT_MEASUREMENT_H
#define JT_MEASUREMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "meter.h"
#include "sampler.h"
#include "stats.h"
#include "trial_usage.h"
#include "validation.h"

/* Hardware counters beside the energy (worker/measure/pmu.c fills them). */
typedef enum {
    JT_PROXY_INSTRUCTIONS = 0,
    JT_PROXY_CYCLES,
    JT_PROXY_CACHE_MISSES,
    JT_PROXY_COUNTERS
} jt_proxy_counter_t;

typedef struct {
    bool present; /* else value is 0 and reason says why */
    double value; /* events in the window */
    char reason[96];
} jt_proxy_value_t;

/* "instructions", "cycles", "cache_misses". */
const char *jt_proxy_counter_name(jt_proxy_counter_t c);

/* What the kernel counted for one window: CPU time and peak memory of its runs (wait4 in
 * the sandbox) and the hardware counters of the box. */
typedef struct {
    jt_trial_usage_t usage;
    jt_proxy_value_t counter[JT_PROXY_COUNTERS];
} jt_window_proxies_t;

/* Proxies per run: medians over trials of a window's value / its runs. */
typedef struct {
    bool has_usage; /* every trial had the kernel's usage */
    double cpu_user_seconds;
    double cpu_system_seconds;
    bool counter_present[JT_PROXY_COUNTERS]; /* every trial had the counter */
    double counter[JT_PROXY_COUNTERS];
} jt_proxies_per_run_t;

typedef struct {
    unsigned long repeats;       /* runs in this trial */
    double seconds;              /* wall time of the window, taken by the worker */
    double started_at, ended_at; /* UNIX time of the window's meter reads */
    double gross_joules[JT_METER_MAX_DOMAINS];
    double net_joules[JT_METER_MAX_DOMAINS]; /* gross - local idle * seconds - overhead * repeats */
    double idle_watts[JT_METER_MAX_DOMAINS]; /* local idle power used for this trial */
    double net_total_joules_per_run;         /* (package + dram) net / repeats */
    double constant_baseline_joules_per_run; /* the same with the calibration's constant idle */
    double net_seconds_per_run;              /* seconds / repeats - harness seconds per run */
    double net_power_watts;                  /* (package + dram) net / seconds */
    bool outlier;
    jt_window_proxies_t proxies; /* of the candidate's window */
    jt_power_point_t *timeline;  /* owned, optional */
    size_t n_timeline;
} jt_trial_t;

/* One idle window: the meter read across a pause with nothing running on the measurement core. */
typedef struct {
    double seconds;                     /* its wall time */
    double started_at;                  /* UNIX time of its first read */
    double watts[JT_METER_MAX_DOMAINS]; /* mean power per domain over the window */
} jt_idle_window_t;

/* How far the numbers can be trusted (quality.c). */
typedef enum {
    JT_VERDICT_OK = 0,
    JT_VERDICT_NOISY,          /* resolved, but the CV stayed above the target */
    JT_VERDICT_BASELINE_DRIFT, /* idle power moved during the trials, or differs from calibration */
    JT_VERDICT_THERMAL,        /* the package warmed up during the trials */
    JT_VERDICT_UNRESOLVED,     /* the net energy is not told apart from zero */
    JT_VERDICT_TOO_SHORT,      /* windows too short for the meter to resolve */
    JT_VERDICT_METER_STALLED,  /* the meter did not move */
} jt_verdict_t;

#define JT_QUALITY_MAX_REASONS 8

typedef struct {
    bool assessed;
    jt_verdict_t verdict;                      /* the most severe of reasons */
    char reasons[JT_QUALITY_MAX_REASONS][256]; /* "code: explanation" */
    size_t n_reasons;
    bool resolved;                     /* n >= 2, median > 0 and ci95_low > 0 */
    double upper_bound_joules;         /* max(0, ci95_high) of net total energy per run */
    double idle_watts_before;          /* package (+ dram) idle power of the first idle window */
    double idle_watts_after;           /* ... of the last one */
    double idle_watts_local;           /* median over all idle windows */
    double idle_watts_calibration;     /* the calibration's (or model's) package (+ dram) idle */
    double drift_percent;              /* 100 * (after - before) / before */
    double calibration_offset_percent; /* 100 * (local - calibration) / calibration */
    double net_energy_constant_baseline_joules; /* median net total per run with the
                                                   calibration's constant idle power */
    double temperature_rise_c;                  /* end - start, NaN without a sensor */
} jt_quality_t;

const char *jt_verdict_name(jt_verdict_t v);

typedef struct {
    char meter_type[32];
    bool energy_is_estimated;
    int socket;
    int measurement_core;
    char cpu_model[128];
    char governor[32];          /* "" when unknown */
    double frequency_mhz;       /* 0 when unknown */
    double temperature_c_start; /* NaN when no sensor */
    double temperature_c_end;
    bool thermal_controlled; /* a sensor was read and the wait (if any) settled */
    bool calibrated;         /* idle power from a fresh calibration file */
    double calibration_idle_watts;
    double calibration_age_days;
    char calibration_timestamp[32];
    double timestamp;   /* UNIX seconds at the end of the measurement */
    json_t *provenance; /* owned, optional: more keys of the environment
                           (worker/measure/provenance.h); the fields above win */
} jt_environment_t;

typedef struct {
    bool completed;      /* else failed */
    char error_type[48]; /* "" when completed: incorrect, nondeterministic_output,
                            trial_failed, not_calibrated, cancelled, ... */
    char error_message[2048];
    jt_validation_t validation;
    bool has_validation;

    size_t n_domains;
    jt_domain_t domains[JT_METER_MAX_DOMAINS];
    jt_trial_t *trials; /* measured trials, owned */
    size_t n_trials;
    int warmup_trials;
    unsigned long repeats_per_trial;
    const char *repetition_mode; /* static string */
    jt_stats_t stats;            /* of net_total_joules_per_run over the trials */
    size_t outliers;
    char early_stop_reason[128];
    double harness_overhead_joules_per_run[JT_METER_MAX_DOMAINS];
    double harness_overhead_seconds_per_run;
    jt_proxies_per_run_t null_per_run; /* the null candidate's, medians over its trials */
    size_t total_tests;
    double target_cv_percent; /* of the job: the noisy threshold */

    /* Local baseline: idle windows before the first trial pair and after each one. */
    jt_idle_window_t *idle_windows; /* owned */
    size_t n_idle_windows;
    double calibration_idle_watts[JT_METER_MAX_DOMAINS]; /* per domain: the guard */
    jt_quality_t quality;                                /* jt_quality_assess */

    jt_environment_t environment;
} jt_measurement_t;

/* The meter's resolution: a net value per run is resolved only when its whole 95 % interval
 * lies above this fraction of the gross value it is taken from (the window's energy per run,
 * or its seconds per run). */
#define JT_RESOLUTION_FRACTION 0.01

/* Whether the net total energy per run is resolved above zero: at least 2 trials and a 95 %
 * interval whose low end lies above JT_RESOLUTION_FRACTION of the median gross energy per run
 * (and above 0). */
bool jt_measurement_resolved(const jt_measurement_t *m);

/* Fill m->quality from the trials, idle windows, statistics and environment: the verdict,
 * its reasons, the upper bound. Call once the measurement (temperatures included) ended. */
void jt_quality_assess(jt_measurement_t *m);

void jt_measurement_init(jt_measurement_t *m);
void jt_measurement_cleanup(jt_measurement_t *m);

/* Index of domain d in m->domains, or -1. */
int jt_measurement_domain_index(const jt_measurement_t *m, jt_domain_t d);

/* The result JSON: {"status": "completed"|"failed", ["error_type", "error"],
 * "validation": {...}, "energy_metrics": {...}, "statistics": {...},
 * "trials": [...], "harness_overhead_joules_per_run", "repetition_mode",
 * "measurement_environment": {...}}; energy sections only when trials ran.
 * New reference, NULL on no memory. */
json_t *jt_measurement_to_json(const jt_measurement_t *m);

#endif
