/* test_host_info.c -- the package temperature is found by sensor type and name, not by number. */
#include "unit_main.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_info.h"

/* A fresh directory standing for /sys/class. */
static char *fake_class(void)
{
    char *dir = strdup("/tmp/jt-host-info-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void put(const char *root, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_tree(char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    free(root);
}

static void package_zone_wins_over_lower_numbers(void **state)
{
    (void)state;
    char *root = fake_class();
    put(root, "thermal/thermal_zone0/type", "acpitz\n");
    put(root, "thermal/thermal_zone0/temp", "27800\n");
    put(root, "thermal/thermal_zone12/type", "x86_pkg_temp\n");
    put(root, "thermal/thermal_zone12/temp", "55000\n");
    assert_float_equal(jt_host_temperature_in(root), 55.0, 1e-9);
    remove_tree(root);
}

static void without_package_zone_smallest_number_readable(void **state)
{
    (void)state;
    char *root = fake_class();
    put(root, "thermal/thermal_zone10/type", "acpitz\n");
    put(root, "thermal/thermal_zone10/temp", "41000\n");
    put(root, "thermal/thermal_zone2/type", "pch\n");
    put(root, "thermal/thermal_zone2/temp", "not a number\n");
    put(root, "thermal/thermal_zone9/type", "iwlwifi\n");
    put(root, "thermal/thermal_zone9/temp", "38500\n");
    /* zone 2 is unreadable, so zone 9 (not 10, not the directory order) */
    assert_float_equal(jt_host_temperature_in(root), 38.5, 1e-9);
    remove_tree(root);
}

static void hwmon_by_name_past_number_64(void **state)
{
    (void)state;
    char *root = fake_class();
    put(root, "hwmon/hwmon3/name", "nvme\n");
    put(root, "hwmon/hwmon3/temp1_input", "33000\n");
    put(root, "hwmon/hwmon120/name", "k10temp\n");
    put(root, "hwmon/hwmon120/temp1_input", "61250\n");
    assert_float_equal(jt_host_temperature_in(root), 61.25, 1e-9);
    remove_tree(root);
}

static void no_sensor_is_nan(void **state)
{
    (void)state;
    char *root = fake_class();
    assert_true(isnan(jt_host_temperature_in(root)));
    put(root, "thermal/thermal_zone0/type", "acpitz\n"); /* no temp file */
    put(root, "hwmon/hwmon0/name", "coretemp\n");
    put(root, "hwmon/hwmon0/temp1_input", "999999\n"); /* out of range */
    assert_true(isnan(jt_host_temperature_in(root)));
    remove_tree(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(package_zone_wins_over_lower_numbers),
    cmocka_unit_test(without_package_zone_smallest_number_readable),
    cmocka_unit_test(hwmon_by_name_past_number_64),
    cmocka_unit_test(no_sensor_is_nan),
};

JT_UNIT_MAIN(tests)
