/* test_meter.c -- unit tests of the rapl-sysfs meter on hand-written powercap trees (wraps, zones).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_main.h"

#include "fake_tree.h"
#include "meter.h"
#include "meter_detail.h"
#include "sampler.h"

#define BIG 1000000000000ull /* a range that never wraps in these tests */

static jt_status_t open_sysfs(const char *root, int socket, jt_meter_t **m, jt_error_t *err)
{
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_RAPL_SYSFS;
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", root);
    cfg.socket = socket;
    return jt_meter_open(&cfg, m, err);
}

static jt_meter_t *must_open(const char *root, int socket)
{
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    jt_status_t s = open_sysfs(root, socket, &m, &err);
    if (s != JT_OK)
        fprintf(stderr, "open: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    return m;
}

/* Index of domain d in m's readings, or -1. */
static int dom(const jt_meter_t *m, jt_domain_t d)
{
    for (size_t i = 0; i < jt_meter_domain_count(m); i++)
        if (jt_meter_domain(m, i) == d)
            return (int)i;
    return -1;
}

static uint64_t read_uj(jt_meter_t *m, jt_domain_t d)
{
    jt_meter_reading_t r;
    jt_error_t err = {0};
    assert_int_equal(jt_meter_read(m, &r, &err), JT_OK);
    int i = dom(m, d);
    assert_true(i >= 0);
    return r.energy_uj[i];
}

static void names_and_kinds(void **state)
{
    (void)state;
    assert_int_equal(jt_meter_kind_parse("auto"), JT_METER_AUTO);
    assert_int_equal(jt_meter_kind_parse("rapl-sysfs"), JT_METER_RAPL_SYSFS);
    assert_int_equal(jt_meter_kind_parse("rapl-perf"), JT_METER_RAPL_PERF);
    assert_int_equal(jt_meter_kind_parse("estimate"), JT_METER_ESTIMATE);
    assert_int_equal(jt_meter_kind_parse("Estimate"), -1);
    assert_int_equal(jt_meter_kind_parse(""), -1);
    assert_int_equal(jt_meter_kind_parse(NULL), -1);
    for (int k = JT_METER_AUTO; k <= JT_METER_ESTIMATE; k++)
        assert_int_equal(jt_meter_kind_parse(jt_meter_kind_name((jt_meter_kind_t)k)), k);
    assert_string_equal(jt_domain_name(JT_DOMAIN_PACKAGE), "package");
    assert_string_equal(jt_domain_name(JT_DOMAIN_DRAM), "dram");
    assert_string_equal(jt_domain_name(JT_DOMAIN_PSYS), "psys");
    jt_meter_reading_t a = {.energy_uj = {1000000, 5}}, b = {.energy_uj = {3500000, 2}};
    assert_true(jt_meter_joules(&a, &b, 0) == 2.5);
    assert_true(jt_meter_joules(&a, &b, 1) < 0);
    assert_true(jt_meter_joules(&a, &b, JT_METER_MAX_DOMAINS) == 0.0);
    assert_int_equal(jt_meter_wrap_delta(900, 100, 1000), 200);
    assert_int_equal(jt_meter_wrap_delta(100, 900, 1000), 800);
    assert_int_equal(jt_meter_wrap_delta(5, 5, 1000), 0);
}

/* One package zone with a dram sub-zone. */
static void simple_tree(const char *root, uint64_t pkg_range, uint64_t pkg_val, uint64_t dram_range,
                        uint64_t dram_val)
{
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", pkg_range, pkg_val), 0);
    assert_int_equal(
        jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:0", "dram", dram_range, dram_val), 0);
}

static void single_wrap(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    simple_tree(root, 50000000, 49000000, BIG, 7);
    jt_meter_t *m = must_open(root, 0);
    assert_int_equal(jt_meter_kind(m), JT_METER_RAPL_SYSFS);
    assert_false(jt_meter_is_estimate(m));
    assert_int_equal(read_uj(m, JT_DOMAIN_PACKAGE), 0);
    /* 49 J -> 50 J wraps to 0 -> 2 J: 3 J in all, not 2^32-based nonsense */
    assert_int_equal(jt_fake_set(root, "intel-rapl:0", 2000000), 0);
    assert_int_equal(read_uj(m, JT_DOMAIN_PACKAGE), 3000000);
    assert_int_equal(read_uj(m, JT_DOMAIN_DRAM), 0);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

static void wrap_on_dram_only(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    simple_tree(root, BIG, 1000, 262143328850ull, 262143000000ull);
    jt_meter_t *m = must_open(root, 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:0", 1500), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:0/intel-rapl:0:0", 671150), 0);
    jt_meter_reading_t r;
    assert_int_equal(jt_meter_read(m, &r, NULL), JT_OK);
    assert_int_equal(r.energy_uj[dom(m, JT_DOMAIN_PACKAGE)], 500);
    assert_int_equal(r.energy_uj[dom(m, JT_DOMAIN_DRAM)], 328850 + 671150);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

/* The sampler sees every step, so many wraps add up exactly. */
static void consecutive_wraps_sampled(void **state)
{
    (void)state;
    char root[64];
    const uint64_t range = 1000;
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    simple_tree(root, range, 0, range, 0);
    jt_meter_t *m = must_open(root, 0);
    jt_sampler_t *s = NULL;
    assert_int_equal(jt_sampler_start(m, 2000, &s, NULL), JT_OK);
    uint64_t pkg = 0, dram = 0;
    for (int step = 0; step < 40; step++) {
        pkg += 700; /* < range: one wrap at most between two reads */
        dram += 300 + (uint64_t)(step % 3) * 200;
        assert_int_equal(jt_fake_set(root, "intel-rapl:0", pkg % range), 0);
        assert_int_equal(jt_fake_set(root, "intel-rapl:0/intel-rapl:0:0", dram % range), 0);
        unsigned long seen = jt_sampler_reads(s);
        for (int i = 0; i < 5000 && jt_sampler_reads(s) < seen + 2; i++)
            usleep(200);
        assert_true(jt_sampler_reads(s) >= seen + 2);
    }
    jt_sampler_stop(s);
    assert_true(pkg / range >= 25); /* the test really crossed many wraps */
    assert_int_equal(read_uj(m, JT_DOMAIN_PACKAGE), pkg);
    assert_int_equal(read_uj(m, JT_DOMAIN_DRAM), dram);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

static void alias(const char *root, const char *target, const char *name)
{
    char link[256];
    snprintf(link, sizeof link, "%s/%s", root, name);
    assert_int_equal(symlink(target, link), 0);
}

/* Two sockets, dram on both, psys, and top-level aliases as on real hosts. */
static void discovery_intel_two_socket(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", BIG, 1000), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:0", "dram", BIG, 2000), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1", "package-1", BIG, 3000), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1/intel-rapl:1:0", "dram", BIG, 4000), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:2", "psys", BIG, 5000), 0);
    alias(root, "intel-rapl:0/intel-rapl:0:0", "intel-rapl:0:0");
    alias(root, "intel-rapl:1/intel-rapl:1:0", "intel-rapl:1:0");
    jt_meter_t *m0 = must_open(root, 0), *m1 = must_open(root, 1);
    for (int k = 0; k < 2; k++) {
        jt_meter_t *m = k ? m1 : m0;
        assert_int_equal(jt_meter_domain_count(m), 3);
        assert_int_equal(jt_meter_domain(m, 0), JT_DOMAIN_PACKAGE);
        assert_true(dom(m, JT_DOMAIN_DRAM) > 0 && dom(m, JT_DOMAIN_PSYS) > 0);
    }
    assert_int_equal(jt_fake_set(root, "intel-rapl:0", 1010), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:0/intel-rapl:0:0", 2020), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:1", 3030), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:1/intel-rapl:1:0", 4040), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:2", 5050), 0);
    assert_int_equal(read_uj(m0, JT_DOMAIN_PACKAGE), 10);
    assert_int_equal(read_uj(m0, JT_DOMAIN_DRAM), 20);
    assert_int_equal(read_uj(m0, JT_DOMAIN_PSYS), 50);
    assert_int_equal(read_uj(m1, JT_DOMAIN_PACKAGE), 30);
    assert_int_equal(read_uj(m1, JT_DOMAIN_DRAM), 40);
    jt_meter_close(m0);
    jt_meter_close(m1);
    jt_fake_tree_remove(root);
}

