/* test_calibration_fields.c -- unit tests of the calibration file's fields: refused JSON, types,
 * values, size, and the UTC timestamp. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit_main.h"

#include "calibration.h"
#include "calibration_file.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void malformed_json(void **state)
{
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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

static void file_too_large(void **state)
{
    calib_fixture_t *f = *state;
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

static void set_timestamp(const char *path, const char *ts)
{
    json_t *j = valid_json();
    json_object_set_new(j, "timestamp", json_string(ts));
    write_json(path, j);
}

static void fractional_timestamp(void **state)
{
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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

#define CASE(name) cmocka_unit_test_setup_teardown(name, calib_setup, calib_teardown)

static const struct CMUnitTest tests[] = {
    CASE(malformed_json),   CASE(each_missing_field),
    CASE(wrong_types),      CASE(bad_values_and_unknown_fields),
    CASE(file_too_large),   CASE(fractional_timestamp),
    CASE(non_utc_rejected), CASE(timezone_independent),
};

JT_UNIT_MAIN(tests)
