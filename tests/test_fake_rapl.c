/* test_fake_rapl.c -- the moving fake powercap tree, and the rapl-sysfs meter against its truth. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "unit_main.h"

#include "fake_rapl.h"
#include "fake_tree.h"
#include "meter.h"
#include "sampler.h"

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static jt_meter_t *open_root(const char *root, int socket)
{
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_RAPL_SYSFS;
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", root);
    cfg.socket = socket;
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    jt_status_t s = jt_meter_open(&cfg, &m, &err);
    if (s != JT_OK)
        fprintf(stderr, "open: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    return m;
}

/* The newest stable truth tick. */
static void read_truth(const char *root, jt_fake_truth_t *t)
{
    for (int i = 0; i < 1000; i++) {
        if (jt_fake_truth_read(root, t) == 0 && t->stable)
            return;
        sleep_s(0.0002);
    }
    fail_msg("cannot read %s/truth", root);
}

typedef struct {
    jt_meter_t *m;
    jt_meter_reading_t r;
} meter_read_t;

static int do_read(void *arg)
{
    meter_read_t *mr = arg;
    return jt_meter_read(mr->m, &mr->r, NULL) == JT_OK ? 0 : -1;
}

/* A meter reading and the truth tick it saw. */
static void boundary(jt_meter_t *m, const char *root, jt_meter_reading_t *r, jt_fake_truth_t *t)
{
    meter_read_t mr = {.m = m};
    assert_int_equal(jt_fake_truth_around(root, do_read, &mr, t), 0);
    *r = mr.r;
}

static void tree_and_truth(void **state)
{
    (void)state;
    char root[64], path[128], link[128];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.sockets = 2;
    o.max_range_uj = 2000000;
    jt_fake_rapl_t f;
    assert_int_equal(jt_fake_rapl_start(root, &o, &f), 0);
    snprintf(path, sizeof path, "%s/intel-rapl:1/intel-rapl:1:0/name", root);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(link, sizeof link, fp));
    fclose(fp);
    assert_string_equal(link, "dram\n");
    snprintf(path, sizeof path, "%s/intel-rapl:0:0", root);
    ssize_t n = readlink(path, link, sizeof link - 1);
    assert_true(n > 0);
    link[n] = '\0';
    assert_string_equal(link, "intel-rapl:0/intel-rapl:0:0");

    jt_fake_truth_t a, b;
    read_truth(root, &a);
    assert_int_equal(a.n, 4);
    sleep_s(0.2);
    read_truth(root, &b);
    assert_true(b.seq > a.seq + 5); /* about 200 at 1 kHz; fewer on a loaded machine */
    assert_true(b.time > a.time + 0.15);
    for (size_t i = 0; i < 4; i++)
        assert_true(b.uj[i] > a.uj[i]);
    /* socket 1 is idle only: 10 W package, 2 W dram */
    double w1 =
        (double)(jt_fake_truth_uj(&b, "intel-rapl:1") - jt_fake_truth_uj(&a, "intel-rapl:1")) *
        1e-6 / (b.time - a.time);
    assert_true(w1 > 9.9 && w1 < 10.1);

    jt_meter_t *m1 = open_root(root, 1);
    assert_int_equal(jt_meter_domain_count(m1), 2);
    jt_meter_close(m1);
    assert_int_equal(jt_fake_rapl_stop(&f), 0);
    jt_fake_tree_remove(root);
}

static atomic_bool spin_stop;

static void *spin(void *arg)
{
    int core = *(int *)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    volatile unsigned long x = 0;
    while (!atomic_load(&spin_stop))
        x++;
    return NULL;
}

/* Start spin() on *core (which must outlive the thread) in *th. */
static void spin_start(pthread_t *th, int *core)
{
    atomic_store(&spin_stop, false);
    assert_int_equal(pthread_create(th, NULL, spin, core), 0);
}

/* Stop and join the spinner th. */
static void spin_end(pthread_t th)
{
    atomic_store(&spin_stop, true);
    pthread_join(th, NULL);
}

/* ~1 s, several wraps (5 J range at 12..35 W), a pinned busy loop: the
 * meter's deltas equal the truth's between the very ticks it read. */
