/* test_calibration.c -- unit tests of the calibration file (shared/energy/calibration.c): save,
 * load, and its freshness rule. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit_main.h"

#include "calibration.h"
#include "calibration_file.h"

static void round_trip(void **state)
{
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
    jt_calibration_t c;
    sample(&c);
    save_ok(f->path, &c);
    char reason[256];
    /* Up to 60 s ahead of this clock is tolerated and counts as age 0. */
    assert_true(jt_calibration_fresh(f->path, T0 - 60, HOST, NULL, reason, sizeof reason));
    assert_contains(reason, "0.0 days old");
    assert_true(jt_calibration_fresh(f->path, T0 - 1, HOST, NULL, NULL, 0));
}

static void foreign_host(void **state)
{
    calib_fixture_t *f = *state;
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
    calib_fixture_t *f = *state;
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

static void missing_file(void **state)
{
    calib_fixture_t *f = *state;
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

static void failure_leaves_out_untouched(void **state)
{
    calib_fixture_t *f = *state;
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

#define CASE(name) cmocka_unit_test_setup_teardown(name, calib_setup, calib_teardown)

static const struct CMUnitTest tests[] = {
    CASE(round_trip),
    CASE(save_pretty_atomic),
    CASE(save_rejects_invalid),
    CASE(load_hand_written),
    CASE(fresh_exactly_valid_days),
    CASE(stale_one_second_past),
    CASE(future_beyond_skew),
    CASE(future_within_skew),
    CASE(foreign_host),
    CASE(host_null_uses_gethostname),
    CASE(missing_file),
    CASE(failure_leaves_out_untouched),
};

JT_UNIT_MAIN(tests)
