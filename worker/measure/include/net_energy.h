/* net_energy.h -- the estimator: net energy per run from candidate, null and idle windows.
 *
 * Private to worker/measure. trials.c measures the windows; this file turns them into the
 * trials, overhead and statistics of a jt_measurement_t (docs/measurement.md, "Net energy").
 */
#ifndef JT_NET_ENERGY_H
#define JT_NET_ENERGY_H

#include <stddef.h>

#include "measurement.h"

/* One trial window as measured between two meter reads. */
typedef struct {
    double seconds;
    double started_at, ended_at; /* UNIX time */
    double gross[JT_METER_MAX_DOMAINS];
    jt_window_proxies_t proxies;
    jt_power_point_t *timeline;
    size_t n_timeline;
} jt_window_t;

/* Fill m's trials [0, n), harness overhead, null proxies and statistics from the candidate
 * and null windows of n pairs and m->idle_windows (pair k between idle windows k and k+1):
 * each pair's local idle power is subtracted; calibration_idle (per domain) gives the
 * constant-baseline figure beside it. m->n_domains, m->domains and m->repeats_per_trial must
 * be set. Leaves m unchanged when out of memory. */
void jt_net_energy_compute(jt_measurement_t *m, const double *calibration_idle,
                           const jt_window_t *cand, const jt_window_t *nulls, size_t n,
                           unsigned long null_runs);

#endif
