/* calibration.c -- load, validate and atomically save the idle-power calibration file; freshness.
 *
 * Runs on whichever thread calls it; no shared state. The file is ours, so
 * the reader is strict: every field is required and typed, unknown fields
 * are rejected, and a file is at most JT_CALIBRATION_MAX_FILE_BYTES.
 */
#include "calibration.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A clock may be a little ahead on the machine that calibrated (or behind
 * here): a timestamp at most this far in the future is accepted as "now". */
#define CLOCK_SKEW_SECONDS 60

#define ID_MAX 65535 /* bound on socket_id and measurement_core */
#define MAX_VALID_DAYS 365
#define MIN_YEAR 1970
#define MAX_YEAR 9999 /* the format has four year digits */
#define CALIBRATE_HINT "run `jouletrace-worker calibrate`"

/* The kinds a meter can actually open (never "auto") and the domain names,
 * as jt_meter_kind_name / jt_domain_name spell them. */
static const char *const meter_types[] = {"rapl-sysfs", "rapl-perf", "estimate"};
static const char *const domain_names[] = {"package", "dram", "core", "uncore", "psys"};
#define N_DOMAIN_NAMES (sizeof domain_names / sizeof domain_names[0])

static const char *const top_fields[] = {
    "socket_id", "measurement_core", "meter_type", "idle_power_watts", "domains", "cv_percent",
    "samples",   "duration_seconds", "timestamp",  "valid_until_days", "host",
};
static const char *const domain_fields[] = {"median_watts", "mean_watts", "stddev_watts"};

static bool in_list(const char *s, const char *const *list, size_t n)
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
static bool parse_timestamp(const char *s, size_t len, time_t *out)
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
static bool format_timestamp(time_t t, char *buf, size_t cap)
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
static jt_status_t validate(const jt_calibration_t *c, jt_error_t *err)
{
    jt_status_t s;
    if (c->socket_id < 0 || c->socket_id > ID_MAX)
        return jt_error_set(err, JT_ERR_INVALID, "socket_id", "expected an integer in 0..%d",
                            ID_MAX);
    if (c->measurement_core < 0 || c->measurement_core > ID_MAX)
        return jt_error_set(err, JT_ERR_INVALID, "measurement_core", "expected an integer in 0..%d",
                            ID_MAX);
    if (!in_list(c->meter_type, meter_types, sizeof meter_types / sizeof meter_types[0]))
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
            !in_list(d->name, domain_names, N_DOMAIN_NAMES))
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
    if (!format_timestamp(c->timestamp, ts, sizeof ts))
        return jt_error_set(err, JT_ERR_INVALID, "timestamp", "outside years %d..%d", MIN_YEAR,
                            MAX_YEAR);
    if (c->valid_until_days < 1 || c->valid_until_days > MAX_VALID_DAYS)
        return jt_error_set(err, JT_ERR_INVALID, "valid_until_days", "expected an integer in 1..%d",
                            MAX_VALID_DAYS);
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

/* ---- JSON -> struct ------------------------------------------------------ */

static jt_status_t get_field(json_t *obj, const char *key, const char *field, json_t **out,
                             jt_error_t *err)
{
    *out = json_object_get(obj, key);
    if (*out == NULL)
        return jt_error_set(err, JT_ERR_MISSING, field, "required field is missing");
    return JT_OK;
}

static jt_status_t get_int(json_t *obj, const char *key, long long min, long long max,
                           long long *out, jt_error_t *err)
{
    json_t *v;
    jt_status_t s = get_field(obj, key, key, &v, err);
    if (s != JT_OK)
        return s;
    if (!json_is_integer(v))
        return jt_error_set(err, JT_ERR_INVALID, key, "expected an integer");
    json_int_t x = json_integer_value(v);
    if (x < min || x > max)
        return jt_error_set(err, JT_ERR_INVALID, key, "expected an integer in %lld..%lld", min,
                            max);
    *out = x;
    return JT_OK;
}

/* A JSON number (integer or real) that is finite; ranges are checked by validate(). */
static jt_status_t get_number(json_t *obj, const char *key, const char *field, double *out,
                              jt_error_t *err)
{
    json_t *v;
    jt_status_t s = get_field(obj, key, field, &v, err);
    if (s != JT_OK)
        return s;
    if (!json_is_number(v))
        return jt_error_set(err, JT_ERR_INVALID, field, "expected a number");
    double x = json_number_value(v);
    if (!isfinite(x))
        return jt_error_set(err, JT_ERR_INVALID, field, "expected a finite number");
    *out = x;
    return JT_OK;
}

