/* meter.c -- the common half of every meter: kinds, names, backend dispatch and wrap-safe totals.
 *
 * Any thread may call jt_meter_read; a mutex serialises the backend read and
 * the accumulation, so the sampler thread and the worker never interleave.
 */
#include "meter.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meter_backend.h"

struct jt_meter {
    const jt_meter_backend_t *backend;
    void *state;
    jt_meter_layout_t layout;
    pthread_mutex_t mu; /* guards last_raw and total */
    uint64_t last_raw[JT_METER_MAX_DOMAINS];
    uint64_t total[JT_METER_MAX_DOMAINS];
};

static const char *const kind_names[] = {
    [JT_METER_AUTO] = "auto",
    [JT_METER_RAPL_SYSFS] = "rapl-sysfs",
    [JT_METER_RAPL_PERF] = "rapl-perf",
    [JT_METER_ESTIMATE] = "estimate",
};

static const char *const domain_names[] = {
    [JT_DOMAIN_PACKAGE] = "package", [JT_DOMAIN_DRAM] = "dram", [JT_DOMAIN_CORE] = "core",
    [JT_DOMAIN_UNCORE] = "uncore",   [JT_DOMAIN_PSYS] = "psys",
};

int jt_meter_kind_parse(const char *text)
{
    if (text == NULL)
        return -1;
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(text, kind_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *jt_meter_kind_name(jt_meter_kind_t k)
{
    if ((unsigned)k >= sizeof kind_names / sizeof kind_names[0])
        return "unknown";
    return kind_names[k];
}

const char *jt_domain_name(jt_domain_t d)
{
    if ((unsigned)d >= sizeof domain_names / sizeof domain_names[0])
        return "unknown";
    return domain_names[d];
}

uint64_t jt_meter_wrap_delta(uint64_t prev, uint64_t now, uint64_t range_uj)
{
    if (now >= prev)
        return now - prev;
    if (range_uj == 0 || prev > range_uj)
        return now; /* cannot happen on sane counters: count from zero, never negative */
    return (range_uj - prev) + now;
}

jt_status_t jt_meter_permission_error(jt_error_t *err, const char *path)
{
    return jt_error_set(err, JT_ERR_IO, path,
                        "cannot read %s: permission denied; run as root or grant group read "
                        "access (e.g. chgrp <group> energy_uj; chmod g+r energy_uj)",
                        path);
}

static jt_status_t open_backend(const jt_meter_backend_t *be, const jt_meter_config_t *cfg,
                                jt_meter_t **out, jt_error_t *err)
{
    jt_meter_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory opening the meter");
    m->backend = be;
    jt_status_t s = be->open(cfg, &m->state, &m->layout, err);
    if (s != JT_OK)
        goto fail_free;
    if (m->layout.n == 0 || m->layout.n > JT_METER_MAX_DOMAINS ||
        m->layout.domain[0] != JT_DOMAIN_PACKAGE) {
        s = jt_error_set(err, JT_ERR_IO, "", "%s meter reported no package domain",
                         jt_meter_kind_name(be->kind));
        goto fail_close;
    }
    int rc = pthread_mutex_init(&m->mu, NULL);
    if (rc != 0) {
        s = jt_error_set(err, JT_ERR_SYSTEM, "", "pthread_mutex_init: %s", strerror(rc));
        goto fail_close;
    }
    /* The first read is the zero point of every total. */
    s = be->read(m->state, m->last_raw, err);
    if (s != JT_OK)
        goto fail_mutex;
    *out = m;
    return JT_OK;

fail_mutex:
    pthread_mutex_destroy(&m->mu);
fail_close:
    be->close(m->state);
fail_free:
    free(m);
    return s;
}

jt_status_t jt_meter_open(const jt_meter_config_t *cfg, jt_meter_t **out, jt_error_t *err)
{
    switch (cfg->kind) {
    case JT_METER_RAPL_SYSFS:
        return open_backend(&jt_rapl_sysfs_backend, cfg, out, err);
    case JT_METER_RAPL_PERF:
        return open_backend(&jt_rapl_perf_backend, cfg, out, err);
    case JT_METER_ESTIMATE:
        return open_backend(&jt_estimate_backend, cfg, out, err);
    case JT_METER_AUTO:
        break;
    default:
        return jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_METER", "unknown meter kind %d",
                            (int)cfg->kind);
    }
    /* Hardware only: an estimate must be asked for, never slipped in. */
    jt_error_t sysfs_err = {0}, perf_err = {0};
    jt_status_t s = open_backend(&jt_rapl_sysfs_backend, cfg, out, &sysfs_err);
    if (s == JT_OK)
        return JT_OK;
    if (s == JT_ERR_NOMEM)
        return jt_error_set(err, s, sysfs_err.path, "%s", sysfs_err.message);
    s = open_backend(&jt_rapl_perf_backend, cfg, out, &perf_err);
    if (s == JT_OK)
        return JT_OK;
    return jt_error_set(err, sysfs_err.code, sysfs_err.path,
                        "no usable energy counter: rapl-sysfs: %.230s; rapl-perf: %.230s",
                        sysfs_err.message, perf_err.message);
}

void jt_meter_close(jt_meter_t *m)
{
    if (m == NULL)
        return;
    m->backend->close(m->state);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

jt_meter_kind_t jt_meter_kind(const jt_meter_t *m)
{
    return m->backend->kind;
}

bool jt_meter_is_estimate(const jt_meter_t *m)
{
    return m->backend->kind == JT_METER_ESTIMATE;
}

size_t jt_meter_domain_count(const jt_meter_t *m)
{
    return m->layout.n;
}

jt_domain_t jt_meter_domain(const jt_meter_t *m, size_t i)
{
    return i < m->layout.n ? m->layout.domain[i] : JT_DOMAIN_PACKAGE;
}

jt_status_t jt_meter_read(jt_meter_t *m, jt_meter_reading_t *out, jt_error_t *err)
{
    uint64_t raw[JT_METER_MAX_DOMAINS];
    pthread_mutex_lock(&m->mu);
    double t0 = jt_clock_now();
    jt_status_t s = m->backend->read(m->state, raw, err);
    double t1 = jt_clock_now();
    if (s == JT_OK) {
        memset(out, 0, sizeof *out);
        out->time = 0.5 * (t0 + t1);
        for (size_t i = 0; i < m->layout.n; i++) {
            m->total[i] += jt_meter_wrap_delta(m->last_raw[i], raw[i], m->layout.range_uj[i]);
            m->last_raw[i] = raw[i];
            out->energy_uj[i] = m->total[i];
        }
    }
    pthread_mutex_unlock(&m->mu);
    return s;
}

jt_status_t jt_meter_follow_cgroup(jt_meter_t *m, const char *cgroup_dir, jt_error_t *err)
{
    if (m->backend->follow == NULL)
        return JT_OK;
    pthread_mutex_lock(&m->mu);
    jt_status_t s = m->backend->follow(m->state, cgroup_dir ? cgroup_dir : "", err);
    pthread_mutex_unlock(&m->mu);
    return s;
}

const char *jt_meter_cpu_source(jt_meter_t *m)
{
    if (m->backend->cpu_source == NULL)
        return NULL;
    pthread_mutex_lock(&m->mu);
    const char *name = m->backend->cpu_source(m->state);
    pthread_mutex_unlock(&m->mu);
    return name;
}

double jt_meter_joules(const jt_meter_reading_t *a, const jt_meter_reading_t *b, size_t i)
{
    if (i >= JT_METER_MAX_DOMAINS)
        return 0.0;
    uint64_t ea = a->energy_uj[i], eb = b->energy_uj[i];
    return eb >= ea ? (double)(eb - ea) * 1e-6 : -((double)(ea - eb) * 1e-6);
}
