/* test_provenance.c -- the provenance object: every key, its type, its value, null when absent.
 *
 * The real host's object is checked for keys and types; fake /proc and /sys
 * trees and stand-in interpreters (shell scripts) in a temporary directory
 * check values, and nulls where a file is missing. The directory is removed
 * in the teardown, also when a case fails.
 */
#include "unit_main.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fake_tree.h"
#include "host_info.h"
#include "provenance.h"
#include "temp_dir.h"

typedef struct {
    char dir[128];
    char proc[192], sys[192];
    jt_provenance_roots_t roots;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    if (jt_temp_dir_make(f.dir, sizeof f.dir, "jt-prov") < 0)
        return -1;
    snprintf(f.proc, sizeof f.proc, "%s/proc", f.dir);
    snprintf(f.sys, sizeof f.sys, "%s/sys", f.dir);
    if (mkdir(f.proc, 0755) < 0 || mkdir(f.sys, 0755) < 0)
        return -1;
    f.roots.proc = f.proc;
    f.roots.sys = f.sys;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    jt_temp_dir_remove(f->dir);
    return 0;
}

static void put(const char *root, const char *rel, const char *text)
{
    assert_int_equal(jt_fake_put(root, rel, text), 0);
}

/* An executable shell script standing for the interpreter; returns its
 * path (in a buffer the next call reuses). */
static const char *script(const fixture_t *f, const char *name, const char *body)
{
    static char path[256];
    char text[512];
    snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    put(f->dir, name, text);
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static const char *const keys[] = {
    "measurement_core",
    "socket",
    "cpu_model",
    "microcode",
    "kernel",
    "governor",
    "boost",
    "boost_source",
    "smt",
    "smt_control",
    "frequency_mhz",
    "perf_event_paranoid",
    "python_executable",
    "python_version",
    "python_build_version",
    "jouletrace_version",
};

/* Whether v is of kind: "int", "num", "str", "bool" or "obj". */
static bool is_kind(json_t *v, const char *kind)
{
    if (strcmp(kind, "int") == 0)
        return json_is_integer(v);
    if (strcmp(kind, "num") == 0)
        return json_is_number(v);
    if (strcmp(kind, "str") == 0)
        return json_is_string(v);
    if (strcmp(kind, "bool") == 0)
        return json_is_boolean(v);
    return strcmp(kind, "obj") == 0 && json_is_object(v);
}

static void assert_type(json_t *o, const char *key, const char *kind, bool may_be_null)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || !(is_kind(v, kind) || (may_be_null && json_is_null(v))))
        fprintf(stderr, "%s: missing or not %s%s\n", key, kind, may_be_null ? " or null" : "");
    assert_non_null(v);
    assert_true(is_kind(v, kind) || (may_be_null && json_is_null(v)));
}

static void assert_all_keys(json_t *o)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(json_object_get(o, keys[i]));
    assert_int_equal(json_object_size(o), sizeof keys / sizeof keys[0]);
}

/* This host: every key, each of its type (null allowed where a host may
 * lack the file); the default interpreter answers the embedded major.minor. */
static void real_host_keys_and_types(void **state)
{
    (void)state;
    json_t *o = jt_provenance_collect(jt_host_highest_cpu(), 0, NULL);
    assert_non_null(o);
    char *text = json_dumps(o, JSON_SORT_KEYS);
    fprintf(stderr, "%s\n", text);
    free(text);
    assert_all_keys(o);
    assert_type(o, "measurement_core", "int", false);
    assert_type(o, "socket", "int", false);
    assert_type(o, "cpu_model", "str", true);
    assert_type(o, "microcode", "str", true);
    assert_type(o, "kernel", "obj", false);
    assert_type(json_object_get(o, "kernel"), "release", "str", false);
    assert_type(json_object_get(o, "kernel"), "version", "str", false);
    assert_type(o, "governor", "str", true);
    assert_type(o, "boost", "bool", true);
    assert_type(o, "boost_source", "str", true);
    assert_true(json_is_null(json_object_get(o, "boost")) ==
                json_is_null(json_object_get(o, "boost_source")));
    assert_type(o, "smt", "bool", true);
    assert_type(o, "smt_control", "str", true);
    assert_type(o, "frequency_mhz", "num", true);
    assert_type(o, "perf_event_paranoid", "int", true);
    FILE *pf = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int paranoid;
    if (pf != NULL && fscanf(pf, "%d", &paranoid) == 1)
        assert_int_equal(json_integer_value(json_object_get(o, "perf_event_paranoid")), paranoid);
    if (pf != NULL)
        fclose(pf);
    assert_string_equal(json_string_value(json_object_get(o, "python_executable")),
                        jt_provenance_default_python());
    const char *built = json_string_value(json_object_get(o, "python_build_version"));
    const char *version = json_string_value(json_object_get(o, "python_version"));
    assert_non_null(built);
    assert_non_null(version); /* the build's interpreter is installed wherever the tests build */
    assert_true(strncmp(version, built, strlen(built)) == 0 && version[strlen(built)] == '.');
    const char *ours = json_string_value(json_object_get(o, "jouletrace_version"));
    assert_non_null(ours);
    assert_true(ours[0] >= '0' && ours[0] <= '9' && strchr(ours, '.') != NULL);
    json_decref(o);
}