/* A string of 1..cap-1 bytes copied into dst. */
static jt_status_t get_string(json_t *obj, const char *key, char *dst, size_t cap, jt_error_t *err)
{
    json_t *v;
    jt_status_t s = get_field(obj, key, key, &v, err);
    if (s != JT_OK)
        return s;
    if (!json_is_string(v))
        return jt_error_set(err, JT_ERR_INVALID, key, "expected a string");
    size_t len = json_string_length(v);
    if (len == 0 || len >= cap)
        return jt_error_set(err, JT_ERR_INVALID, key, "expected a string of 1..%zu bytes", cap - 1);
    memcpy(dst, json_string_value(v), len + 1);
    return JT_OK;
}

static jt_status_t reject_unknown(json_t *obj, const char *prefix, const char *const *known,
                                  size_t n_known, jt_error_t *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        (void)v;
        if (!in_list(key, known, n_known)) {
            char field[128];
            snprintf(field, sizeof field, "%s%s%.64s", prefix, prefix[0] ? "." : "", key);
            return jt_error_set(err, JT_ERR_UNKNOWN_FIELD, field, "unknown field");
        }
    }
    return JT_OK;
}

static jt_status_t parse_domains(json_t *root, jt_calibration_t *c, jt_error_t *err)
{
    json_t *obj;
    jt_status_t s = get_field(root, "domains", "domains", &obj, err);
    if (s != JT_OK)
        return s;
    if (!json_is_object(obj))
        return jt_error_set(err, JT_ERR_INVALID, "domains", "expected an object");
    if ((s = reject_unknown(obj, "domains", domain_names, N_DOMAIN_NAMES, err)) != JT_OK)
        return s;
    /* Canonical order (package first, as meters report it), not file order. */
    for (size_t i = 0; i < N_DOMAIN_NAMES; i++) {
        json_t *d = json_object_get(obj, domain_names[i]);
        if (d == NULL)
            continue;
        char prefix[32], field[64];
        snprintf(prefix, sizeof prefix, "domains.%s", domain_names[i]);
        if (!json_is_object(d))
            return jt_error_set(err, JT_ERR_INVALID, prefix, "expected an object");
        if ((s = reject_unknown(d, prefix, domain_fields, 3, err)) != JT_OK)
            return s;
        jt_calibration_domain_t *dom = &c->domains[c->n_domains++];
        snprintf(dom->name, sizeof dom->name, "%s", domain_names[i]);
        double *dst[3] = {&dom->median_watts, &dom->mean_watts, &dom->stddev_watts};
        for (size_t k = 0; k < 3; k++) {
            snprintf(field, sizeof field, "%s.%s", prefix, domain_fields[k]);
            if ((s = get_number(d, domain_fields[k], field, dst[k], err)) != JT_OK)
                return s;
        }
    }
    return JT_OK;
}

static jt_status_t parse_root(json_t *root, jt_calibration_t *c, jt_error_t *err)
{
    jt_status_t s;
    long long v;
    if (!json_is_object(root))
        return jt_error_set(err, JT_ERR_INVALID, "", "expected a JSON object");
    if ((s = reject_unknown(root, "", top_fields, sizeof top_fields / sizeof top_fields[0], err)) !=
        JT_OK)
        return s;
    if ((s = get_int(root, "socket_id", 0, ID_MAX, &v, err)) != JT_OK)
        return s;
    c->socket_id = (int)v;
    if ((s = get_int(root, "measurement_core", 0, ID_MAX, &v, err)) != JT_OK)
        return s;
    c->measurement_core = (int)v;
    if ((s = get_string(root, "meter_type", c->meter_type, sizeof c->meter_type, err)) != JT_OK)
        return s;
    if ((s = get_number(root, "idle_power_watts", "idle_power_watts", &c->idle_power_watts, err)) !=
        JT_OK)
        return s;
    if ((s = parse_domains(root, c, err)) != JT_OK)
        return s;
    if ((s = get_number(root, "cv_percent", "cv_percent", &c->cv_percent, err)) != JT_OK)
        return s;
    if ((s = get_int(root, "samples", 1, LONG_MAX, &v, err)) != JT_OK)
        return s;
    c->samples = (long)v;
    if ((s = get_number(root, "duration_seconds", "duration_seconds", &c->duration_seconds, err)) !=
        JT_OK)
        return s;
    json_t *ts;
    if ((s = get_field(root, "timestamp", "timestamp", &ts, err)) != JT_OK)
        return s;
    if (!json_is_string(ts) ||
        !parse_timestamp(json_string_value(ts), json_string_length(ts), &c->timestamp))
        return jt_error_set(err, JT_ERR_INVALID, "timestamp",
                            "expected UTC \"YYYY-MM-DDTHH:MM:SS[.fraction]Z\"");
    if ((s = get_int(root, "valid_until_days", 1, MAX_VALID_DAYS, &v, err)) != JT_OK)
        return s;
    c->valid_until_days = (int)v;
    if ((s = get_string(root, "host", c->host, sizeof c->host, err)) != JT_OK)
        return s;
    return validate(c, err);
}

