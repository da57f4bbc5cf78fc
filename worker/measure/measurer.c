/* measurer.c -- meter + sampler + idle baseline + cores: the worker's measuring equipment. */
#include "measurer.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "host_info.h"
#include "log.h"
#include "provenance.h"
#include "sampler.h"

struct jt_measurer {
    jt_config_t cfg;
    jt_meter_t *meter;
    jt_sampler_t *sampler;
    int measure_core;
    int validate_core;
    double idle_watts[JT_METER_MAX_DOMAINS];
    bool calibrated;
    jt_calibration_t calibration;
    json_t *provenance; /* collected once at open: the host, the meter, the versions */
};

int jt_measurer_pick_core(const jt_config_t *cfg)
{
    if (cfg->measure_core >= 0)
        return cfg->measure_core;
    return jt_host_cpu_online(4) ? 4 : jt_host_highest_cpu();
}

int jt_measurer_keep_off_core(int measure_core)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return -1;
    if (CPU_COUNT(&set) <= 1 || !CPU_ISSET(measure_core, &set))
        return 0;
    CPU_CLR(measure_core, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

/* Idle watts per meter domain from the calibration (0 for domains it lacks). */
static void baseline_from_calibration(jt_measurer_t *ms)
{
    for (size_t d = 0; d < jt_meter_domain_count(ms->meter); d++) {
        double w = jt_calibration_domain_watts(&ms->calibration,
                                               jt_domain_name(jt_meter_domain(ms->meter, d)));
        ms->idle_watts[d] = w > 0 ? w : 0.0;
    }
}

jt_status_t jt_measurer_open(const jt_config_t *cfg, const char *meter_kind, jt_measurer_t **out,
                             jt_error_t *err)
{
    jt_measurer_t *ms = calloc(1, sizeof *ms);
    if (ms == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    ms->cfg = *cfg;
    ms->measure_core = jt_measurer_pick_core(cfg);
    ms->validate_core = cfg->validate_core;
    if (ms->validate_core == ms->measure_core && jt_host_highest_cpu() > 0)
        ms->validate_core = ms->measure_core == 0 ? 1 : 0;

    const char *kind_text = meter_kind ? meter_kind : cfg->meter;
    int kind = jt_meter_kind_parse(kind_text);
    if (kind < 0) {
        free(ms);
        return jt_error_set(err, JT_ERR_CONFIG, "meter",
                            "unknown meter '%s' (auto, rapl-sysfs, rapl-perf, estimate)",
                            kind_text);
    }
    jt_meter_config_t mc = {.kind = (jt_meter_kind_t)kind,
                            .socket = cfg->socket,
                            .measurement_core = ms->measure_core,
                            .estimate_idle_watts = cfg->estimate_idle_watts,
                            .estimate_active_watts = cfg->estimate_active_watts};
    snprintf(mc.powercap_root, sizeof mc.powercap_root, "%s", cfg->powercap_root);
    jt_status_t s = jt_meter_open(&mc, &ms->meter, err);
    if (s != JT_OK) {
        free(ms);
        return s;
    }
    char reason[512];
    const char *type = jt_meter_kind_name(jt_meter_kind(ms->meter));
    ms->calibrated = jt_calibration_fresh(cfg->calibration_path, time(NULL), NULL,
                                          &ms->calibration, reason, sizeof reason);
    if (ms->calibrated && strcmp(ms->calibration.meter_type, type) != 0) {
        snprintf(reason, sizeof reason,
                 "calibration was made with meter %s, this worker uses %s; run "
                 "`jouletrace-worker calibrate`",
                 ms->calibration.meter_type, type);
        ms->calibrated = false;
    }
    if (ms->calibrated) {
        baseline_from_calibration(ms);
    } else if (jt_meter_is_estimate(ms->meter)) {
        ms->idle_watts[0] = cfg->estimate_idle_watts; /* the model's own idle power */
    } else {
        jt_meter_close(ms->meter);
        free(ms);
        return jt_error_set(err, JT_ERR_CONFIG, "calibration", "Socket %d not calibrated: %s",
                            cfg->socket, reason);
    }
    /* Once per worker: it asks the interpreter for its version (about 20 ms). */
    ms->provenance = jt_provenance_collect(ms->measure_core, cfg->socket, NULL);
    if (ms->provenance != NULL)
        jt_provenance_add_meter(ms->provenance, ms->meter, &mc);
    s = jt_sampler_start(ms->meter, cfg->sample_hz, &ms->sampler, err);
    if (s != JT_OK) {
        json_decref(ms->provenance);
        jt_meter_close(ms->meter);
        free(ms);
        return s;
    }
    *out = ms;
    return JT_OK;
}

void jt_measurer_close(jt_measurer_t *ms)
{
    if (ms == NULL)
        return;
    jt_sampler_stop(ms->sampler);
    jt_meter_close(ms->meter);
    json_decref(ms->provenance);
    free(ms);
}

const char *jt_measurer_meter_type(const jt_measurer_t *ms)
{
    return jt_meter_kind_name(jt_meter_kind(ms->meter));
}

static void fill_environment(jt_measurer_t *ms, jt_environment_t *e)
{
    snprintf(e->meter_type, sizeof e->meter_type, "%s", jt_measurer_meter_type(ms));
    e->energy_is_estimated = jt_meter_is_estimate(ms->meter);
    e->socket = ms->cfg.socket;
    e->measurement_core = ms->measure_core;
    jt_host_cpu_model(e->cpu_model, sizeof e->cpu_model);
    jt_host_governor(ms->measure_core, e->governor, sizeof e->governor);
    e->frequency_mhz = jt_host_frequency_mhz(ms->measure_core);
    e->calibrated = ms->calibrated;
    json_decref(e->provenance);
    e->provenance = ms->provenance != NULL ? json_deep_copy(ms->provenance) : NULL;
    e->calibration_idle_watts = ms->idle_watts[0];
    if (ms->calibrated) {
        e->calibration_age_days = difftime(time(NULL), ms->calibration.timestamp) / 86400.0;
        jt_calibration_format_timestamp(ms->calibration.timestamp, e->calibration_timestamp,
                                        sizeof e->calibration_timestamp);
    }
}

jt_status_t jt_measurer_gate(jt_measurer_t *ms, jt_runner_t *r, const jt_job_t *job,
                             jt_measurement_t *m, jt_error_t *err)
{
    jt_status_t s = jt_runner_validate(r, job, ms->validate_core, &m->validation, err);
    if (s != JT_OK)
        return s;
    m->has_validation = true;
    fill_environment(ms, &m->environment);
    if (!m->validation.is_correct) {
        m->completed = false;
        snprintf(m->error_type, sizeof m->error_type, "incorrect");
        snprintf(m->error_message, sizeof m->error_message, "%s",
                 m->validation.error_summary ? m->validation.error_summary
                                             : "the candidate failed the correctness gate");
        m->environment.timestamp = jt_clock_unix();
    }
    return JT_OK;
}

void jt_measurer_env(jt_measurer_t *ms, jt_runner_t *r, jt_trials_env_t *env,
                     const char **cpu_source)
{
    *env = (jt_trials_env_t){.meter = ms->meter,
                             .sampler = ms->sampler,
                             .measure_core = ms->measure_core};
    memcpy(env->idle_watts, ms->idle_watts, sizeof env->idle_watts);
    env->counters_cgroup = jt_runner_box(r)->cpu_cgroup;
    /* The estimate meter counts this runner's box, which a respawn may have changed. */
    jt_error_t follow_err;
    if (jt_meter_follow_cgroup(ms->meter, jt_runner_box(r)->cpu_cgroup, &follow_err) != JT_OK)
        jt_log_warn("%s", follow_err.message);
    *cpu_source = jt_meter_cpu_source(ms->meter);
    /* Counting the box alone, an idle window reads exactly the model's idle watts; a
     * calibration file (made without a box, on the whole core) would only add the
     * machine's background load to the guard and cry drift at every job. */
    if (*cpu_source != NULL && strncmp(*cpu_source, "cgroup", 6) == 0)
        env->idle_watts[0] = ms->cfg.estimate_idle_watts;
}

jt_status_t jt_measurer_trials(jt_measurer_t *ms, jt_runner_t *r, const jt_job_t *job,
                               int (*progress)(void *ctx, const jt_trial_progress_t *p),
                               void *ctx, jt_measurement_t *m, jt_error_t *err)
{
    m->environment.temperature_c_start = jt_host_temperature_c();
    int settled = job->thermal_wait_seconds > 0 ? jt_host_thermal_wait(job->thermal_wait_seconds)
                                                : (isnan(m->environment.temperature_c_start) ? -1
                                                                                             : 0);
    m->environment.thermal_controlled = settled == 1;
    jt_trials_env_t env;
    const char *cpu_source = NULL;
    jt_measurer_env(ms, r, &env, &cpu_source);
    env.on_progress = progress;
    env.ctx = ctx;
    if (cpu_source != NULL) {
        jt_log_debug("estimate meter: busy time from %s", cpu_source);
        if (m->environment.provenance != NULL)
            json_object_set_new(m->environment.provenance, "estimate_cpu_source",
                                json_string(cpu_source));
    }
    jt_status_t s = jt_trials_measure(r, job, &env, m, err);
    m->environment.temperature_c_end = jt_host_temperature_c();
    m->environment.timestamp = jt_clock_unix();
    jt_quality_assess(m);
    return s;
}

jt_status_t jt_measurer_process(jt_measurer_t *ms, jt_runner_t *r, const jt_job_t *job,
                                int (*progress)(void *ctx, const jt_trial_progress_t *p),
                                void *ctx, jt_measurement_t *m, jt_error_t *err)
{
    jt_status_t s = jt_measurer_gate(ms, r, job, m, err);
    if (s != JT_OK || !m->validation.is_correct)
        return s;
    return jt_measurer_trials(ms, r, job, progress, ctx, m, err);
}

bool jt_measurer_calibrated(const jt_measurer_t *ms, double *idle_watts)
{
    if (idle_watts != NULL)
        *idle_watts = ms->idle_watts[0];
    return ms->calibrated;
}

const jt_calibration_t *jt_measurer_calibration(const jt_measurer_t *ms)
{
    return ms->calibrated ? &ms->calibration : NULL;
}