/* AMD: package and core, no dram; the sub-zone only at the top level. */
static void discovery_amd_no_dram(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", BIG, 100), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0:0", "core", BIG, 200), 0);
    jt_meter_t *m = must_open(root, 0);
    assert_int_equal(jt_meter_domain_count(m), 2);
    assert_int_equal(dom(m, JT_DOMAIN_DRAM), -1);
    assert_int_equal(jt_fake_set(root, "intel-rapl:0:0", 260), 0);
    assert_int_equal(read_uj(m, JT_DOMAIN_CORE), 60);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

/* Zones that must be ignored: mmio (also named package-0!), unknown names,
 * the control-type directory, stray files, other sockets. */
static void discovery_unrelated_zones(void **state)
{
    (void)state;
    char root[64], path[128];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl-mmio:0", "package-0", BIG, 9), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", BIG, 100), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:0", "dram", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:1", "gpu-thing", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:2", "uncore", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:3", "something-else", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:4", "package-2", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:4/intel-rapl:4:0", "dram", BIG, 1), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:07x", "package-0", BIG, 1), 0);
    snprintf(path, sizeof path, "%s/intel-rapl", root);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(jt_fake_write(root, "intel-rapl:9", "not a directory\n"), 0);
    jt_meter_t *m = must_open(root, 0);
    assert_int_equal(jt_meter_domain_count(m), 3);
    assert_true(dom(m, JT_DOMAIN_DRAM) > 0 && dom(m, JT_DOMAIN_UNCORE) > 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:0", 150), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl-mmio:0", 99999), 0);
    assert_int_equal(read_uj(m, JT_DOMAIN_PACKAGE), 50);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

