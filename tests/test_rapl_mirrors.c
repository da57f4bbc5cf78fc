/* test_rapl_mirrors.c -- several RAPL zones per package: mirrors count once, distinct refused.
 *
 * AMD hosts may list one package zone per die that all read one counter.
 * Hand-made powercap trees in a temporary directory (removed in the
 * teardown, also when a case fails).
 */
#include "unit_main.h"

#include <stdlib.h>

#include "fake_tree.h"
#include "meter.h"
#include "rapl_zones.h"

#define BIG 1000000000000ull

static int setup(void **state)
{
    static char root[64];
    if (jt_fake_tempdir(root, sizeof root) < 0)
        return -1;
    *state = root;
    return 0;
}

static int teardown(void **state)
{
    jt_fake_tree_remove(*state);
    return 0;
}

static jt_meter_config_t config(const char *root, int socket)
{
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_RAPL_SYSFS;
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", root);
    cfg.socket = socket;
    return cfg;
}

static jt_meter_t *must_open(const char *root)
{
    jt_meter_config_t cfg = config(root, 0);
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    jt_status_t s = jt_meter_open(&cfg, &m, &err);
    if (s != JT_OK)
        fprintf(stderr, "open: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    return m;
}

static uint64_t package_uj(jt_meter_t *m)
{
    jt_meter_reading_t r;
    assert_int_equal(jt_meter_read(m, &r, NULL), JT_OK);
    return r.energy_uj[0];
}

/* Two top-level zones named package-0 that read the same counter (equal
 * values, equal ranges): the meter opens, counts the package once, and the
 * zone list names the lower index with the other as its mirror. */
static void mirrored_package_zones_count_once(void **state)
{
    const char *root = *state;
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1", "package-0", BIG, 5000), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", BIG, 5000), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0:0", "core", BIG, 70), 0);
    jt_meter_t *m = must_open(root);
    assert_int_equal(jt_meter_domain_count(m), 2);
    assert_int_equal(jt_meter_domain(m, 0), JT_DOMAIN_PACKAGE);
    assert_int_equal(jt_fake_set(root, "intel-rapl:0", 5600), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:1", 5600), 0);
    assert_int_equal(package_uj(m), 600); /* once, not 1200 */
    jt_meter_close(m);

    jt_meter_config_t cfg = config(root, 0);
    jt_rapl_zone_t zones[JT_METER_MAX_DOMAINS];
    size_t n = 0;
    jt_error_t err = {0};
    assert_int_equal(jt_rapl_sysfs_zones(&cfg, zones, &n, &err), JT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(zones[0].domain, JT_DOMAIN_PACKAGE);
    assert_string_equal(zones[0].zone, "intel-rapl:0");
    assert_string_equal(zones[0].name, "package-0");
    assert_int_equal(zones[0].n_mirrors, 1);
    assert_string_equal(zones[0].mirrors[0], "intel-rapl:1");
    assert_int_equal(zones[1].domain, JT_DOMAIN_CORE);
    assert_string_equal(zones[1].zone, "intel-rapl:0:0");
    assert_string_equal(zones[1].name, "core");
    assert_int_equal(zones[1].n_mirrors, 0);
}

/* Four per-die zones package-0-die-N (no zone named package-0) mirroring
 * one counter: one package domain. */
static void mirrored_die_zones_count_once(void **state)
{
    const char *root = *state;
    char rel[32], name[32];
    for (int d = 0; d < 4; d++) {
        snprintf(rel, sizeof rel, "intel-rapl:%d", d);
        snprintf(name, sizeof name, "package-0-die-%d", d);
        assert_int_equal(jt_fake_zone(root, rel, name, 65532610987ull, 123456789), 0);
    }
    assert_int_equal(jt_fake_zone(root, "intel-rapl:4", "package-1-die-0", BIG, 1), 0);
    jt_meter_t *m = must_open(root);
    assert_int_equal(jt_meter_domain_count(m), 1);
    for (int d = 0; d < 4; d++) {
        snprintf(rel, sizeof rel, "intel-rapl:%d", d);
        assert_int_equal(jt_fake_set(root, rel, 123456789 + 1000), 0);
    }
    assert_int_equal(package_uj(m), 1000);
    jt_meter_close(m);
    jt_meter_config_t cfg = config(root, 0);
    jt_rapl_zone_t zones[JT_METER_MAX_DOMAINS];
    size_t n = 0;
    assert_int_equal(jt_rapl_sysfs_zones(&cfg, zones, &n, NULL), JT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(zones[0].name, "package-0-die-0");
    assert_int_equal(zones[0].n_mirrors, 3);
    assert_string_equal(zones[0].mirrors[2], "intel-rapl:3");
}

/* Zones of one package with distinct counters (other values, or other
 * ranges) are refused, naming them: a sum is not supported. */
static void distinct_package_zones_are_refused(void **state)
{
    const char *root = *state;
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", BIG, 5000), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1", "package-0", BIG, 5001), 0);
    jt_meter_config_t cfg = config(root, 0);
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    assert_int_not_equal(jt_meter_open(&cfg, &m, &err), JT_OK);
    assert_null(m);
    fprintf(stderr, "%s\n", err.message);
    assert_non_null(strstr(err.message, "distinct counters"));
    assert_non_null(strstr(err.message, "intel-rapl:0=package-0"));
    assert_non_null(strstr(err.message, "intel-rapl:1=package-0"));
    jt_rapl_zone_t zones[JT_METER_MAX_DOMAINS];
    size_t n = 99;
    assert_int_not_equal(jt_rapl_sysfs_zones(&cfg, zones, &n, &err), JT_OK);
    assert_int_equal(n, 99);

    assert_int_equal(jt_fake_zone(root, "intel-rapl:1", "package-0", 262143328850ull, 5000), 0);
    assert_int_not_equal(jt_meter_open(&cfg, &m, &err), JT_OK);
    assert_non_null(strstr(err.message, "distinct counters"));
}

/* One zone per package, as on most hosts: no mirrors, names listed. */
static void single_zone_lists_without_mirrors(void **state)
{
    const char *root = *state;
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:0", "dram", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1", "package-1", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:2", "psys", BIG, 1), 0);
    jt_meter_config_t cfg = config(root, 1);
    jt_rapl_zone_t zones[JT_METER_MAX_DOMAINS];
    size_t n = 0;
    assert_int_equal(jt_rapl_sysfs_zones(&cfg, zones, &n, NULL), JT_OK);
    assert_int_equal(n, 2); /* package-1 and psys */
    assert_string_equal(zones[0].zone, "intel-rapl:1");
    assert_int_equal(zones[0].n_mirrors, 0);
    assert_int_equal(zones[1].domain, JT_DOMAIN_PSYS);
    cfg = config(root, 0);
    assert_int_equal(jt_rapl_sysfs_zones(&cfg, zones, &n, NULL), JT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(zones[1].domain, JT_DOMAIN_DRAM);
    assert_string_equal(zones[1].zone, "intel-rapl:0/intel-rapl:0:0");
    assert_string_equal(zones[1].name, "dram");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(mirrored_package_zones_count_once, setup, teardown),
    cmocka_unit_test_setup_teardown(mirrored_die_zones_count_once, setup, teardown),
    cmocka_unit_test_setup_teardown(distinct_package_zones_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(single_zone_lists_without_mirrors, setup, teardown),
};

JT_UNIT_MAIN(tests)
