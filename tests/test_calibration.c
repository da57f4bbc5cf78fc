/* test_calibration.c -- unit tests of the calibration file and its freshness rule
 * (shared/calibration.c). */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit_main.h"

#include "calibration.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-24T01:41:53Z (calendar.timegm in Python gives the same). */
#define T0 ((time_t)1795484513)
#define DAY 86400
#define HOST "calib-host"

typedef struct {
    char dir[64];
    char path[128]; /* dir/socket0_calibration.json */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
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

static int teardown(void **state)
{
    fixture_t *f = *state;
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

static size_t entries_in(const char *dir)
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

static void sample(jt_calibration_t *c)
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

/* A valid file as JSON, written independently of jt_calibration_save. */
static json_t *valid_json(void)
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

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Writes j (and releases it) to path. */
static void write_json(const char *path, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    assert_non_null(text);
    write_text(path, text, strlen(text));
    free(text);
    json_decref(j);
}

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* Loads path expecting failure with code and field; returns the error. */
static jt_error_t load_fails(const char *path, jt_status_t code, const char *field)
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

static void load_ok(const char *path, jt_calibration_t *c)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    if (jt_calibration_load(path, c, &err) != JT_OK)
        fail_msg("load failed: %s: %s", err.path, err.message);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void save_ok(const char *path, const jt_calibration_t *c)
{
    jt_error_t err;
    memset(&err, 0, sizeof err);
    if (jt_calibration_save(path, c, &err) != JT_OK)
        fail_msg("save failed: %s: %s", err.path, err.message);
}

static void round_trip(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c, back;
    sample(&c);
    save_ok(f->path, &c);
    load_ok(f->path, &back);
    assert_int_equal(back.socket_id, 0);
    assert_int_equal(back.measurement_core, 4);
    assert_string_equal(back.meter_type, "rapl-sysfs");
    assert_true(back.idle_power_watts == 12.5);
    assert_int_equal(back.n_domains, 2);
    assert_string_equal(back.domains[0].name, "package");
    assert_true(back.domains[0].median_watts == 12.5);
    assert_true(back.domains[0].mean_watts == 12.75);
    assert_true(back.domains[0].stddev_watts == 0.25);
    assert_string_equal(back.domains[1].name, "dram");
    assert_true(back.domains[1].mean_watts == 0.1 + 0.2); /* 17 digits: exact */
    assert_true(back.cv_percent == 2.0);
    assert_int_equal(back.samples, 3000);
    assert_true(back.duration_seconds == 30.0);
    assert_true(back.timestamp == T0);
    assert_int_equal(back.valid_until_days, 7);
    assert_string_equal(back.host, HOST);
    assert_true(jt_calibration_domain_watts(&back, "package") == 12.5);
    assert_true(jt_calibration_domain_watts(&back, "dram") == 1.5);
    assert_true(jt_calibration_domain_watts(&back, "psys") == -1.0);
    assert_true(jt_calibration_domain_watts(NULL, "package") == -1.0);
}

static void save_pretty_atomic(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c;
    sample(&c);
    save_ok(f->path, &c);
    const char *text = read_text(f->path);
    assert_contains(text, "\"timestamp\": \"2026-11-24T01:41:53Z\"");
    assert_contains(text, "{\n  \"socket_id\": 0,\n  \"measurement_core\": 4,");
    assert_contains(text, "\"domains\": {\n    \"package\": {\n      \"median_watts\": 12.5,");
    assert_true(text[strlen(text) - 1] == '\n');
    /* Replacing keeps one file: the temporary was renamed, not left behind. */
    c.idle_power_watts = 13.0;
    save_ok(f->path, &c);
    assert_int_equal(entries_in(f->dir), 1);
    jt_calibration_t back;
    load_ok(f->path, &back);
    assert_true(back.idle_power_watts == 13.0);
    /* A directory that does not exist: IO error and nothing created. */
    char bad[256];
    snprintf(bad, sizeof bad, "%s/no/such/dir.json", f->dir);
    jt_error_t err;
    assert_int_equal(jt_calibration_save(bad, &c, &err), JT_ERR_IO);
    assert_int_equal(entries_in(f->dir), 1);
}

static void save_rejects_invalid(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c;
    jt_error_t err;
    sample(&c);
    c.domains[1].stddev_watts = NAN;
    assert_int_equal(jt_calibration_save(f->path, &c, &err), JT_ERR_INVALID);
    assert_string_equal(err.path, "domains.dram.stddev_watts");
    sample(&c);
    snprintf(c.domains[1].name, sizeof c.domains[1].name, "gpu");
    assert_int_equal(jt_calibration_save(f->path, &c, &err), JT_ERR_INVALID);
    sample(&c);
    c.host[0] = '\0';
    assert_int_equal(jt_calibration_save(f->path, &c, &err), JT_ERR_INVALID);
    assert_string_equal(err.path, "host");
    sample(&c);
    c.n_domains = 1;
    snprintf(c.domains[0].name, sizeof c.domains[0].name, "dram");
    assert_int_equal(jt_calibration_save(f->path, &c, &err), JT_ERR_MISSING);
    assert_string_equal(err.path, "domains.package");
    assert_int_equal(entries_in(f->dir), 0);
}

static void load_hand_written(void **state)
{
    fixture_t *f = *state;
    /* As a person might write it: integer watts, dram before package. */
    static const char text[] =
        "{\"socket_id\": 1, \"measurement_core\": 7, \"meter_type\": \"estimate\",\n"
        " \"idle_power_watts\": 20,\n"
        " \"domains\": {\"dram\": {\"median_watts\": 2, \"mean_watts\": 2.5, \"stddev_watts\": "
        "0},\n"
        "             \"package\": {\"median_watts\": 20, \"mean_watts\": 21, \"stddev_watts\": "
        "1}},\n"
        " \"cv_percent\": 0, \"samples\": 1, \"duration_seconds\": 0.5,\n"
        " \"timestamp\": \"2024-02-29T12:00:00Z\", \"valid_until_days\": 365, \"host\": \"h\"}";
    write_text(f->path, text, strlen(text));
    jt_calibration_t c;
    load_ok(f->path, &c);
    assert_int_equal(c.socket_id, 1);
    assert_string_equal(c.meter_type, "estimate");
    assert_true(c.idle_power_watts == 20.0);
    assert_int_equal(c.n_domains, 2);
    assert_string_equal(c.domains[0].name, "package"); /* package first, whatever the file order */
    assert_true(c.domains[0].mean_watts == 21.0);
    assert_string_equal(c.domains[1].name, "dram");
    assert_true(c.timestamp == (time_t)1709208000); /* leap day, timegm in Python */
    assert_int_equal(c.valid_until_days, 365);
}

static void fresh_exactly_valid_days(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c, out;
    sample(&c);
    save_ok(f->path, &c);
    char reason[256] = "";
    memset(&out, 0, sizeof out);
    assert_true(jt_calibration_fresh(f->path, T0 + 7 * DAY, HOST, &out, reason, sizeof reason));
    assert_true(out.timestamp == T0);
    assert_string_equal(out.host, HOST);
    assert_contains(reason, "7.0 days old");
    /* Same moment, nothing to report back into: still fine. */
    assert_true(jt_calibration_fresh(f->path, T0 + 7 * DAY, HOST, NULL, NULL, 0));
    assert_true(jt_calibration_fresh(f->path, T0, HOST, NULL, NULL, 0));
}

static void stale_one_second_past(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c, out;
    sample(&c);
    save_ok(f->path, &c);
    char reason[256];
    memset(&out, 0x5a, sizeof out);
    jt_calibration_t before = out;
    assert_false(
        jt_calibration_fresh(f->path, T0 + 7 * DAY + 1, HOST, &out, reason, sizeof reason));
    assert_memory_equal(&out, &before, sizeof out);
    assert_contains(reason, "calibration is 7.0 days old");
    assert_contains(reason, "valid 7 days");
    assert_contains(reason, "2026-11-24T01:41:53Z");
    assert_contains(reason, "run `jouletrace-worker calibrate`");
    /* valid_until_days is honoured, not the default of 7. */
    c.valid_until_days = 1;
    save_ok(f->path, &c);
    assert_true(jt_calibration_fresh(f->path, T0 + DAY, HOST, NULL, NULL, 0));
    assert_false(jt_calibration_fresh(f->path, T0 + DAY + 1, HOST, NULL, reason, sizeof reason));
    assert_contains(reason, "(made 2026-11-24T01:41:53Z, valid 1 day)");
}

static void future_beyond_skew(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c;
    sample(&c);
    save_ok(f->path, &c);
    char reason[256];
    assert_false(jt_calibration_fresh(f->path, T0 - 61, HOST, NULL, reason, sizeof reason));
    assert_contains(reason, "calibration timestamp 2026-11-24T01:41:53Z is in the future");
    assert_false(jt_calibration_fresh(f->path, T0 - 30 * DAY, HOST, NULL, reason, sizeof reason));
    assert_contains(reason, "in the future");
}

static void future_within_skew(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c;
    sample(&c);
    save_ok(f->path, &c);
    char reason[256];
    /* Up to 60 s ahead of this clock is tolerated and counts as age 0. */
    assert_true(jt_calibration_fresh(f->path, T0 - 60, HOST, NULL, reason, sizeof reason));
    assert_contains(reason, "0.0 days old");
    assert_true(jt_calibration_fresh(f->path, T0 - 1, HOST, NULL, NULL, 0));
}

static void malformed_json(void **state)
{
    fixture_t *f = *state;
    static const char *const texts[] = {
        "",                                     /* empty file */
        "{\"socket_id\": 0,",                   /* truncated */
        "[1, 2, 3]",                            /* not an object */
        "{\"socket_id\": 0} trailing",          /* bytes after the value */
        "{\"socket_id\": 0, \"socket_id\": 1}", /* duplicate key */
        "{\"idle_power_watts\": NaN}",          /* not JSON */
        "{\"idle_power_watts\": 1e999}",        /* overflows a double */
        "\xef\xbb\xbf{}",                       /* byte-order mark */
    };
    for (size_t i = 0; i < N_OF(texts); i++) {
        write_text(f->path, texts[i], strlen(texts[i]));
        load_fails(f->path, JT_ERR_INVALID, "");
        char reason[512];
        assert_false(jt_calibration_fresh(f->path, T0, HOST, NULL, reason, sizeof reason));
        assert_contains(reason, "is malformed: ");
        assert_contains(reason, f->path);
    }
    /* A NUL inside the text. */
    static const char nul[] = "{\"host\": \"a\\u0000b\"}";
    write_text(f->path, nul, sizeof nul - 1);
    load_fails(f->path, JT_ERR_INVALID, "");
}

static void each_missing_field(void **state)
{
    fixture_t *f = *state;
    json_t *proto = valid_json();
    const char *key;
    json_t *v;
    json_object_foreach(proto, key, v)
    {
        (void)v;
        json_t *j = json_deep_copy(proto);
        json_object_del(j, key);
        write_json(f->path, j);
        load_fails(f->path, JT_ERR_MISSING, key);
        char reason[512], want[128];
        assert_false(jt_calibration_fresh(f->path, T0, HOST, NULL, reason, sizeof reason));
        snprintf(want, sizeof want, "is malformed: %s: required field is missing", key);
        assert_contains(reason, want);
    }
    static const char *const sub[] = {"median_watts", "mean_watts", "stddev_watts"};
    for (size_t i = 0; i < N_OF(sub); i++) {
        json_t *j = json_deep_copy(proto);
        json_object_del(json_object_get(json_object_get(j, "domains"), "dram"), sub[i]);
        write_json(f->path, j);
        char field[64];
        snprintf(field, sizeof field, "domains.dram.%s", sub[i]);
        load_fails(f->path, JT_ERR_MISSING, field);
    }
    /* The package domain itself is required; dram is not. */
    json_t *j = json_deep_copy(proto);
    json_object_del(json_object_get(j, "domains"), "package");
    write_json(f->path, j);
    load_fails(f->path, JT_ERR_MISSING, "domains.package");
    j = json_deep_copy(proto);
    json_object_del(json_object_get(j, "domains"), "dram");
    write_json(f->path, j);
    jt_calibration_t c;
    load_ok(f->path, &c);
    assert_int_equal(c.n_domains, 1);
    assert_true(jt_calibration_domain_watts(&c, "dram") == -1.0);
    json_decref(proto);
}

static void wrong_types(void **state)
{
    fixture_t *f = *state;
    json_t *proto = valid_json();
    static const struct {
        const char *key;
        const char *field;
        const char *value; /* JSON text of the wrong value */
    } cases[] = {
        {"socket_id", "socket_id", "\"0\""},
        {"socket_id", "socket_id", "0.5"},
        {"measurement_core", "measurement_core", "true"},
        {"meter_type", "meter_type", "1"},
        {"idle_power_watts", "idle_power_watts", "\"12.5\""},
        {"idle_power_watts", "idle_power_watts", "null"},
        {"domains", "domains", "[]"},
        {"cv_percent", "cv_percent", "{}"},
        {"samples", "samples", "3000.0"},
        {"duration_seconds", "duration_seconds", "\"30\""},
        {"timestamp", "timestamp", "1795484513"},
        {"valid_until_days", "valid_until_days", "7.0"},
        {"host", "host", "[\"calib-host\"]"},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        json_t *j = json_deep_copy(proto);
        json_t *bad = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
        assert_non_null(bad);
        json_object_set_new(j, cases[i].key, bad);
        write_json(f->path, j);
        load_fails(f->path, JT_ERR_INVALID, cases[i].field);
    }
    /* Inside a domain. */
    json_t *j = json_deep_copy(proto);
    json_object_set_new(json_object_get(json_object_get(j, "domains"), "package"), "mean_watts",
                        json_string("12"));
    write_json(f->path, j);
    load_fails(f->path, JT_ERR_INVALID, "domains.package.mean_watts");
    j = json_deep_copy(proto);
    json_object_set_new(json_object_get(j, "domains"), "dram", json_real(1.5));
    write_json(f->path, j);
    load_fails(f->path, JT_ERR_INVALID, "domains.dram");
    json_decref(proto);
}

static void bad_values_and_unknown_fields(void **state)
{
    fixture_t *f = *state;
    json_t *proto = valid_json();
    static const struct {
        const char *key;
        const char *value;
    } cases[] = {
        {"socket_id", "-1"},
        {"measurement_core", "65536"},
        {"meter_type", "\"auto\""},
        {"meter_type", "\"\""},
        {"idle_power_watts", "-0.5"},
        {"cv_percent", "-1"},
        {"samples", "0"},
        {"duration_seconds", "0"},
        {"valid_until_days", "0"},
        {"valid_until_days", "366"},
        {"host", "\"\""},
        {"host", "\"a\\nb\""},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        json_t *j = json_deep_copy(proto);
        json_object_set_new(j, cases[i].key, json_loads(cases[i].value, JSON_DECODE_ANY, NULL));
        write_json(f->path, j);
        load_fails(f->path, JT_ERR_INVALID, cases[i].key);
    }
    /* Boundaries that are accepted. */
    json_t *j = json_deep_copy(proto);
    json_object_set_new(j, "valid_until_days", json_integer(365));
    json_object_set_new(j, "idle_power_watts", json_real(0.0));
    write_json(f->path, j);
    jt_calibration_t c;
    load_ok(f->path, &c);
    /* A host name of 256 bytes does not fit. */
    char longhost[300];
    memset(longhost, 'h', 256);
    longhost[256] = '\0';
    j = json_deep_copy(proto);
    json_object_set_new(j, "host", json_string(longhost));
    write_json(f->path, j);
    load_fails(f->path, JT_ERR_INVALID, "host");
    /* Unknown fields: top level, domain name, inside a domain. */
    j = json_deep_copy(proto);
    json_object_set_new(j, "comment", json_string("hi"));
    write_json(f->path, j);
    load_fails(f->path, JT_ERR_UNKNOWN_FIELD, "comment");
    j = json_deep_copy(proto);
    json_object_set_new(json_object_get(j, "domains"), "gpu",
                        json_deep_copy(json_object_get(json_object_get(j, "domains"), "dram")));
    write_json(f->path, j);
    load_fails(f->path, JT_ERR_UNKNOWN_FIELD, "domains.gpu");
    j = json_deep_copy(proto);
    json_object_set_new(json_object_get(json_object_get(j, "domains"), "package"), "p99_watts",
                        json_real(1.0));
    write_json(f->path, j);
    load_fails(f->path, JT_ERR_UNKNOWN_FIELD, "domains.package.p99_watts");
    json_decref(proto);
}

static void foreign_host(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c;
    sample(&c);
    save_ok(f->path, &c);
    char reason[256];
    assert_false(jt_calibration_fresh(f->path, T0, "other-box", NULL, reason, sizeof reason));
    assert_contains(reason, "calibration was made on host calib-host, this is other-box");
    /* Exact comparison: a prefix is another host. */
    assert_false(jt_calibration_fresh(f->path, T0, "calib-host2", NULL, NULL, 0));
}

static void host_null_uses_gethostname(void **state)
{
    fixture_t *f = *state;
    char here[256];
    assert_int_equal(gethostname(here, sizeof here), 0);
    here[sizeof here - 1] = '\0';
    jt_calibration_t c;
    sample(&c);
    snprintf(c.host, sizeof c.host, "%s", here);
    save_ok(f->path, &c);
    char reason[256];
    if (!jt_calibration_fresh(f->path, T0, NULL, NULL, reason, sizeof reason))
        fail_msg("not fresh: %s", reason);
    snprintf(c.host, sizeof c.host, "elsewhere-%.200s", here);
    save_ok(f->path, &c);
    assert_false(jt_calibration_fresh(f->path, T0, NULL, NULL, reason, sizeof reason));
    assert_contains(reason, "this is ");
}

static void file_too_large(void **state)
{
    fixture_t *f = *state;
    json_t *j = valid_json();
    char *text = json_dumps(j, 0);
    json_decref(j);
    assert_non_null(text);
    size_t len = strlen(text);
    /* Exactly the limit (valid JSON followed by whitespace) is accepted ... */
    char *big = malloc(JT_CALIBRATION_MAX_FILE_BYTES + 2);
    assert_non_null(big);
    memcpy(big, text, len);
    memset(big + len, ' ', JT_CALIBRATION_MAX_FILE_BYTES + 1 - len);
    write_text(f->path, big, JT_CALIBRATION_MAX_FILE_BYTES);
    jt_calibration_t c;
    load_ok(f->path, &c);
    /* ... one byte more is not, whatever it holds. */
    write_text(f->path, big, JT_CALIBRATION_MAX_FILE_BYTES + 1);
    load_fails(f->path, JT_ERR_TOO_LARGE, "");
    char reason[256];
    assert_false(jt_calibration_fresh(f->path, T0, HOST, NULL, reason, sizeof reason));
    assert_contains(reason, "is malformed: file is larger than 65536 bytes");
    free(big);
    free(text);
}

static void missing_file(void **state)
{
    fixture_t *f = *state;
    jt_calibration_t c;
    jt_error_t err;
    assert_int_equal(jt_calibration_load(f->path, &c, &err), JT_ERR_IO);
    char reason[256], want[256];
    assert_false(jt_calibration_fresh(f->path, T0, HOST, NULL, reason, sizeof reason));
    snprintf(want, sizeof want, "calibration file %s not found; run `jouletrace-worker calibrate`",
             f->path);
    assert_string_equal(reason, want);
    /* A directory in its place cannot be read. */
    assert_int_equal(jt_calibration_load(f->dir, &c, &err), JT_ERR_IO);
    assert_false(jt_calibration_fresh(f->dir, T0, HOST, NULL, reason, sizeof reason));
    assert_contains(reason, "unreadable");
}

static void set_timestamp(const char *path, const char *ts)
{
    json_t *j = valid_json();
    json_object_set_new(j, "timestamp", json_string(ts));
    write_json(path, j);
}

static void fractional_timestamp(void **state)
{
    fixture_t *f = *state;
    static const char *const ok[] = {
        "2026-11-24T01:41:53.5Z",
        "2026-11-24T01:41:53.987654Z",
        "2026-11-24T01:41:53.000000000Z",
    };
    for (size_t i = 0; i < N_OF(ok); i++) {
        set_timestamp(f->path, ok[i]);
        jt_calibration_t c;
        load_ok(f->path, &c);
        assert_true(c.timestamp == T0); /* the fraction is dropped, never rounded up */
    }
    static const char *const bad[] = {
        "2026-11-24T01:41:53.Z",
        "2026-11-24T01:41:53.1234567890Z",
        "2026-11-24T01:41:53,5Z",
    };
    for (size_t i = 0; i < N_OF(bad); i++) {
        set_timestamp(f->path, bad[i]);
        load_fails(f->path, JT_ERR_INVALID, "timestamp");
    }
}

static void non_utc_rejected(void **state)
{
    fixture_t *f = *state;
    static const char *const bad[] = {
        "2026-11-24T01:41:53+00:00", "2026-11-24T03:41:53+02:00",
        "2026-11-24T01:41:53-0500",  "2026-11-24T01:41:53",
        "2026-11-24T01:41:53z",      "2026-11-24 01:41:53Z",
        "2026-11-24T01:41:53ZZ",     "2026-11-24",
        "2026-02-29T00:00:00Z",      "2026-13-01T00:00:00Z",
        "2026-11-31T00:00:00Z",      "2026-11-24T24:00:00Z",
        "2026-11-24T01:60:00Z",      "2026-11-24T01:41:60Z",
        "1969-12-31T23:59:59Z",      "+2026-11-24T01:41:53Z",
        "2026-1-24T01:41:53Z",       "",
    };
    for (size_t i = 0; i < N_OF(bad); i++) {
        set_timestamp(f->path, bad[i]);
        jt_error_t err = load_fails(f->path, JT_ERR_INVALID, "timestamp");
        assert_contains(err.message, "Z");
    }
}

static void timezone_independent(void **state)
{
    fixture_t *f = *state;
    const char *old = getenv("TZ");
    char saved[128] = "";
    if (old != NULL)
        snprintf(saved, sizeof saved, "%s", old);
    /* A zone far from UTC, with DST: mktime would be off by hours here. */
    assert_int_equal(setenv("TZ", "NZST-12NZDT,M9.5.0,M4.1.0/3", 1), 0);
    tzset();
    set_timestamp(f->path, "2026-11-24T01:41:53Z");
    jt_calibration_t c;
    load_ok(f->path, &c);
    assert_true(c.timestamp == T0);
    /* And the writer prints UTC as well. */
    save_ok(f->path, &c);
    assert_contains(read_text(f->path), "\"2026-11-24T01:41:53Z\"");
    if (old != NULL)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
}

static void failure_leaves_out_untouched(void **state)
{
    fixture_t *f = *state;
    json_t *j = valid_json();
    json_object_set_new(j, "host", json_integer(3)); /* the last field parsed */
    write_json(f->path, j);
    jt_calibration_t c, before;
    memset(&c, 0x5a, sizeof c);
    before = c;
    jt_error_t err;
    assert_int_equal(jt_calibration_load(f->path, &c, &err), JT_ERR_INVALID);
    assert_memory_equal(&c, &before, sizeof c);
    assert_false(jt_calibration_fresh(f->path, T0, HOST, &c, NULL, 0));
    assert_memory_equal(&c, &before, sizeof c);
}

#define CASE(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static const struct CMUnitTest tests[] = {
    CASE(round_trip),
    CASE(save_pretty_atomic),
    CASE(save_rejects_invalid),
    CASE(load_hand_written),
    CASE(fresh_exactly_valid_days),
    CASE(stale_one_second_past),
    CASE(future_beyond_skew),
    CASE(future_within_skew),
    CASE(malformed_json),
    CASE(each_missing_field),
    CASE(wrong_types),
    CASE(bad_values_and_unknown_fields),
    CASE(foreign_host),
    CASE(host_null_uses_gethostname),
    CASE(file_too_large),
    CASE(missing_file),
    CASE(fractional_timestamp),
    CASE(non_utc_rejected),
    CASE(timezone_independent),
    CASE(failure_leaves_out_untouched),
};

JT_UNIT_MAIN(tests)
