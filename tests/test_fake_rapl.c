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

    atomic_store(&spin_stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, spin, &core), 0);
    jt_fake_truth_t t0, t1;
    jt_meter_reading_t r0, r1;
    boundary(m, root, &r0, &t0);
    sleep_s(1.0);
    boundary(m, root, &r1, &t1);
    atomic_store(&spin_stop, true);
    pthread_join(th, NULL);
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
    atomic_store(&spin_stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, spin, &core), 0);
    sleep_s(0.1);
    jt_fake_truth_t a, b;
    read_truth(root, &a);
    sleep_s(1.0);
    read_truth(root, &b);
    atomic_store(&spin_stop, true);
    pthread_join(th, NULL);
    double w =
        (double)(jt_fake_truth_uj(&b, "intel-rapl:0") - jt_fake_truth_uj(&a, "intel-rapl:0")) *
        1e-6 / (b.time - a.time);
    fprintf(stderr, "busy package power %.2f W (want 30)\n", w);
    assert_true(w > 27 && w < 33);
    assert_int_equal(jt_fake_rapl_stop(&f), 0);
    jt_fake_tree_remove(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tree_and_truth),
    cmocka_unit_test(meter_matches_truth),
    cmocka_unit_test(busy_core_power),
};

JT_UNIT_MAIN(tests)
