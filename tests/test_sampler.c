/* test_sampler.c -- unit tests of the sampler thread: rate, prompt stop, bounded power timelines.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "unit_main.h"

#include "fake_rapl.h"
#include "fake_tree.h"
#include "meter.h"
#include "sampler.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static jt_meter_t *open_root(const char *root)
{
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_RAPL_SYSFS;
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", root);
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    jt_status_t s = jt_meter_open(&cfg, &m, &err);
    if (s != JT_OK)
        fprintf(stderr, "open: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    return m;
}

/* A still tree: one package zone. */
static jt_meter_t *still_meter(char *root, size_t len)
{
    assert_int_equal(jt_fake_tempdir(root, len), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", 1000000000, 1), 0);
    return open_root(root);
}

static void invalid_rate(void **state)
{
    (void)state;
    char root[64];
    jt_meter_t *m = still_meter(root, sizeof root);
    jt_sampler_t *s = NULL;
    jt_error_t err = {0};
    assert_int_equal(jt_sampler_start(m, 0, &s, &err), JT_ERR_INVALID);
    assert_int_equal(jt_sampler_start(m, 0.5, &s, &err), JT_ERR_INVALID);
    assert_int_equal(jt_sampler_start(m, 10001, &s, &err), JT_ERR_INVALID);
    assert_int_equal(jt_sampler_start(m, NAN, &s, &err), JT_ERR_INVALID);
    assert_int_equal(jt_sampler_start(NULL, 100, &s, &err), JT_ERR_INVALID);
    assert_null(s);
    jt_sampler_stop(NULL);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

/* Reads follow hz x seconds (never more; fewer only when the machine is busy). */
static void read_rate(void **state)
{
    (void)state;
    char root[64];
    jt_meter_t *m = still_meter(root, sizeof root);
    const double rates[] = {50, 500};
    for (size_t k = 0; k < 2; k++) {
        jt_sampler_t *s = NULL;
        double t0 = now_s();
        assert_int_equal(jt_sampler_start(m, rates[k], &s, NULL), JT_OK);
        sleep_s(1.0);
        unsigned long reads = jt_sampler_reads(s);
        double want = rates[k] * (now_s() - t0);
        jt_sampler_stop(s);
        fprintf(stderr, "%g Hz: %lu reads, %.0f expected\n", rates[k], reads, want);
        assert_true((double)reads <= want + 2);
        assert_true((double)reads >= 0.6 * want);
    }
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

static void stop_is_prompt(void **state)
{
    (void)state;
    char root[64];
    jt_meter_t *m = still_meter(root, sizeof root);
    jt_sampler_t *s = NULL;
    assert_int_equal(jt_sampler_start(m, 1, &s, NULL), JT_OK);
    sleep_s(0.05);
    double t0 = now_s();
    jt_sampler_stop(s);
    assert_true(now_s() - t0 < 0.5);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

static void empty_recording(void **state)
{
    (void)state;
    char root[64];
    jt_meter_t *m = still_meter(root, sizeof root);
    jt_sampler_t *s = NULL;
    assert_int_equal(jt_sampler_start(m, 10, &s, NULL), JT_OK);
    jt_power_point_t *p = (jt_power_point_t *)&p;
    size_t n = 99;
    jt_sampler_record_end(s, &p, &n); /* no recording: nothing */
    assert_null(p);
    assert_int_equal(n, 0);
    jt_sampler_record_begin(s);
    jt_sampler_record_end(s, &p, &n); /* at most the begin-to-end point */
    assert_true(n <= 1);
    assert_true((p == NULL) == (n == 0));
    if (n == 1)
        assert_true(p[0].watts[0] == 0.0);
    free(p);
    jt_sampler_stop(s);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

/* A long recording at 10 kHz stops growing at JT_SAMPLER_MAX_POINTS. */
static void timeline_bounded(void **state)
{
    (void)state;
    char root[64];
    jt_meter_t *m = still_meter(root, sizeof root);
    jt_sampler_t *s = NULL;
    assert_int_equal(jt_sampler_start(m, 10000, &s, NULL), JT_OK);
    jt_sampler_record_begin(s);
    unsigned long start = jt_sampler_reads(s);
    double deadline = now_s() + 40;
    while (jt_sampler_reads(s) - start < JT_SAMPLER_MAX_POINTS + 500 && now_s() < deadline)
        sleep_s(0.1);
    jt_power_point_t *p;
    size_t n;
    jt_sampler_record_end(s, &p, &n);
    unsigned long reads = jt_sampler_reads(s) - start;
    jt_sampler_stop(s);
    fprintf(stderr, "%lu reads, %zu points\n", reads, n);
    if (reads < JT_SAMPLER_MAX_POINTS + 500) {
        free(p);
        jt_meter_close(m);
        jt_fake_tree_remove(root);
        skip(); /* machine too loaded to reach the cap in time */
    }
    assert_int_equal(n, JT_SAMPLER_MAX_POINTS);
    for (size_t i = 1; i < n; i++)
        assert_true(p[i].time > p[i - 1].time);
    free(p);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

/* On the moving fake tree: ~hz x seconds points whose energy adds up to the
 * meter's, at the fake's power. */
static void timeline_power(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults(); /* 10 W + 20 W busy */
    jt_fake_rapl_t f;
    assert_int_equal(jt_fake_rapl_start(root, &o, &f), 0);
    jt_meter_t *m = open_root(root);
    jt_sampler_t *s = NULL;
    assert_int_equal(jt_sampler_start(m, 100, &s, NULL), JT_OK);
    jt_meter_reading_t a, b;
    assert_int_equal(jt_meter_read(m, &a, NULL), JT_OK);
    jt_sampler_record_begin(s);
    sleep_s(0.5);
    jt_power_point_t *p;
    size_t n;
    jt_sampler_record_end(s, &p, &n);
    assert_int_equal(jt_meter_read(m, &b, NULL), JT_OK);
    jt_sampler_stop(s);
    fprintf(stderr, "%zu points\n", n);
    assert_true(n >= 20 && n <= 53);
    double integral = 0, prev_t = 0;
    double w[64];
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(p[i].time > prev_t);
        integral += p[i].watts[0] * (p[i].time - prev_t);
        prev_t = p[i].time;
        if (nw < 64)
            w[nw++] = p[i].watts[0];
    }
    double outer = jt_meter_joules(&a, &b, 0);
    assert_true(integral <= outer + 1e-6);
    assert_true(outer - integral < 0.1); /* only the few microseconds outside */
    /* median power: between idle and idle + active, with tick slack: busy
     * time comes in 10 ms ticks, so a 10 ms point may hold two ticks of a
     * core that other tests keep busy (10 W + 2 x 20 W). */
    for (size_t i = 0; i < nw; i++)
        for (size_t j = i + 1; j < nw; j++)
            if (w[j] < w[i]) {
                double t = w[i];
                w[i] = w[j];
                w[j] = t;
            }
    assert_true(w[nw / 2] > 8 && w[nw / 2] < 52);
    free(p);
    jt_meter_close(m);
    assert_int_equal(jt_fake_rapl_stop(&f), 0);
    jt_fake_tree_remove(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(invalid_rate),     cmocka_unit_test(read_rate),
    cmocka_unit_test(stop_is_prompt),   cmocka_unit_test(empty_recording),
    cmocka_unit_test(timeline_bounded), cmocka_unit_test(timeline_power),
};

JT_UNIT_MAIN(tests)