/* Reads at most JT_CALIBRATION_MAX_FILE_BYTES of path into a heap buffer the
 * caller frees. *sys_errno is the errno of a failed open (0 otherwise). */
static jt_status_t read_bounded(const char *path, char **buf_out, size_t *len_out, int *sys_errno,
                                jt_error_t *err)
{
    *sys_errno = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *sys_errno = errno;
        return jt_error_set(err, JT_ERR_IO, "", "cannot open %s: %s", path, strerror(errno));
    }
    jt_status_t s = JT_OK;
    size_t cap = JT_CALIBRATION_MAX_FILE_BYTES + 1; /* one more byte tells "too large" */
    size_t len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        s = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory reading %s", path);
        goto out;
    }
    while (len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            s = jt_error_set(err, JT_ERR_IO, "", "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > JT_CALIBRATION_MAX_FILE_BYTES) {
        s = jt_error_set(err, JT_ERR_TOO_LARGE, "", "file is larger than %d bytes",
                         JT_CALIBRATION_MAX_FILE_BYTES);
        goto out;
    }
    *buf_out = buf;
    *len_out = len;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return s;
}

static jt_status_t load_impl(const char *path, jt_calibration_t *out, int *sys_errno,
                             jt_error_t *err)
{
    char *buf = NULL;
    size_t len = 0;
    json_t *root = NULL;
    jt_calibration_t c;
    memset(&c, 0, sizeof c);

    jt_status_t s = read_bounded(path, &buf, &len, sys_errno, err);
    if (s != JT_OK)
        goto out;
    json_error_t jerr;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        s = jt_error_set(err, JT_ERR_INVALID, "", "not JSON: line %d column %d: %s", jerr.line,
                         jerr.column, jerr.text);
        goto out;
    }
    if ((s = parse_root(root, &c, err)) != JT_OK)
        goto out;
    *out = c;
out:
    json_decref(root);
    free(buf);
    return s;
}

jt_status_t jt_calibration_load(const char *path, jt_calibration_t *out, jt_error_t *err)
{
    int sys_errno;
    return load_impl(path, out, &sys_errno, err);
}

/* ---- struct -> JSON ------------------------------------------------------ */

/* json_object_set_new that remembers a failure instead of returning it, so the
 * builder reads as the file does. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static json_t *to_json(const jt_calibration_t *c, const char *ts)
{
    bool ok = true;
    json_t *root = json_object();
    json_t *domains = json_object();
    if (root == NULL || domains == NULL) {
        json_decref(root);
        json_decref(domains);
        return NULL;
    }
    put(root, "socket_id", json_integer(c->socket_id), &ok);
    put(root, "measurement_core", json_integer(c->measurement_core), &ok);
    put(root, "meter_type", json_string(c->meter_type), &ok);
    put(root, "idle_power_watts", json_real(c->idle_power_watts), &ok);
    for (size_t i = 0; i < c->n_domains; i++) {
        const jt_calibration_domain_t *d = &c->domains[i];
        json_t *dj = json_object();
        if (dj != NULL) {
            put(dj, "median_watts", json_real(d->median_watts), &ok);
            put(dj, "mean_watts", json_real(d->mean_watts), &ok);
            put(dj, "stddev_watts", json_real(d->stddev_watts), &ok);
        }
        put(domains, d->name, dj, &ok);
    }
    put(root, "domains", domains, &ok);
    put(root, "cv_percent", json_real(c->cv_percent), &ok);
    put(root, "samples", json_integer(c->samples), &ok);
    put(root, "duration_seconds", json_real(c->duration_seconds), &ok);
    put(root, "timestamp", json_string(ts), &ok);
    put(root, "valid_until_days", json_integer(c->valid_until_days), &ok);
    put(root, "host", json_string(c->host), &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static jt_status_t write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return JT_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return JT_OK;
}

/* Makes the rename itself durable; best effort (some filesystems refuse). */
static void sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

