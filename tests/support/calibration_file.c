/* calibration_file.c -- the calibration tests' fixture: a directory, a sample, files by hand. */
#include "calibration_file.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_main.h"

int calib_setup(void **state)
{
    calib_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/jt_calib_XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/socket0_calibration.json", f->dir);
    *state = f;
    return 0;
}

int calib_teardown(void **state)
{
    calib_fixture_t *f = *state;
    DIR *d = opendir(f->dir);
    if (d != NULL) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

size_t entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

void sample(jt_calibration_t *c)
{
    memset(c, 0, sizeof *c);
    c->socket_id = 0;
    c->measurement_core = 4;
    snprintf(c->meter_type, sizeof c->meter_type, "rapl-sysfs");
    c->idle_power_watts = 12.5;
    c->n_domains = 2;
    c->domains[0] = (jt_calibration_domain_t){"package", 12.5, 12.75, 0.25};
    c->domains[1] = (jt_calibration_domain_t){"dram", 1.5, 0.1 + 0.2, 0.125};
    c->cv_percent = 2.0;
    c->samples = 3000;
    c->duration_seconds = 30.0;
    c->timestamp = T0;
    c->valid_until_days = 7;
    snprintf(c->host, sizeof c->host, HOST);
}

json_t *valid_json(void)
{
    json_t *j = json_pack(
        "{s:i, s:i, s:s, s:f, s:{s:{s:f, s:f, s:f}, s:{s:f, s:f, s:f}}, s:f, s:i, s:f, s:s, s:i, "
        "s:s}",
        "socket_id", 0, "measurement_core", 4, "meter_type", "rapl-sysfs", "idle_power_watts", 12.5,
        "domains", "package", "median_watts", 12.5, "mean_watts", 12.75, "stddev_watts", 0.25,
        "dram", "median_watts", 1.5, "mean_watts", 1.625, "stddev_watts", 0.125, "cv_percent", 2.0,
        "samples", 3000, "duration_seconds", 30.0, "timestamp", "2026-11-24T01:41:53Z",
        "valid_until_days", 7, "host", HOST);
    assert_non_null(j);
    return j;
}

void write_text(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

void write_json(const char *path, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    assert_non_null(text);
    write_text(path, text, strlen(text));
    free(text);
    json_decref(j);
}

char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

jt_error_t load_fails(const char *path, jt_status_t code, const char *field)
{
    jt_calibration_t c;
    jt_error_t err;
    memset(&err, 0, sizeof err);
    jt_status_t s = jt_calibration_load(path, &c, &err);
    if (s != code || strcmp(err.path, field) != 0)
        fail_msg("want %s at \"%s\", got %s at \"%s\": %s", jt_status_name(code), field,
                 jt_status_name(s), err.path, err.message);
    return err;
}

void load_ok(const char *path, jt_calibration_t *c)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    if (jt_calibration_load(path, c, &err) != JT_OK)
        fail_msg("load failed: %s: %s", err.path, err.message);
}

void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

void save_ok(const char *path, const jt_calibration_t *c)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    if (jt_calibration_save(path, c, &err) != JT_OK)
        fail_msg("save failed: %s: %s", err.path, err.message);
}
