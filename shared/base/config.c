/* config.c -- JOULETRACE_* environment variables -> jt_config_t. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jt_status_t read_string(const char *name, char *dst, size_t cap, jt_error_t *err)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return JT_OK;
    if (strlen(v) >= cap)
        return jt_error_set(err, JT_ERR_CONFIG, name, "%s is longer than %zu bytes", name, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return JT_OK;
}

static jt_status_t read_long(const char *name, long min, long max, long *dst, jt_error_t *err)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return JT_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < min || x > max)
        return jt_error_set(err, JT_ERR_CONFIG, name, "%s=%s: expected an integer in %ld..%ld",
                            name, v, min, max);
    *dst = x;
    return JT_OK;
}

static jt_status_t read_double(const char *name, double min, double max, double *dst,
                               jt_error_t *err)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return JT_OK;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno != 0 || *end != '\0' || !(x >= min && x <= max))
        return jt_error_set(err, JT_ERR_CONFIG, name, "%s=%s: expected a number in %g..%g", name,
                            v, min, max);
    *dst = x;
    return JT_OK;
}

/* JOULETRACE_LEASE_HOST: a host name (letters, digits, '.', '_', '-'), as
 * gethostname() would give it, so that a worker told the name takes the same
 * lease as one that reads it. */
static jt_status_t read_lease_host(char *dst, size_t cap, jt_error_t *err)
{
    const char *name = "JOULETRACE_LEASE_HOST";
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return JT_OK;
    size_t n = strlen(v);
    bool ok = n < cap && v[0] != '.' && v[0] != '-';
    for (size_t i = 0; ok && i < n; i++) {
        char c = v[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok)
        return jt_error_set(err, JT_ERR_CONFIG, name,
                            "%s=%.*s: expected a host name of 1..%zu letters, digits, '.', '_' "
                            "or '-', not starting with '.' or '-' (the measurement lease key of "
                            "every worker measuring on this machine)",
                            name, 100, v, cap - 1);
    memcpy(dst, v, n + 1);
    return JT_OK;
}

jt_status_t jt_config_load(jt_config_t *cfg, jt_error_t *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->log_level = JT_LOG_INFO;
    snprintf(cfg->sandbox_dir, sizeof cfg->sandbox_dir, "/tmp");
    cfg->sandbox_uid_base = 60000;
    cfg->sandbox_slots = 32;
    cfg->validate_core = 0;
    cfg->output_limit_bytes = 64 * 1024;
    cfg->validation_budget_seconds = 600.0;
    snprintf(cfg->meter, sizeof cfg->meter, "auto");
    snprintf(cfg->powercap_root, sizeof cfg->powercap_root, "/sys/class/powercap");
    cfg->socket = 0;
    cfg->measure_core = -1;
    snprintf(cfg->calibration_path, sizeof cfg->calibration_path,
             "config/socket0_calibration.json");
    cfg->sample_hz = 100.0;
    cfg->estimate_idle_watts = 10.0;
    cfg->estimate_active_watts = 15.0;
    cfg->calibration_max_cv = 20.0;
    snprintf(cfg->nats_url, sizeof cfg->nats_url, "nats://127.0.0.1:4222");
    snprintf(cfg->http_addr, sizeof cfg->http_addr, "127.0.0.1:8000");
    cfg->max_pending_jobs = 10000;
    cfg->max_ack_pending = 64;
    cfg->http_threads = 32;
    cfg->callback_backoff_ms = 1000;

    const char *lvl = getenv("JOULETRACE_LOG_LEVEL");
    if (lvl != NULL && *lvl != '\0') {
        int l = jt_log_level_parse(lvl);
        if (l < 0)
            return jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_LOG_LEVEL",
                                "JOULETRACE_LOG_LEVEL=%s: expected debug, info, warn or error",
                                lvl);
        cfg->log_level = (jt_log_level_t)l;
    }
    jt_status_t s;
    long core = cfg->validate_core, slots = cfg->sandbox_slots;
    if ((s = read_string("JOULETRACE_SANDBOX_DIR", cfg->sandbox_dir, sizeof cfg->sandbox_dir,
                         err)) != JT_OK ||
        (s = read_long("JOULETRACE_SANDBOX_SLOTS", 1, 4096, &slots, err)) != JT_OK ||
        (s = read_long("JOULETRACE_SANDBOX_UID_BASE", 1000, 2000000000L - 2 * slots,
                       &cfg->sandbox_uid_base, err)) != JT_OK ||
        (s = read_string("JOULETRACE_RUNNER", cfg->runner_path, sizeof cfg->runner_path, err)) !=
            JT_OK ||
        (s = read_long("JOULETRACE_VALIDATE_CORE", 0, 4095, &core, err)) != JT_OK ||
        (s = read_long("JOULETRACE_OUTPUT_LIMIT_BYTES", 1024, 16L * 1024 * 1024,
                       &cfg->output_limit_bytes, err)) != JT_OK ||
        (s = read_double("JOULETRACE_VALIDATION_BUDGET_SECONDS", 1.0, 86400.0,
                         &cfg->validation_budget_seconds, err)) != JT_OK)
        return s;
    cfg->validate_core = (int)core;
    cfg->sandbox_slots = (int)slots;

    long socket = cfg->socket, measure_core = cfg->measure_core;
    if ((s = read_string("JOULETRACE_METER", cfg->meter, sizeof cfg->meter, err)) != JT_OK ||
        (s = read_string("JOULETRACE_POWERCAP_ROOT", cfg->powercap_root,
                         sizeof cfg->powercap_root, err)) != JT_OK ||
        (s = read_string("JOULETRACE_CALIBRATION", cfg->calibration_path,
                         sizeof cfg->calibration_path, err)) != JT_OK ||
        (s = read_long("JOULETRACE_SOCKET", 0, 255, &socket, err)) != JT_OK ||
        (s = read_long("JOULETRACE_MEASURE_CORE", -1, 4095, &measure_core, err)) != JT_OK ||
        (s = read_double("JOULETRACE_SAMPLE_HZ", 1.0, 10000.0, &cfg->sample_hz, err)) != JT_OK ||
        (s = read_double("JOULETRACE_ESTIMATE_IDLE_WATTS", 0.0, 10000.0,
                         &cfg->estimate_idle_watts, err)) != JT_OK ||
        (s = read_double("JOULETRACE_ESTIMATE_ACTIVE_WATTS", 0.0, 10000.0,
                         &cfg->estimate_active_watts, err)) != JT_OK ||
        (s = read_double("JOULETRACE_CALIBRATION_MAX_CV_PERCENT", 0.1, 1000.0,
                         &cfg->calibration_max_cv, err)) != JT_OK)
        return s;
    if (strcmp(cfg->meter, "auto") != 0 && strcmp(cfg->meter, "rapl-sysfs") != 0 &&
        strcmp(cfg->meter, "rapl-perf") != 0 && strcmp(cfg->meter, "estimate") != 0)
        return jt_error_set(err, JT_ERR_CONFIG, "JOULETRACE_METER",
                            "JOULETRACE_METER=%s: expected auto, rapl-sysfs, rapl-perf or estimate",
                            cfg->meter);
    cfg->socket = (int)socket;
    cfg->measure_core = (int)measure_core;

    long ack_pending = cfg->max_ack_pending, threads = cfg->http_threads;
    if ((s = read_string("JOULETRACE_NATS_URL", cfg->nats_url, sizeof cfg->nats_url, err)) !=
            JT_OK ||
        (s = read_string("JOULETRACE_NATS_CREDENTIALS_FILE", cfg->nats_credentials_file,
                         sizeof cfg->nats_credentials_file, err)) != JT_OK ||
        (s = read_string("JOULETRACE_HTTP_ADDR", cfg->http_addr, sizeof cfg->http_addr, err)) !=
            JT_OK ||
        (s = read_string("JOULETRACE_WORKER_ID", cfg->worker_id, sizeof cfg->worker_id, err)) !=
            JT_OK ||
        (s = read_lease_host(cfg->lease_host, sizeof cfg->lease_host, err)) != JT_OK ||
        (s = read_long("JOULETRACE_MAX_PENDING_JOBS", 1, 100000000, &cfg->max_pending_jobs, err)) !=
            JT_OK ||
        (s = read_long("JOULETRACE_MAX_ACK_PENDING", 1, 100000, &ack_pending, err)) != JT_OK ||
        (s = read_long("JOULETRACE_HTTP_THREADS", 2, 1024, &threads, err)) != JT_OK)
        return s;
    cfg->max_ack_pending = (int)ack_pending;
    cfg->http_threads = (int)threads;

    if ((s = read_string("JOULETRACE_CALLBACK_ALLOW", cfg->callback_allow,
                         sizeof cfg->callback_allow, err)) != JT_OK ||
        (s = jt_callback_allow_validate(cfg->callback_allow, err)) != JT_OK ||
        (s = read_string("JOULETRACE_CALLBACK_SECRET_FILE", cfg->callback_secret_file,
                         sizeof cfg->callback_secret_file, err)) != JT_OK ||
        (s = read_long("JOULETRACE_CALLBACK_BACKOFF_MS", 1, 300000, &cfg->callback_backoff_ms,
                       err)) != JT_OK)
        return s;
    return JT_OK;
}
