/* fuzz_calibration.c -- libFuzzer target: the calibration file (jt_calibration_load and the
 * freshness rule) on arbitrary bytes.
 *
 * Each input is written to a file in a private temporary folder (on /dev/shm when there
 * is one, so that jt_calibration_save's fsync costs nothing). A refused file must say why;
 * an accepted one must hold only values the record's rules allow, save and load back to
 * the same record, and be fresh exactly within its validity on its own host.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "calibration.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY_SECONDS 86400
#define SKEW_SECONDS 60 /* calibration.c accepts a timestamp this far ahead as "now" */

static char dir_path[256];
static char in_path[512];
static char out_path[512];

static void remove_files(void)
{
    unlink(in_path);
    unlink(out_path);
    rmdir(dir_path);
}

/* The private folder and the two file names, made once per process. */
static void make_paths(void)
{
    if (dir_path[0] != '\0')
        return;
    struct stat st;
    const char *base =
        stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
            ? "/dev/shm"
            : "/tmp";
    snprintf(dir_path, sizeof dir_path, "%s/jt-fuzz-calibration-XXXXXX", base);
    if (mkdtemp(dir_path) == NULL)
        abort();
    snprintf(in_path, sizeof in_path, "%s/in.json", dir_path);
    snprintf(out_path, sizeof out_path, "%s/out.json", dir_path);
    atexit(remove_files);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    close(fd);
}

static bool same_record(const jt_calibration_t *a, const jt_calibration_t *b)
{
    if (a->socket_id != b->socket_id || a->measurement_core != b->measurement_core ||
        strcmp(a->meter_type, b->meter_type) != 0 || a->n_domains != b->n_domains ||
        a->samples != b->samples || a->timestamp != b->timestamp ||
        a->valid_until_days != b->valid_until_days || strcmp(a->host, b->host) != 0)
        return false;
    const double xa[3] = {a->idle_power_watts, a->cv_percent, a->duration_seconds};
    const double xb[3] = {b->idle_power_watts, b->cv_percent, b->duration_seconds};
    if (memcmp(xa, xb, sizeof xa) != 0)
        return false;
    for (size_t i = 0; i < a->n_domains; i++) {
        const jt_calibration_domain_t *da = &a->domains[i], *db = &b->domains[i];
        if (strcmp(da->name, db->name) != 0 || memcmp(&da->median_watts, &db->median_watts, 8) ||
            memcmp(&da->mean_watts, &db->mean_watts, 8) ||
            memcmp(&da->stddev_watts, &db->stddev_watts, 8))
            return false;
    }
    return true;
}

static bool watts_ok(double w)
{
    return isfinite(w) && w >= 0;
}

/* The rules of calibration.h and the record: ranges, names, one package domain first. */
static void check_record(const jt_calibration_t *c)
{
    static const char *const meters[] = {"rapl-sysfs", "rapl-perf", "estimate"};
    static const char *const domains[] = {"package", "dram", "core", "uncore", "psys"};
    char ts[32];
    bool meter_known = false;
    for (size_t i = 0; i < 3; i++)
        meter_known |= strcmp(c->meter_type, meters[i]) == 0;
    size_t host_len = strnlen(c->host, sizeof c->host);
    if (!meter_known || c->socket_id < 0 || c->socket_id > 65535 || c->measurement_core < 0 ||
        c->measurement_core > 65535 || c->n_domains < 1 || c->n_domains > 5 ||
        strcmp(c->domains[0].name, "package") != 0 || !watts_ok(c->idle_power_watts) ||
        !watts_ok(c->cv_percent) || c->samples < 1 || !isfinite(c->duration_seconds) ||
        c->duration_seconds <= 0 || c->valid_until_days < 1 || c->valid_until_days > 365 ||
        host_len == 0 || host_len == sizeof c->host ||
        !jt_calibration_format_timestamp(c->timestamp, ts, sizeof ts))
        abort();
    for (size_t i = 0; i < host_len; i++)
        if ((unsigned char)c->host[i] < 0x20 || c->host[i] == 0x7f)
            abort();
    size_t at = 0; /* domains come in the canonical order, each once */
    for (size_t i = 0; i < c->n_domains; i++) {
        const jt_calibration_domain_t *d = &c->domains[i];
        while (at < 5 && strcmp(d->name, domains[at]) != 0)
            at++;
        if (at == 5 || !watts_ok(d->median_watts) || !watts_ok(d->mean_watts) ||
            !watts_ok(d->stddev_watts) ||
            jt_calibration_domain_watts(c, d->name) != d->median_watts)
            abort();
        at++;
    }
    if (jt_calibration_domain_watts(c, "socket") != -1.0)
        abort();
}

/* jt_calibration_fresh on the input at time now for host: its verdict, a reason always. */
static bool fresh_at(time_t now, const char *host, jt_calibration_t *out)
{
    char reason[512];
    reason[0] = '\0';
    bool fresh = jt_calibration_fresh(in_path, now, host, out, reason, sizeof reason);
    if (reason[0] == '\0' || strnlen(reason, sizeof reason) == sizeof reason)
        abort();
    return fresh;
}

static void check_accepted(const jt_calibration_t *c)
{
    jt_calibration_t back;
    jt_error_t err;
    memset(&err, 0, sizeof err);
    check_record(c);
    /* A saved record loads back as it was (seconds of the timestamp, every bit of the numbers). */
    if (jt_calibration_save(out_path, c, &err) != JT_OK ||
        jt_calibration_load(out_path, &back, &err) != JT_OK || !same_record(c, &back))
        abort();
    /* Fresh on its host from SKEW_SECONDS before its timestamp to valid_until_days after. */
    time_t t = c->timestamp, valid = (time_t)c->valid_until_days * DAY_SECONDS;
    if (!fresh_at(t, c->host, &back) || !same_record(c, &back) ||
        !fresh_at(t - SKEW_SECONDS, c->host, NULL) || !fresh_at(t + valid, c->host, NULL) ||
        fresh_at(t + valid + 1, c->host, NULL) || fresh_at(t - SKEW_SECONDS - 1, c->host, NULL))
        abort();
    char other[sizeof c->host + 1];
    snprintf(other, sizeof other, "%sx", c->host);
    if (fresh_at(t, other, NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jt_calibration_t c;
    jt_error_t err;
    memset(&err, 0, sizeof err);
    make_paths();
    write_file(in_path, data, size);
    jt_status_t st = jt_calibration_load(in_path, &c, &err);
    if (st == JT_OK) {
        check_accepted(&c);
        return 0;
    }
    /* Checked as text only: the loader quotes the file's keys and jansson's messages as
     * they are, cut at a byte count, which need not be UTF-8. */
    fuzz_check_error(st, &err);
    if (st != JT_ERR_INVALID && st != JT_ERR_MISSING && st != JT_ERR_UNKNOWN_FIELD &&
        st != JT_ERR_TOO_LARGE)
        abort();
    if (fresh_at(time(NULL), NULL, NULL))
        abort();
    return 0;
}