static void meter_matches_truth(void **state)
{
    (void)state;
    char root[64];
    int core = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.core = core;
    o.dram_active_watts = 5;
    o.max_range_uj = 5000000;
    jt_fake_rapl_t f;
    assert_int_equal(jt_fake_rapl_start(root, &o, &f), 0);
    jt_meter_t *m = open_root(root, 0);
    jt_sampler_t *s = NULL;
    assert_int_equal(jt_sampler_start(m, 100, &s, NULL), JT_OK);

    pthread_t th;
    spin_start(&th, &core);
    jt_fake_truth_t t0, t1;
    jt_meter_reading_t r0, r1;
    boundary(m, root, &r0, &t0);
    sleep_s(1.0);
    boundary(m, root, &r1, &t1);
    spin_end(th);
    jt_sampler_stop(s);

    const char *zone[2] = {"intel-rapl:0", "intel-rapl:0:0"};
    const jt_domain_t d[2] = {JT_DOMAIN_PACKAGE, JT_DOMAIN_DRAM};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(jt_meter_domain(m, i), d[i]);
        uint64_t got = r1.energy_uj[i] - r0.energy_uj[i];
        uint64_t want = jt_fake_truth_uj(&t1, zone[i]) - jt_fake_truth_uj(&t0, zone[i]);
        fprintf(stderr, "%s: meter %.6f J, truth %.6f J, %.1f wraps\n", zone[i], (double)got * 1e-6,
                (double)want * 1e-6, (double)want / 5e6);
        assert_true(fabs((double)got - (double)want) <= 0.01 * (double)want);
        assert_int_equal(got, want); /* in fact exact: same ticks, every wrap unwrapped */
    }
    assert_true(jt_fake_truth_uj(&t1, "intel-rapl:0") - jt_fake_truth_uj(&t0, "intel-rapl:0") >
                10000000); /* at least two wraps crossed */
    jt_meter_close(m);
    assert_int_equal(jt_fake_rapl_stop(&f), 0);
    jt_fake_tree_remove(root);
}

/* The fake follows its model: a fully busy core draws idle + active watts. */
static void busy_core_power(void **state)
{
    (void)state;
    char root[64];
    int core = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults(); /* 10 W + 20 W busy */
    o.core = core;
    jt_fake_rapl_t f;
    assert_int_equal(jt_fake_rapl_start(root, &o, &f), 0);
    pthread_t th;
    spin_start(&th, &core);
    sleep_s(0.1);
    jt_fake_truth_t a, b;
    read_truth(root, &a);
    sleep_s(1.0);
    read_truth(root, &b);
    spin_end(th);
    double w =
        (double)(jt_fake_truth_uj(&b, "intel-rapl:0") - jt_fake_truth_uj(&a, "intel-rapl:0")) *
        1e-6 / (b.time - a.time);
    fprintf(stderr, "busy package power %.2f W (want 30)\n", w);
    assert_true(w > 27 && w < 33);
    assert_int_equal(jt_fake_rapl_stop(&f), 0);
    jt_fake_tree_remove(root);
}

/* ---- idle drift: a step, then a ramp ---------------------------------------------------- */

#define DRIFT_IDLE_W 40.0
#define DRIFT_DRAM_W 3.0
#define DRIFT_STEP_PERCENT 5.0
#define DRIFT_STEP_AFTER_S 0.4
#define DRIFT_RAMP_WPS 2.0 /* steep, so that one second shows it well above the rounding */

/* The idle model of tests/fake_rapl.c: joules of a zone of idle watts w, t
 * seconds after the start (ramping: a package zone). */
static double drift_model_joules(double w, int ramping, double t)
{
    double j = w * t, after = t - DRIFT_STEP_AFTER_S;
    if (after > 0) {
        j += w * DRIFT_STEP_PERCENT / 100.0 * after;
        if (ramping)
            j += DRIFT_RAMP_WPS * after * after / 2.0;
    }
    return j;
}

/* The drifting tree's options with the given active watts (package, dram). */
static jt_fake_rapl_options_t drift_options(double active_watts, double dram_active_watts)
{
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.idle_watts = DRIFT_IDLE_W;
    o.active_watts = active_watts;
    o.dram_idle_watts = DRIFT_DRAM_W;
    o.dram_active_watts = dram_active_watts;
    o.idle_step_percent = DRIFT_STEP_PERCENT;
    o.idle_step_after_s = DRIFT_STEP_AFTER_S;
    o.idle_ramp_wps = DRIFT_RAMP_WPS;
    return o;
}

/* Zone zone's joules between truth ticks a and b against the model: equal
 * within 20 uJ (each tick truncates to whole uJ, and the tick's time is
 * printed to the ns) plus 1e-6 of the window's energy. */
static void expect_model_window(const jt_fake_truth_t *a, const jt_fake_truth_t *b,
                                const char *zone, double watts, int ramping)
{
    double got = (double)(jt_fake_truth_uj(b, zone) - jt_fake_truth_uj(a, zone)) * 1e-6;
    double want = drift_model_joules(watts, ramping, b->time - b->start) -
                  drift_model_joules(watts, ramping, a->time - a->start);
    fprintf(stderr, "%s: %.3f .. %.3f s after the start: truth %.6f J, model %.6f J (%.3f W)\n",
            zone, a->time - a->start, b->time - b->start, got, want, got / (b->time - a->time));
    assert_true(fabs(got - want) <= 20e-6 + 1e-6 * want);
}

/* Read truth ticks until one lies at least t seconds after the start. */
static void truth_after(const char *root, double t, jt_fake_truth_t *out)
{
    for (int i = 0; i < 20000; i++) {
        read_truth(root, out);
        if (out->time - out->start >= t)
            return;
        sleep_s(0.005);
    }
    fail_msg("fake_rapl never reached %.3f s", t);
}

/* A step of +5 % at 0.4 s and a ramp of 2 W/s after it, idle only (no active
 * watts, so the core's load does not enter): every window, before the step,
 * across it and after it, holds exactly the model's energy, on both sockets;
 * dram steps but does not ramp. */