jt_status_t jt_calibration_save(const char *path, const jt_calibration_t *c, jt_error_t *err)
{
    jt_status_t s;
    json_t *root = NULL;
    char *text = NULL;
    int fd = -1;
    char tmp[PATH_MAX];
    bool tmp_made = false;

    /* Never write a file that jt_calibration_load would refuse. */
    if ((s = validate(c, err)) != JT_OK)
        return s;
    char ts[32];
    format_timestamp(c->timestamp, ts, sizeof ts); /* cannot fail after validate() */
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return jt_error_set(err, JT_ERR_IO, "", "path %s is too long", path);

    root = to_json(c, ts);
    /* 17 significant digits: numbers read back are the numbers written. */
    text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))
                : NULL;
    if (text == NULL) {
        s = jt_error_set(err, JT_ERR_NOMEM, "", "out of memory encoding the calibration");
        goto out;
    }
    /* A leftover from a crashed writer with our pid is ours to replace;
     * O_EXCL then refuses to follow anything planted at that name. */
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    tmp_made = true;
    if (write_all(fd, text, strlen(text)) != JT_OK || write_all(fd, "\n", 1) != JT_OK) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot close %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        s = jt_error_set(err, JT_ERR_IO, "", "cannot rename %s to %s: %s", tmp, path,
                         strerror(errno));
        goto out;
    }
    tmp_made = false;
    sync_parent_dir(path);
    s = JT_OK;
out:
    if (fd >= 0)
        close(fd);
    if (tmp_made)
        (void)unlink(tmp);
    free(text);
    json_decref(root);
    return s;
}

double jt_calibration_domain_watts(const jt_calibration_t *c, const char *name)
{
    if (c == NULL || name == NULL)
        return -1.0;
    for (size_t i = 0; i < c->n_domains && i < JT_METER_MAX_DOMAINS; i++)
        if (strcmp(c->domains[i].name, name) == 0)
            return c->domains[i].median_watts;
    return -1.0;
}

/* ---- freshness ----------------------------------------------------------- */

/* snprintf into reason when the caller gave room for one. */
static void say(char *reason, size_t reason_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *reason, size_t reason_len, const char *fmt, ...)
{
    if (reason == NULL || reason_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, reason_len, fmt, ap);
    va_end(ap);
}

/* A path of NULL means JT_CALIBRATION_DEFAULT_PATH; a host of NULL means this
 * machine's gethostname(). A timestamp up to CLOCK_SKEW_SECONDS ahead of now
 * counts as age 0. */
bool jt_calibration_fresh(const char *path, time_t now, const char *host, jt_calibration_t *out,
                          char *reason, size_t reason_len)
{
    if (path == NULL)
        path = JT_CALIBRATION_DEFAULT_PATH;
    char here[256];
    if (host == NULL) {
        if (gethostname(here, sizeof here) != 0) {
            say(reason, reason_len, "cannot determine this host's name: %s", strerror(errno));
            return false;
        }
        here[sizeof here - 1] = '\0';
        host = here;
    }

    jt_calibration_t c;
    jt_error_t err;
    memset(&err, 0, sizeof err);
    int sys_errno = 0;
    if (load_impl(path, &c, &sys_errno, &err) != JT_OK) {
        if (sys_errno == ENOENT)
            say(reason, reason_len, "calibration file %s not found; " CALIBRATE_HINT, path);
        else if (err.code == JT_ERR_IO || err.code == JT_ERR_NOMEM)
            say(reason, reason_len, "calibration file unreadable: %s", err.message);
        else
            say(reason, reason_len, "calibration file %s is malformed: %s%s%s; " CALIBRATE_HINT,
                path, err.path, err.path[0] ? ": " : "", err.message);
        return false;
    }
    if (strcmp(c.host, host) != 0) {
        say(reason, reason_len, "calibration was made on host %s, this is %s; " CALIBRATE_HINT,
            c.host, host);
        return false;
    }
    char ts[32];
    format_timestamp(c.timestamp, ts, sizeof ts);
    /* c.timestamp >= 0 after validation, so these subtractions cannot overflow. */
    if (now < c.timestamp - CLOCK_SKEW_SECONDS) {
        say(reason, reason_len,
            "calibration timestamp %s is in the future (more than %d s ahead of this clock); "
            "check the clock, then " CALIBRATE_HINT,
            ts, CLOCK_SKEW_SECONDS);
        return false;
    }
    double age = now > c.timestamp ? (double)(now - c.timestamp) : 0.0;
    double limit = (double)c.valid_until_days * 86400.0;
    if (age > limit) {
        say(reason, reason_len,
            "calibration is %.1f days old (made %s, valid %d day%s); " CALIBRATE_HINT,
            age / 86400.0, ts, c.valid_until_days, c.valid_until_days == 1 ? "" : "s");
        return false;
    }
    say(reason, reason_len, "calibration is %.1f days old (made %s, valid %d day%s)", age / 86400.0,
        ts, c.valid_until_days, c.valid_until_days == 1 ? "" : "s");
    if (out != NULL)
        *out = c;
    return true;
}
