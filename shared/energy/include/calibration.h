/* calibration.h -- the idle-power calibration file and the one freshness rule for every program. */
#ifndef JT_CALIBRATION_H
#define JT_CALIBRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "meter.h"
#include "status.h"

#define JT_CALIBRATION_DEFAULT_PATH "config/socket0_calibration.json"
#define JT_CALIBRATION_VALID_DAYS 7
#define JT_CALIBRATION_MAX_FILE_BYTES (64 * 1024)

typedef struct {
    char name[16];        /* "package", "dram", ... */
    double median_watts;
    double mean_watts;
    double stddev_watts;
} jt_calibration_domain_t;

typedef struct {
    int socket_id;
    int measurement_core;
    char meter_type[32];             /* jt_meter_kind_name */
    double idle_power_watts;         /* package median */
    jt_calibration_domain_t domains[JT_METER_MAX_DOMAINS];
    size_t n_domains;
    double cv_percent;               /* of the package samples */
    long samples;
    double duration_seconds;
    time_t timestamp;                /* UTC; written as ISO 8601 with Z */
    int valid_until_days;
    char host[256];
} jt_calibration_t;

/* Read and validate a calibration file (bounded size; every field required
 * and typed; timestamp "YYYY-MM-DDTHH:MM:SSZ" with optional fraction).
 * Returns JT_OK, or an error with *err naming the field. */
jt_status_t jt_calibration_load(const char *path, jt_calibration_t *out, jt_error_t *err);

/* Write c as JSON to path atomically (temporary file + rename), creating
 * nothing else. c is first checked with the rules jt_calibration_load
 * applies, so a written file always loads. Returns JT_OK, JT_ERR_IO, or the
 * validation error (JT_ERR_INVALID, JT_ERR_MISSING, JT_ERR_TOO_LARGE,
 * JT_ERR_NOMEM) with *err naming the field. */
jt_status_t jt_calibration_save(const char *path, const jt_calibration_t *c, jt_error_t *err);

/* Idle watts of a domain by name, or -1 when the file lacks it. */
double jt_calibration_domain_watts(const jt_calibration_t *c, const char *name);

/* THE freshness rule. Loads path and decides whether it is a usable
 * calibration for this host at time now: it is not when the file is missing
 * or malformed, was made on another host, has a timestamp in the future, or
 * is older than valid_until_days (exactly valid_until_days old is still
 * fresh). Returns true and fills *out when fresh; else false with the reason
 * in reason (e.g. "calibration is 8.2 days old (valid 7 days)"). */
bool jt_calibration_fresh(const char *path, time_t now, const char *host, jt_calibration_t *out,
                          char *reason, size_t reason_len);

/* A calibration timestamp as ISO 8601 UTC with Z ("2026-12-06T18:16:18Z") into
 * buf (at least 21 bytes); false outside years 1970..9999. */
bool jt_calibration_format_timestamp(time_t t, char *buf, size_t cap);

#endif