static const char cpuinfo[] = "processor\t: 0\n"
                              "model name\t: Fake CPU A\n"
                              "microcode\t: 0x1\n"
                              "cpu MHz\t\t: 1000.000\n"
                              "\n"
                              "processor\t: 1\n"
                              "model name\t: Fake CPU B\n"
                              "microcode\t: 0xa201016\n"
                              "cpu MHz\t\t: 2500.500\n"
                              "\n";

/* Every value read from where it is documented, for the measurement core
 * (1, not 0); the interpreter is run isolated (-I -S). */
static void values_from_fake_trees(void **state)
{
    fixture_t *f = *state;
    put(f->proc, "cpuinfo", cpuinfo);
    put(f->proc, "sys/kernel/perf_event_paranoid", "-1\n");
    put(f->sys, "devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
    put(f->sys, "devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "3400000\n");
    put(f->sys, "devices/system/cpu/cpu0/cpufreq/scaling_governor", "powersave\n");
    put(f->sys, "devices/system/cpu/cpufreq/boost", "0\n");
    put(f->sys, "devices/system/cpu/smt/active", "1\n");
    put(f->sys, "devices/system/cpu/smt/control", "on\n");
    const char *py = script(f, "python",
                            "[ \"$1 $2 $3\" = '-I -S -c' ] || exec echo bad\n"
                            "printf 3.99.1");
    json_t *o = jt_provenance_collect_in(&f->roots, 1, 0, py);
    assert_non_null(o);
    assert_all_keys(o);
    assert_int_equal(json_integer_value(json_object_get(o, "measurement_core")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "cpu_model")), "Fake CPU B");
    assert_string_equal(json_string_value(json_object_get(o, "microcode")), "0xa201016");
    assert_string_equal(json_string_value(json_object_get(o, "governor")), "performance");
    assert_true(json_is_false(json_object_get(o, "boost")));
    assert_string_equal(json_string_value(json_object_get(o, "boost_source")), "cpufreq/boost");
    assert_true(json_is_true(json_object_get(o, "smt")));
    assert_string_equal(json_string_value(json_object_get(o, "smt_control")), "on");
    assert_true(json_real_value(json_object_get(o, "frequency_mhz")) == 3400.0);
    assert_int_equal(json_integer_value(json_object_get(o, "perf_event_paranoid")), -1);
    assert_string_equal(json_string_value(json_object_get(o, "python_executable")), py);
    assert_string_equal(json_string_value(json_object_get(o, "python_version")), "3.99.1");
    json_decref(o);

    /* intel_pstate: no_turbo 1 means no boost; without cpufreq the clock of
     * /proc/cpuinfo for that core */
    char path[256];
    snprintf(path, sizeof path, "%s/devices/system/cpu/cpufreq/boost", f->sys);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", f->sys);
    assert_int_equal(unlink(path), 0);
    put(f->sys, "devices/system/cpu/intel_pstate/no_turbo", "1\n");
    o = jt_provenance_collect_in(&f->roots, 1, 0, py);
    assert_true(json_is_false(json_object_get(o, "boost")));
    assert_string_equal(json_string_value(json_object_get(o, "boost_source")),
                        "intel_pstate/no_turbo");
    assert_true(json_real_value(json_object_get(o, "frequency_mhz")) == 2500.5);
    json_decref(o);
    put(f->sys, "devices/system/cpu/intel_pstate/no_turbo", "0\n");
    o = jt_provenance_collect_in(&f->roots, 0, 0, py);
    assert_true(json_is_true(json_object_get(o, "boost")));
    assert_string_equal(json_string_value(json_object_get(o, "governor")), "powersave");
    assert_string_equal(json_string_value(json_object_get(o, "cpu_model")), "Fake CPU A");
    json_decref(o);
}

/* Empty trees and interpreters that cannot answer: every value that was
 * not read is null; nothing is guessed. */
static void absent_values_are_null(void **state)
{
    fixture_t *f = *state;
    static const char *const nullable[] = {
        "cpu_model",      "microcode",     "governor",
        "boost",          "boost_source",  "smt",
        "smt_control",    "frequency_mhz", "perf_event_paranoid",
        "python_version",
    };
    put(f->sys, "devices/system/cpu/smt/active", "maybe\n"); /* neither 0 nor 1 */
    put(f->sys, "devices/system/cpu/cpufreq/boost", "2\n");
    put(f->proc, "sys/kernel/perf_event_paranoid", "two\n");
    char all[3][256];
    snprintf(all[0], sizeof all[0], "/nonexistent/python3");
    snprintf(all[1], sizeof all[1], "%s", script(f, "fails", "exit 1"));
    snprintf(all[2], sizeof all[2], "%s", script(f, "garbage", "printf 'Python 3.11.2 (main)'"));
    for (size_t k = 0; k < 3; k++) {
        json_t *o = jt_provenance_collect_in(&f->roots, 1, 0, all[k]);
        assert_non_null(o);
        assert_all_keys(o);
        for (size_t i = 0; i < sizeof nullable / sizeof nullable[0]; i++) {
            if (!json_is_null(json_object_get(o, nullable[i])))
                fprintf(stderr, "%s is not null with %s\n", nullable[i], all[k]);
            assert_true(json_is_null(json_object_get(o, nullable[i])));
        }
        assert_string_equal(json_string_value(json_object_get(o, "python_executable")), all[k]);
        assert_true(json_is_object(json_object_get(o, "kernel"))); /* uname never fails */
        json_decref(o);
    }
}

/* An interpreter that hangs is killed after 5 s and reads as null. */
static void hanging_python_is_killed(void **state)
{
    fixture_t *f = *state;
    const char *py = script(f, "hangs", "exec sleep 60");
    double t0 = jt_clock_now();
    json_t *o = jt_provenance_collect_in(&f->roots, 0, 0, py);
    double took = jt_clock_now() - t0;
    fprintf(stderr, "took %.2f s\n", took);
    assert_true(json_is_null(json_object_get(o, "python_version")));
    assert_true(took >= 4.5 && took < 10.0);
    json_decref(o);
}

/* The meter's side: a rapl-sysfs meter on two mirrored package zones
 * names its domains and the zones behind them. */
static void meter_side_names_zones_and_mirrors(void **state)
{
    fixture_t *f = *state;
    char root[256];
    snprintf(root, sizeof root, "%s/powercap", f->dir);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", 1000000000, 42), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1", "package-0", 1000000000, 42), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:0", "dram", 1000000000, 7), 0);
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_RAPL_SYSFS;
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", root);
    jt_meter_t *m = NULL;
    jt_error_t err;
    assert_int_equal(jt_meter_open(&cfg, &m, &err), JT_OK);
    json_t *o = json_object();
    assert_int_equal(jt_provenance_add_meter(o, m, &cfg), 0);
    jt_meter_close(m);
    char *text = json_dumps(o, JSON_SORT_KEYS);
    fprintf(stderr, "%s\n", text);
    assert_string_equal(text,
                        "{\"energy_domains\": [\"package\", \"dram\"], \"energy_is_estimated\": "
                        "false, \"meter\": \"rapl-sysfs\", \"rapl_zones\": [{\"domain\": "
                        "\"package\", \"mirrors\": [\"intel-rapl:1\"], \"name\": \"package-0\", "
                        "\"zone\": \"intel-rapl:0\"}, {\"domain\": \"dram\", \"mirrors\": [], "
                        "\"name\": \"dram\", \"zone\": \"intel-rapl:0/intel-rapl:0:0\"}]}");
    free(text);
    json_decref(o);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(real_host_keys_and_types),
    cmocka_unit_test_setup_teardown(values_from_fake_trees, setup, teardown),
    cmocka_unit_test_setup_teardown(absent_values_are_null, setup, teardown),
    cmocka_unit_test_setup_teardown(hanging_python_is_killed, setup, teardown),
    cmocka_unit_test_setup_teardown(meter_side_names_zones_and_mirrors, setup, teardown),
};

JT_UNIT_MAIN(tests)