/* intel-rapl:0 is package-1 and sub-zone :1 is dram: names decide, never indices. */
static void discovery_shuffled_indices(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-1", BIG, 10), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0/intel-rapl:0:0", "dram", BIG, 10), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1", "package-0", BIG, 10), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1/intel-rapl:1:0", "core", BIG, 10), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:1/intel-rapl:1:1", "dram", BIG, 10), 0);
    alias(root, "intel-rapl:1/intel-rapl:1:1", "intel-rapl:1:1");
    jt_meter_t *m = must_open(root, 0);
    assert_int_equal(jt_meter_domain_count(m), 3);
    assert_int_equal(jt_fake_set(root, "intel-rapl:1", 11), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:1/intel-rapl:1:0", 12), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:1/intel-rapl:1:1", 13), 0);
    assert_int_equal(jt_fake_set(root, "intel-rapl:0/intel-rapl:0:0", 500), 0);
    assert_int_equal(read_uj(m, JT_DOMAIN_PACKAGE), 1);
    assert_int_equal(read_uj(m, JT_DOMAIN_CORE), 2);
    assert_int_equal(read_uj(m, JT_DOMAIN_DRAM), 3);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

static void missing_tree_message(void **state)
{
    (void)state;
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    assert_int_not_equal(open_sysfs("/nonexistent/powercap", 0, &m, &err), JT_OK);
    assert_null(m);
    assert_non_null(strstr(err.message, "/nonexistent/powercap"));
    assert_non_null(strstr(err.message, "JOULETRACE_METER=estimate"));

    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", BIG, 1), 0);
    assert_int_not_equal(open_sysfs(root, 1, &m, &err), JT_OK);
    assert_non_null(strstr(err.message, "package-1"));
    assert_non_null(strstr(err.message, "intel-rapl:0=package-0"));
    assert_int_equal(jt_fake_write(root, "intel-rapl:0/energy_uj", "12a\n"), 0);
    assert_int_not_equal(open_sysfs(root, 0, &m, &err), JT_OK);
    assert_non_null(strstr(err.message, "energy_uj"));
    jt_fake_tree_remove(root);
}

static const char want_perm[] = "permission denied; run as root or grant group read access "
                                "(e.g. chgrp <group> energy_uj; chmod g+r energy_uj)";

/* The message always, and the real EACCES path under a dropped uid when root. */
static void permission_message(void **state)
{
    (void)state;
    jt_error_t err = {0};
    assert_int_equal(jt_meter_permission_error(&err, "/x/intel-rapl:0/energy_uj"), JT_ERR_IO);
    assert_non_null(strstr(err.message, "cannot read /x/intel-rapl:0/energy_uj: "));
    assert_non_null(strstr(err.message, want_perm));
    if (geteuid() != 0)
        skip();
    char root[64], path[128];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    simple_tree(root, BIG, 5, BIG, 5);
    assert_int_equal(chmod(root, 0755), 0);
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    assert_int_equal(chmod(path, 0400), 0); /* as on hosts since 2020 */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        jt_meter_t *m = NULL;
        jt_error_t e = {0};
        jt_status_t s = open_sysfs(root, 0, &m, &e);
        ssize_t w = write(fds[1], e.message, strlen(e.message));
        (void)w;
        _exit(s == JT_ERR_IO ? 0 : 4);
    }
    close(fds[1]);
    char msg[600] = "";
    ssize_t got = read(fds[0], msg, sizeof msg - 1);
    msg[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, want_perm));
    jt_fake_tree_remove(root);
}

/* Another process replaces energy_uj (rename) as fast as it can while we
 * read: every read must succeed and see a whole, current value. */
static void read_during_rewrites(void **state)
{
    (void)state;
    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    simple_tree(root, BIG, 0, BIG, 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (uint64_t v = 1; v < 10000000; v++) {
            if (jt_fake_set(root, "intel-rapl:0", v * 1000003) != 0)
                _exit(1);
        }
        _exit(0);
    }
    jt_meter_t *m = must_open(root, 0);
    uint64_t prev = 0;
    for (int i = 0; i < 20000; i++) {
        jt_meter_reading_t r;
        jt_error_t err = {0};
        jt_status_t s = jt_meter_read(m, &r, &err);
        if (s != JT_OK)
            fprintf(stderr, "read %d: %s\n", i, err.message);
        assert_int_equal(s, JT_OK);
        assert_true(r.energy_uj[0] >= prev);
        assert_int_equal(r.energy_uj[0] % 1000003, 0); /* never a torn number */
        prev = r.energy_uj[0];
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(prev > 0);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(names_and_kinds),
    cmocka_unit_test(single_wrap),
    cmocka_unit_test(wrap_on_dram_only),
    cmocka_unit_test(consecutive_wraps_sampled),
    cmocka_unit_test(discovery_intel_two_socket),
    cmocka_unit_test(discovery_amd_no_dram),
    cmocka_unit_test(discovery_unrelated_zones),
    cmocka_unit_test(discovery_shuffled_indices),
    cmocka_unit_test(missing_tree_message),
    cmocka_unit_test(permission_message),
    cmocka_unit_test(read_during_rewrites),
};

JT_UNIT_MAIN(tests)
