/* calibration.c -- read the idle-power calibration file and decide whether it is fresh.
 *
 * Runs on whichever thread calls it; no shared state. The file is ours, so
 * the reader is strict: every field is required and typed, unknown fields
 * are rejected, and a file is at most JT_CALIBRATION_MAX_FILE_BYTES. The
 * record's rules are in calibration_record.c, the writer in calibration_write.c.
 */
#include "calibration.h"
#include "calibration_record.h"
#include "json_text.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A clock may be a little ahead on the machine that calibrated (or behind
 * here): a timestamp at most this far in the future is accepted as "now". */
#define CLOCK_SKEW_SECONDS 60

#define CALIBRATE_HINT "run `jouletrace-worker calibrate`"

static const char *const top_fields[] = {
    "socket_id", "measurement_core", "meter_type", "idle_power_watts", "domains", "cv_percent",
    "samples",   "duration_seconds", "timestamp",  "valid_until_days", "host",
};
static const char *const domain_fields[] = {"median_watts", "mean_watts", "stddev_watts"};

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

/* A JSON number (integer or real) that is finite; ranges are checked by jt_calibration_validate. */
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
        if (!jt_calibration_in_list(key, known, n_known)) {
            /* at most 64 bytes of the key, never half a UTF-8 character */
            size_t n = strlen(key);
            if (n > 64)
                for (n = 64; n > 0 && ((unsigned char)key[n] & 0xC0) == 0x80;)
                    n--;
            char field[128];
            snprintf(field, sizeof field, "%s%s%.*s", prefix, prefix[0] ? "." : "", (int)n, key);
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
    if ((s = reject_unknown(obj, "domains", jt_calibration_domain_names,
                            JT_CALIBRATION_N_DOMAIN_NAMES, err)) != JT_OK)
        return s;
    /* Canonical order (package first, as meters report it), not file order. */
    for (size_t i = 0; i < JT_CALIBRATION_N_DOMAIN_NAMES; i++) {
        json_t *d = json_object_get(obj, jt_calibration_domain_names[i]);
        if (d == NULL)
            continue;
        char prefix[32], field[64];
        snprintf(prefix, sizeof prefix, "domains.%s", jt_calibration_domain_names[i]);
        if (!json_is_object(d))
            return jt_error_set(err, JT_ERR_INVALID, prefix, "expected an object");
        if ((s = reject_unknown(d, prefix, domain_fields, 3, err)) != JT_OK)
            return s;
        jt_calibration_domain_t *dom = &c->domains[c->n_domains++];
        snprintf(dom->name, sizeof dom->name, "%s", jt_calibration_domain_names[i]);
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
    if ((s = get_int(root, "socket_id", 0, JT_CALIBRATION_ID_MAX, &v, err)) != JT_OK)
        return s;
    c->socket_id = (int)v;
    if ((s = get_int(root, "measurement_core", 0, JT_CALIBRATION_ID_MAX, &v, err)) != JT_OK)
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
    if (!json_is_string(ts) || !jt_calibration_parse_timestamp(
                                   json_string_value(ts), json_string_length(ts), &c->timestamp))
        return jt_error_set(err, JT_ERR_INVALID, "timestamp",
                            "expected UTC \"YYYY-MM-DDTHH:MM:SS[.fraction]Z\"");
    if ((s = get_int(root, "valid_until_days", 1, JT_CALIBRATION_MAX_VALID_DAYS, &v, err)) != JT_OK)
        return s;
    c->valid_until_days = (int)v;
    if ((s = get_string(root, "host", c->host, sizeof c->host, err)) != JT_OK)
        return s;
    return jt_calibration_validate(c, err);
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
        jt_json_error_text_ascii(jerr.text); /* it may quote the file's bytes */
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
    jt_calibration_format_timestamp(c.timestamp, ts, sizeof ts);
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
