/* calibration_record.c -- the calibration record's rules: its names, its timestamp text, its checks. */
#include "calibration_record.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MIN_YEAR 1970
#define MAX_YEAR 9999 /* the format has four year digits */

/* The kinds a meter can actually open (never "auto") and the domain names,
 * as jt_meter_kind_name / jt_domain_name spell them. */
static const char *const meter_types[] = {"rapl-sysfs", "rapl-perf", "estimate"};
const char *const jt_calibration_domain_names[JT_CALIBRATION_N_DOMAIN_NAMES] = {
    "package", "dram", "core", "uncore", "psys"};

bool jt_calibration_in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* ---- timestamps ---------------------------------------------------------- */

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" -> seconds since the epoch (the fraction is
 * dropped). timegm, not mktime: the result must not depend on TZ or locale. */
bool jt_calibration_parse_timestamp(const char *s, size_t len, time_t *out)
{
    if (len < 20)
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0)
        return false;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return false;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start || i - start > 9)
            return false;
    }
    if (i + 1 != len || s[i] != 'Z')
        return false;
    if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || se > 59)
        return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = t;
    return true;
}

/* ISO 8601 UTC with Z into buf (at least 21 bytes); false when t is outside
 * the years the format can hold. */
bool jt_calibration_format_timestamp(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return false;
    if (tm.tm_year + 1900 < MIN_YEAR || tm.tm_year + 1900 > MAX_YEAR)
        return false;
    return strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) != 0;
}

/* ---- validation (shared by load and save) -------------------------------- */

static jt_status_t check_watts(double v, const char *field, jt_error_t *err)
{
    if (!isfinite(v) || v < 0.0)
        return jt_error_set(err, JT_ERR_INVALID, field, "expected a finite number >= 0, got %g", v);
    return JT_OK;
}

/* Semantic checks on a filled struct: ranges, names, the package domain. */
jt_status_t jt_calibration_validate(const jt_calibration_t *c, jt_error_t *err)
{
    jt_status_t s;
    if (c->socket_id < 0 || c->socket_id > JT_CALIBRATION_ID_MAX)
        return jt_error_set(err, JT_ERR_INVALID, "socket_id", "expected an integer in 0..%d",
                            JT_CALIBRATION_ID_MAX);
    if (c->measurement_core < 0 || c->measurement_core > JT_CALIBRATION_ID_MAX)
        return jt_error_set(err, JT_ERR_INVALID, "measurement_core", "expected an integer in 0..%d",
                            JT_CALIBRATION_ID_MAX);
    if (!jt_calibration_in_list(c->meter_type, meter_types,
                                sizeof meter_types / sizeof meter_types[0]))
        return jt_error_set(err, JT_ERR_INVALID, "meter_type",
                            "expected \"rapl-sysfs\", \"rapl-perf\" or \"estimate\", got \"%s\"",
                            c->meter_type);
    if ((s = check_watts(c->idle_power_watts, "idle_power_watts", err)) != JT_OK)
        return s;
    if (c->n_domains > JT_METER_MAX_DOMAINS)
        return jt_error_set(err, JT_ERR_TOO_LARGE, "domains", "more than %d domains",
                            JT_METER_MAX_DOMAINS);
    bool have_package = false;
    for (size_t i = 0; i < c->n_domains; i++) {
        const jt_calibration_domain_t *d = &c->domains[i];
        char field[64];
        if (strnlen(d->name, sizeof d->name) == sizeof d->name ||
            !jt_calibration_in_list(d->name, jt_calibration_domain_names,
                                    JT_CALIBRATION_N_DOMAIN_NAMES))
            return jt_error_set(err, JT_ERR_INVALID, "domains",
                                "unknown domain (expected package, dram, core, uncore, psys)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->domains[j].name, d->name) == 0)
                return jt_error_set(err, JT_ERR_INVALID, "domains", "domain %s appears twice",
                                    d->name);
        have_package |= strcmp(d->name, "package") == 0;
        snprintf(field, sizeof field, "domains.%s.median_watts", d->name);
        if ((s = check_watts(d->median_watts, field, err)) != JT_OK)
            return s;
        snprintf(field, sizeof field, "domains.%s.mean_watts", d->name);
        if ((s = check_watts(d->mean_watts, field, err)) != JT_OK)
            return s;
        snprintf(field, sizeof field, "domains.%s.stddev_watts", d->name);
        if ((s = check_watts(d->stddev_watts, field, err)) != JT_OK)
            return s;
    }
    if (!have_package)
        return jt_error_set(err, JT_ERR_MISSING, "domains.package",
                            "the package domain is required");
    if ((s = check_watts(c->cv_percent, "cv_percent", err)) != JT_OK)
        return s;
    if (c->samples < 1)
        return jt_error_set(err, JT_ERR_INVALID, "samples", "expected an integer >= 1");
    if (!isfinite(c->duration_seconds) || c->duration_seconds <= 0.0)
        return jt_error_set(err, JT_ERR_INVALID, "duration_seconds",
                            "expected a finite number > 0");
    char ts[32];
    if (!jt_calibration_format_timestamp(c->timestamp, ts, sizeof ts))
        return jt_error_set(err, JT_ERR_INVALID, "timestamp", "outside years %d..%d", MIN_YEAR,
                            MAX_YEAR);
    if (c->valid_until_days < 1 || c->valid_until_days > JT_CALIBRATION_MAX_VALID_DAYS)
        return jt_error_set(err, JT_ERR_INVALID, "valid_until_days", "expected an integer in 1..%d",
                            JT_CALIBRATION_MAX_VALID_DAYS);
    size_t hl = strnlen(c->host, sizeof c->host);
    if (hl == 0 || hl == sizeof c->host)
        return jt_error_set(err, JT_ERR_INVALID, "host", "expected 1..%zu bytes",
                            sizeof c->host - 1);
    /* The name goes into log lines and reasons: no control characters. */
    for (size_t i = 0; i < hl; i++)
        if ((unsigned char)c->host[i] < 0x20 || c->host[i] == 0x7f)
            return jt_error_set(err, JT_ERR_INVALID, "host", "contains a control character");
    return JT_OK;
}
