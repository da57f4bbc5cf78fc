/* calibrate.c -- idle-power calibration of the measurement socket. */
#include "calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cpu_busy.h"
#include "measurer.h"
#include "meter.h"
#include "stats.h"

jt_status_t jt_calibrate(const jt_config_t *cfg, const char *meter_kind, double seconds,
                         const char *out_path, jt_calibration_t *result, jt_error_t *err)
{
    if (!(seconds >= 1.0 && seconds <= 3600.0))
        return jt_error_set(err, JT_ERR_INVALID, "seconds", "--seconds must be in 1..3600");
    const char *kind_text = meter_kind ? meter_kind : cfg->meter;
    int kind = jt_meter_kind_parse(kind_text);
    if (kind < 0)
        return jt_error_set(err, JT_ERR_CONFIG, "meter", "unknown meter '%s'", kind_text);
    int core = jt_measurer_pick_core(cfg);
    jt_measurer_keep_off_core(core);
    jt_meter_config_t mc = {.kind = (jt_meter_kind_t)kind,
                            .socket = cfg->socket,
                            .measurement_core = core,
                            .estimate_idle_watts = cfg->estimate_idle_watts,
                            .estimate_active_watts = cfg->estimate_active_watts};
    snprintf(mc.powercap_root, sizeof mc.powercap_root, "%s", cfg->powercap_root);
    jt_meter_t *meter;
    jt_status_t s = jt_meter_open(&mc, &meter, err);
    if (s != JT_OK)
        return s;
    jt_cpu_busy_t busy;
    s = jt_cpu_busy_init(&busy, core, NULL, err);
    if (s != JT_OK) {
        jt_meter_close(meter);
        return s;
    }

    size_t nd = jt_meter_domain_count(meter);
    size_t max_samples = (size_t)(seconds / JT_CALIBRATE_INTERVAL_SECONDS) + 1;
    double *watts = calloc(max_samples * nd, sizeof *watts);
    if (watts == NULL) {
        jt_meter_close(meter);
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    jt_meter_reading_t prev, cur;
    uint64_t busy0 = 0, busy1 = 0;
    s = jt_meter_read(meter, &prev, err);
    if (s == JT_OK)
        s = jt_cpu_busy_read(&busy, &busy0, err);
    double start = prev.time, next = start;
    size_t n = 0;
    while (s == JT_OK && n < max_samples && prev.time - start < seconds) {
        next += JT_CALIBRATE_INTERVAL_SECONDS;
        jt_clock_sleep_until(next);
        s = jt_meter_read(meter, &cur, err);
        if (s != JT_OK)
            break;
        double dt = cur.time - prev.time;
        for (size_t d = 0; d < nd; d++)
            watts[d * max_samples + n] = dt > 0 ? jt_meter_joules(&prev, &cur, d) / dt : 0;
        n++;
        prev = cur;
    }
    if (s == JT_OK)
        s = jt_cpu_busy_read(&busy, &busy1, err);
    double duration = prev.time - start;
    if (s == JT_OK && n < 5)
        s = jt_error_set(err, JT_ERR_INVALID, "", "too few samples (%zu)", n);
    if (s != JT_OK) {
        free(watts);
        jt_meter_close(meter);
        return s;
    }

    memset(result, 0, sizeof *result);
    result->socket_id = cfg->socket;
    result->measurement_core = core;
    snprintf(result->meter_type, sizeof result->meter_type, "%s",
             jt_meter_kind_name(jt_meter_kind(meter)));
    for (size_t d = 0; d < nd && d < JT_METER_MAX_DOMAINS; d++) {
        jt_stats_t st;
        jt_stats_compute(&watts[d * max_samples], n, &st);
        jt_calibration_domain_t *cd = &result->domains[result->n_domains++];
        snprintf(cd->name, sizeof cd->name, "%s", jt_domain_name(jt_meter_domain(meter, d)));
        cd->median_watts = st.median;
        cd->mean_watts = st.mean;
        cd->stddev_watts = st.stddev;
        if (d == 0) {
            result->idle_power_watts = st.median;
            result->cv_percent = st.cv_percent;
        }
    }
    result->samples = (long)n;
    result->duration_seconds = duration;
    result->timestamp = time(NULL);
    result->valid_until_days = JT_CALIBRATION_VALID_DAYS;
    if (gethostname(result->host, sizeof result->host) < 0)
        snprintf(result->host, sizeof result->host, "unknown");
    result->host[sizeof result->host - 1] = '\0';
    free(watts);
    jt_meter_close(meter);

    double busy_percent = duration > 0 ? 100.0 * (double)(busy1 - busy0) / (duration * 1e9) : 0;
    if (busy_percent > JT_CALIBRATE_MAX_BUSY_PERCENT)
        return jt_error_set(err, JT_ERR_INVALID, "",
                            "measurement core %d was %.1f%% busy during calibration (at most "
                            "%.0f%% allowed): stop the load on it and calibrate again",
                            core, busy_percent, JT_CALIBRATE_MAX_BUSY_PERCENT);
    if (result->cv_percent > cfg->calibration_max_cv)
        return jt_error_set(err, JT_ERR_INVALID, "",
                            "idle package power varied too much to be a baseline (CV %.1f%% > "
                            "%.1f%%): quiet the machine and calibrate again",
                            result->cv_percent, cfg->calibration_max_cv);
    return jt_calibration_save(out_path ? out_path : cfg->calibration_path, result, err);
}