static void idle_step_and_ramp(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    jt_fake_rapl_options_t o = drift_options(0, 0);
    o.sockets = 2;
    o.max_range_uj = 20000000; /* 20 J: the windows cross wraps */
    jt_fake_rapl_t f;
    assert_int_equal(jt_fake_rapl_start(root, &o, &f), 0);

    jt_fake_truth_t first, before, after, later;
    read_truth(root, &first);
    assert_true(first.start > 0 && first.time >= first.start);
    truth_after(root, first.time - first.start + 0.1, &before);
    /* the ready file appears at the first tick, so the start of the test lies
     * before the step unless the machine stalled for 0.3 s: judge the first
     * window only when it does */
    if (before.time - before.start < DRIFT_STEP_AFTER_S) {
        expect_model_window(&first, &before, "intel-rapl:0", DRIFT_IDLE_W, 1);
        double w = (double)(jt_fake_truth_uj(&before, "intel-rapl:0") -
                            jt_fake_truth_uj(&first, "intel-rapl:0")) *
                   1e-6 / (before.time - first.time);
        assert_true(fabs(w - DRIFT_IDLE_W) < 0.01); /* exactly idle before the step */
    }
    truth_after(root, DRIFT_STEP_AFTER_S + 0.5, &after);
    truth_after(root, DRIFT_STEP_AFTER_S + 1.5, &later);
    const char *pkg[2] = {"intel-rapl:0", "intel-rapl:1"};
    const char *dram[2] = {"intel-rapl:0:0", "intel-rapl:1:0"};
    for (int s = 0; s < 2; s++) {
        expect_model_window(&first, &later, pkg[s], DRIFT_IDLE_W, 1); /* across the step */
        expect_model_window(&after, &later, pkg[s], DRIFT_IDLE_W, 1); /* after it */
        expect_model_window(&first, &later, dram[s], DRIFT_DRAM_W, 0);
        expect_model_window(&after, &later, dram[s], DRIFT_DRAM_W, 0);
    }
    /* After the step the mean power of a window is the stepped idle plus the
     * ramp at the window's middle: well apart from the constant 40 W. */
    double mid = (after.time + later.time) / 2 - after.start - DRIFT_STEP_AFTER_S;
    double w = (double)(jt_fake_truth_uj(&later, "intel-rapl:0") -
                        jt_fake_truth_uj(&after, "intel-rapl:0")) *
               1e-6 / (later.time - after.time);
    double want = DRIFT_IDLE_W * (1 + DRIFT_STEP_PERCENT / 100.0) + DRIFT_RAMP_WPS * mid;
    fprintf(stderr, "package after the step: %.4f W, model %.4f W\n", w, want);
    assert_true(fabs(w - want) < 1e-3 * want);
    assert_true(w > DRIFT_IDLE_W * 1.05 + 1.0);
    assert_int_equal(jt_fake_rapl_stop(&f), 0);
    jt_fake_tree_remove(root);
}

/* Drift and load together: on a fully busy core the package draws the
 * drifted idle plus the active watts, and the busy part is what it was
 * without drift (the window's energy minus the model's idle energy). */
static void drift_under_load(void **state)
{
    (void)state;
    char root[64];
    int core = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    jt_fake_rapl_options_t o = drift_options(10, 1);
    o.core = core;
    jt_fake_rapl_t f;
    assert_int_equal(jt_fake_rapl_start(root, &o, &f), 0);
    pthread_t th;
    spin_start(&th, &core);
    jt_fake_truth_t a, b;
    truth_after(root, DRIFT_STEP_AFTER_S + 0.1, &a);
    sleep_s(1.0);
    read_truth(root, &b);
    spin_end(th);
    const char *zone[2] = {"intel-rapl:0", "intel-rapl:0:0"};
    const double idle[2] = {DRIFT_IDLE_W, DRIFT_DRAM_W}, active[2] = {10, 1};
    for (int i = 0; i < 2; i++) {
        double got = (double)(jt_fake_truth_uj(&b, zone[i]) - jt_fake_truth_uj(&a, zone[i])) * 1e-6;
        double idle_j = drift_model_joules(idle[i], i == 0, b.time - b.start) -
                        drift_model_joules(idle[i], i == 0, a.time - a.start);
        double busy_w = (got - idle_j) / (b.time - a.time);
        fprintf(stderr, "%s: %.4f J in %.3f s, of it idle %.4f J; busy part %.3f W (want %.0f)\n",
                zone[i], got, b.time - a.time, idle_j, busy_w, active[i]);
        /* the spinner shares its core with whatever else runs there */
        assert_true(busy_w > 0.85 * active[i] && busy_w < 1.02 * active[i]);
    }
    assert_int_equal(jt_fake_rapl_stop(&f), 0);
    jt_fake_tree_remove(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tree_and_truth),   cmocka_unit_test(meter_matches_truth),
    cmocka_unit_test(busy_core_power),  cmocka_unit_test(idle_step_and_ramp),
    cmocka_unit_test(drift_under_load),
};

JT_UNIT_MAIN(tests)
