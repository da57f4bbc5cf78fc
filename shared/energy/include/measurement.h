/* measurement.h -- the result of a measurement: trials, statistics, energy metrics, environment. */
#ifndef JT_MEASUREMENT_H
#define JT_MEASUREMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "meter.h"
#include "sampler.h"
#include "stats.h"
#include "validation.h"

typedef struct {
    unsigned long repeats;                  /* runs in this trial */
    double seconds;                         /* wall time of the window, taken by the worker */
    double started_at, ended_at;            /* UNIX time of the window's meter reads */
    double gross_joules[JT_METER_MAX_DOMAINS];
    double net_joules[JT_METER_MAX_DOMAINS];/* gross - idle * seconds - overhead * repeats */
    double net_total_joules_per_run;        /* (package + dram) net / repeats */
    double net_seconds_per_run;             /* seconds / repeats - harness seconds per run */
    double net_power_watts;                 /* (package + dram) net / seconds */
    bool outlier;
    jt_power_point_t *timeline;             /* owned, optional */
    size_t n_timeline;
} jt_trial_t;

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
    bool thermal_controlled;    /* a sensor was read and the wait (if any) settled */
    bool calibrated;            /* idle power from a fresh calibration file */
    double calibration_idle_watts;
    double calibration_age_days;
    char calibration_timestamp[32];
    double timestamp;           /* UNIX seconds at the end of the measurement */
} jt_environment_t;

typedef struct {
    bool completed;             /* else failed */
    char error_type[48];        /* "" when completed: incorrect, nondeterministic_output,
                                   trial_failed, not_calibrated, cancelled, ... */
    char error_message[2048];
    jt_validation_t validation;
    bool has_validation;

    size_t n_domains;
    jt_domain_t domains[JT_METER_MAX_DOMAINS];
    jt_trial_t *trials;         /* measured trials, owned */
    size_t n_trials;
    int warmup_trials;
    unsigned long repeats_per_trial;
    const char *repetition_mode;/* static string */
    jt_stats_t stats;           /* of net_total_joules_per_run over the trials */
    size_t outliers;
    char early_stop_reason[128];
    double harness_overhead_joules_per_run[JT_METER_MAX_DOMAINS];
    double harness_overhead_seconds_per_run;
    size_t total_tests;

    jt_environment_t environment;
} jt_measurement_t;

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
