/* test_meter_backends.c -- unit tests of the estimate and rapl-perf meters, cpu_busy and auto. */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit_main.h"

#include "cpu_busy.h"
#include "fake_tree.h"
#include "meter.h"
#include "meter_detail.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A /proc/stat whose cpu1 line has the given user ticks, behind a long line. */
static void write_stat(const char *dir, unsigned long user_ticks)
{
    static char text[40000];
    int n = snprintf(text, sizeof text, "junk ");
    memset(text + n, '7', 20000);
    n += 20000;
    n += snprintf(text + n, sizeof text - (size_t)n,
                  "\ncpu  1 2 3 4 5 6 7 8 0 0\ncpu10 999 9 9 9 9 9 9 9 0 0\n"
                  "cpu0 9 9 9 9 9 9 9 9 0 0\ncpu1 %lu 1 2 1000 7 3 4 5 0 0\nintr 1 2 3\n",
                  user_ticks);
    assert_int_equal(jt_fake_write(dir, "stat", text), 0);
}

static void cpu_busy_sources(void **state)
{
    (void)state;
    char dir[64];
    jt_cpu_busy_t b;
    jt_error_t err = {0};
    uint64_t ns;
    long hz = sysconf(_SC_CLK_TCK);
    assert_int_equal(jt_fake_tempdir(dir, sizeof dir), 0);
    write_stat(dir, 100);
    assert_int_equal(jt_cpu_busy_init(&b, 1, dir, &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_PROC_STAT);
    assert_string_equal(jt_cpu_busy_source_name(b.source), "proc-stat-ticks");
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_OK);
    /* user + nice + system + irq + softirq + steal; not idle or iowait */
    assert_int_equal(ns, (uint64_t)(100 + 1 + 2 + 3 + 4 + 5) * (1000000000ull / (uint64_t)hz));
    assert_int_equal(jt_cpu_busy_init(&b, 2, dir, &err), JT_ERR_INVALID);
    assert_non_null(strstr(err.message, "cpu2"));

    assert_int_equal(jt_fake_write(dir, "schedstat",
                                   "version 15\ntimestamp 4295\n"
                                   "cpu0 0 0 1 2 3 4 111 5 6\ndomain0 3 1 2 3\n"
                                   "cpu1 0 0 1 2 3 4 123456789 5 6\n"),
                     0);
    assert_int_equal(jt_cpu_busy_init(&b, 1, dir, &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_SCHEDSTAT);
    assert_string_equal(jt_cpu_busy_source_name(b.source), "proc-schedstat");
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_OK);
    assert_int_equal(ns, 123456789);
    jt_fake_tree_remove(dir);
    assert_int_equal(jt_cpu_busy_init(&b, 0, "/nonexistent", &err), JT_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/stat"));
}

/* The root cpuacct cgroup's per-core nanoseconds: chosen before /proc/stat ticks, only in a
 * hierarchy's real root (release_agent), falling back to the ticks otherwise. */
static void cpu_busy_root_cpuacct(void **state)
{
    (void)state;
    char proc[64], cg[64];
    jt_cpu_busy_t b;
    jt_error_t err = {0};
    uint64_t ns = 0;
    assert_int_equal(jt_fake_tempdir(proc, sizeof proc), 0);
    assert_int_equal(jt_fake_tempdir(cg, sizeof cg), 0);
    write_stat(proc, 100);
    assert_int_equal(jt_fake_write(cg, "release_agent", "\n"), 0);
    assert_int_equal(jt_fake_write(cg, "cpuacct.usage_percpu", "111 222333444 555 \n"), 0);
    setenv("JOULETRACE_CPUACCT_ROOT", cg, 1);
    assert_int_equal(jt_cpu_busy_init(&b, 1, proc, &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_CPUACCT_CORE);
    assert_string_equal(jt_cpu_busy_source_name(b.source), "cpuacct-percpu");
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_OK);
    assert_int_equal(ns, 222333444);
    assert_int_equal(jt_fake_write(cg, "cpuacct.usage_percpu", "111 222333999 555\n"), 0);
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_OK);
    assert_int_equal(ns, 222333999);
    assert_int_equal(jt_fake_write(cg, "cpuacct.usage_percpu", "111 x 555\n"), 0);
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_ERR_IO);
    assert_non_null(strstr(err.message, "core 1"));

    /* fewer fields than the core: the ticks */
    assert_int_equal(jt_fake_write(cg, "cpuacct.usage_percpu", "111\n"), 0);
    assert_int_equal(jt_cpu_busy_init(&b, 1, proc, &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_PROC_STAT);
    /* not a hierarchy's root (a container's own subtree): the ticks */
    assert_int_equal(jt_fake_write(cg, "cpuacct.usage_percpu", "111 222 555\n"), 0);
    char agent[128];
    snprintf(agent, sizeof agent, "%s/release_agent", cg);
    assert_int_equal(unlink(agent), 0);
    assert_int_equal(jt_cpu_busy_init(&b, 1, proc, &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_PROC_STAT);
    /* a fake proc tree without the variable never reads the host's cgroups */
    unsetenv("JOULETRACE_CPUACCT_ROOT");
    assert_int_equal(jt_cpu_busy_init(&b, 1, proc, &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_PROC_STAT);
    jt_fake_tree_remove(cg);
    jt_fake_tree_remove(proc);

    /* This host: where the real /proc has no schedstat and cgroup v1 has a cpuacct root, a
     * pinned spin of 0.3 s reads as 0.3 s (ticks would be off by up to 20 ms). */
    jt_cpu_busy_t host;
    if (access("/sys/fs/cgroup/cpuacct/release_agent", F_OK) != 0 ||
        jt_cpu_busy_init(&host, 0, "/proc", &err) != JT_OK ||
        host.source != JT_CPU_BUSY_CPUACCT_CORE) {
        printf("# the present path on this host skipped: no cgroup v1 cpuacct root, or "
               "/proc/schedstat is there\n");
        return;
    }
    int core = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
    assert_int_equal(jt_cpu_busy_init(&host, core, NULL, &err), JT_OK);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    assert_int_equal(sched_setaffinity(0, sizeof set, &set), 0);
    uint64_t b0 = 0, b1 = 0;
    assert_int_equal(jt_cpu_busy_read(&host, &b0, &err), JT_OK);
    double t0 = now_s();
    volatile unsigned long spin = 0;
    while (now_s() - t0 < 0.3)
        spin++;
    assert_int_equal(jt_cpu_busy_read(&host, &b1, &err), JT_OK);
    double busy = (double)(b1 - b0) * 1e-9, wall = now_s() - t0;
    printf("# core %d: %.4f s busy in %.4f s of spinning\n", core, busy, wall);
    assert_true(busy >= 0.95 * 0.3 && busy <= wall + 0.005);
}

static jt_meter_t *open_estimate(int core, double idle, double active)
{
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_ESTIMATE;
    cfg.measurement_core = core;
    cfg.estimate_idle_watts = idle;
    cfg.estimate_active_watts = active;
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    jt_status_t s = jt_meter_open(&cfg, &m, &err);
    if (s != JT_OK)
        fprintf(stderr, "open: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    return m;
}

/* idle x elapsed + active x busy, checked on a fake /proc/stat. */
static void estimate_model_exact(void **state)
{
    (void)state;
    char dir[64];
    assert_int_equal(jt_fake_tempdir(dir, sizeof dir), 0);
    write_stat(dir, 100);
    setenv("JOULETRACE_PROC_ROOT", dir, 1);
    jt_meter_t *m = open_estimate(1, 10, 20);
    assert_int_equal(jt_meter_kind(m), JT_METER_ESTIMATE);
    assert_true(jt_meter_is_estimate(m));
    assert_int_equal(jt_meter_domain_count(m), 1);
    assert_int_equal(jt_meter_domain(m, 0), JT_DOMAIN_PACKAGE);
    jt_meter_reading_t a, b, c;
    assert_int_equal(jt_meter_read(m, &a, NULL), JT_OK);
    write_stat(dir, 100 + (unsigned long)sysconf(_SC_CLK_TCK)); /* one busy second */
    assert_int_equal(jt_meter_read(m, &b, NULL), JT_OK);
    double idle_part = 10 * (b.time - a.time);
    assert_true(fabs(jt_meter_joules(&a, &b, 0) - 20.0 - idle_part) < 0.01);
    write_stat(dir, 50); /* busy time going backwards never lowers the energy */
    assert_int_equal(jt_meter_read(m, &c, NULL), JT_OK);
    assert_true(c.energy_uj[0] >= b.energy_uj[0]);
    assert_true(fabs(jt_meter_joules(&b, &c, 0) - 10 * (c.time - b.time)) < 0.001);
    jt_meter_close(m);
    jt_fake_tree_remove(dir);
}

/* On the real /proc: a spinning pinned core reads as busy; monotonic; labelled. */
static void estimate_real_busy_core(void **state)
{
    (void)state;
    int core = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    assert_int_equal(sched_setaffinity(0, sizeof set, &set), 0);
    jt_meter_t *m = open_estimate(core, 5, 15);
    assert_true(jt_meter_is_estimate(m));
    jt_meter_reading_t a, prev, r;
    assert_int_equal(jt_meter_read(m, &a, NULL), JT_OK);
    prev = a;
    double t_end = now_s() + 0.6;
    volatile unsigned long spin = 0;
    while (now_s() < t_end) {
        for (int i = 0; i < 100000; i++)
            spin++;
        assert_int_equal(jt_meter_read(m, &r, NULL), JT_OK);
        assert_true(r.energy_uj[0] >= prev.energy_uj[0]);
        assert_true(r.time >= prev.time);
        prev = r;
    }
    double el = r.time - a.time, j = jt_meter_joules(&a, &r, 0);
    double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
    /* the core was busy the whole time (by us or anyone else) */
    assert_true(j >= 5 * el + 15 * (el - 3 * tick) * 0.9);
    assert_true(j <= 5 * el + 15 * (el + 3 * tick));
    jt_meter_close(m);
}

static void estimate_bad_config(void **state)
{
    (void)state;
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_ESTIMATE;
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    assert_int_equal(jt_meter_open(&cfg, &m, &err), JT_ERR_CONFIG); /* 0 W and 0 W */
    cfg.estimate_idle_watts = -1;
    cfg.estimate_active_watts = 10;
    assert_int_equal(jt_meter_open(&cfg, &m, &err), JT_ERR_CONFIG);
    cfg.estimate_idle_watts = NAN;
    assert_int_equal(jt_meter_open(&cfg, &m, &err), JT_ERR_CONFIG);
    cfg.estimate_idle_watts = 10;
    cfg.measurement_core = 100000;
    assert_int_not_equal(jt_meter_open(&cfg, &m, &err), JT_OK);
    assert_non_null(strstr(err.message, "100000"));
    assert_null(m);
}

#define PMU "bus/event_source/devices/power"

/* A fake /sys with a RAPL PMU and a 2-socket, 4-CPU topology. */
static void fake_sysfs(char *dir, size_t len, const char *type)
{
    char path[256];
    assert_int_equal(jt_fake_tempdir(dir, len), 0);
    const char *dirs[] = {
        "bus",         "bus/event_source", "bus/event_source/devices", PMU,
        PMU "/events", "devices",          "devices/system",           "devices/system/cpu"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, dirs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    assert_int_equal(jt_fake_write(dir, PMU "/type", type), 0);
    const char *ev[][2] = {{"energy-pkg", "event=0x02"},
                           {"energy-ram", "event=0x03"},
                           {"energy-gpu", "event=0x04"},
                           {"energy-cores", "event=0x01"}};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, PMU "/events/%s", ev[i][0]);
        assert_int_equal(jt_fake_write(dir, path, ev[i][1]), 0);
        snprintf(path, sizeof path, PMU "/events/%s.scale", ev[i][0]);
        assert_int_equal(
            jt_fake_write(dir, path,
                          i == 1 ? "1.52587890625e-05\n" : "2.3283064365386962890625e-10\n"),
            0);
        snprintf(path, sizeof path, PMU "/events/%s.unit", ev[i][0]);
        assert_int_equal(jt_fake_write(dir, path, "Joules\n"), 0);
    }
    for (int cpu = 0; cpu < 4; cpu++) {
        snprintf(path, sizeof path, "%s/devices/system/cpu/cpu%d", dir, cpu);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/devices/system/cpu/cpu%d/topology", dir, cpu);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        assert_int_equal(jt_fake_write(dir, path, cpu < 2 ? "0\n" : "1\n"), 0);
    }
    assert_int_equal(jt_fake_write(dir, "devices/system/cpu/cpu2/online", "0\n"), 0);
}

static void perf_discovery(void **state)
{
    (void)state;
    char dir[64];
    fake_sysfs(dir, sizeof dir, "33\n");
    jt_perf_plan_t plan;
    jt_error_t err = {0};
    assert_int_equal(jt_rapl_perf_discover(dir, 0, &plan, &err), JT_OK);
    assert_int_equal(plan.pmu_type, 33);
    assert_int_equal(plan.cpu, 0);
    assert_int_equal(plan.n, 3); /* pkg, ram, cores; gpu skipped */
    assert_int_equal(plan.domain[0], JT_DOMAIN_PACKAGE);
    assert_int_equal(plan.config[0], 2);
    assert_int_equal(plan.domain[1], JT_DOMAIN_DRAM);
    assert_int_equal(plan.config[1], 3);
    assert_true(plan.scale[1] == 1.52587890625e-05);
    assert_int_equal(plan.domain[2], JT_DOMAIN_CORE);
    assert_true(plan.scale[0] == 0x1p-32);
    assert_int_equal(jt_rapl_perf_discover(dir, 1, &plan, &err), JT_OK);
    assert_int_equal(plan.cpu, 3); /* cpu2 is offline */
    assert_int_equal(jt_rapl_perf_discover(dir, 2, &plan, &err), JT_ERR_IO);
    assert_non_null(strstr(err.message, "socket 2"));

    assert_int_equal(jt_fake_write(dir, PMU "/events/energy-ram.unit", "Watts\n"), 0);
    assert_int_equal(jt_rapl_perf_discover(dir, 0, &plan, &err), JT_ERR_INVALID);
    assert_non_null(strstr(err.message, "energy-ram.unit"));
    assert_int_equal(jt_fake_write(dir, PMU "/events/energy-ram.unit", "Joules\n"), 0);
    assert_int_equal(jt_fake_write(dir, PMU "/events/energy-pkg", "event=zz\n"), 0);
    assert_int_equal(jt_rapl_perf_discover(dir, 0, &plan, &err), JT_ERR_INVALID);
    assert_non_null(strstr(err.message, "event=zz"));
    assert_int_equal(jt_fake_write(dir, PMU "/events/energy-pkg", "event=0x02,umask=1\n"), 0);
    assert_int_equal(jt_rapl_perf_discover(dir, 0, &plan, &err), JT_ERR_INVALID);
    char path[128];
    snprintf(path, sizeof path, "%s/" PMU "/events/energy-pkg", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(jt_rapl_perf_discover(dir, 0, &plan, &err), JT_ERR_IO);
    assert_non_null(strstr(err.message, "JOULETRACE_METER=estimate"));
    snprintf(path, sizeof path, "%s/" PMU "/type", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(jt_rapl_perf_discover(dir, 0, &plan, &err), JT_ERR_IO);
    assert_non_null(strstr(err.message, "no RAPL perf PMU"));
    assert_non_null(strstr(err.message, "JOULETRACE_METER=estimate"));
    jt_fake_tree_remove(dir);
}

/* The discovery succeeds on the fake tree; perf_event_open then fails
 * (no such PMU type here) with a message that names the event and CPU. */
static void perf_open_failure_message(void **state)
{
    (void)state;
    char dir[64];
    fake_sysfs(dir, sizeof dir, "99999\n");
    setenv("JOULETRACE_SYSFS_ROOT", dir, 1);
    assert_string_equal(jt_rapl_perf_sysfs_root(), dir);
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_RAPL_PERF;
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    assert_int_equal(jt_meter_open(&cfg, &m, &err), JT_ERR_IO);
    assert_null(m);
    fprintf(stderr, "message: %s\n", err.message);
    assert_non_null(strstr(err.message, "perf_event_open"));
    assert_non_null(strstr(err.message, "cpu 0"));
    assert_non_null(strstr(err.message, "package"));
    jt_fake_tree_remove(dir);
}

/* auto tries hardware only: with neither counter it fails, never estimates. */
static void auto_never_estimates(void **state)
{
    (void)state;
    setenv("JOULETRACE_SYSFS_ROOT", "/nonexistent-sys", 1);
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_AUTO;
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "/nonexistent-powercap");
    cfg.estimate_idle_watts = 10;
    cfg.estimate_active_watts = 10;
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    assert_int_not_equal(jt_meter_open(&cfg, &m, &err), JT_OK);
    assert_null(m);
    assert_non_null(strstr(err.message, "rapl-sysfs: "));
    assert_non_null(strstr(err.message, "/nonexistent-powercap"));
    assert_non_null(strstr(err.message, "rapl-perf: "));
    assert_non_null(strstr(err.message, "JOULETRACE_METER=estimate"));

    char root[64];
    assert_int_equal(jt_fake_tempdir(root, sizeof root), 0);
    assert_int_equal(jt_fake_zone(root, "intel-rapl:0", "package-0", 1000000, 5), 0);
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", root);
    assert_int_equal(jt_meter_open(&cfg, &m, &err), JT_OK);
    assert_int_equal(jt_meter_kind(m), JT_METER_RAPL_SYSFS);
    jt_meter_close(m);
    jt_fake_tree_remove(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cpu_busy_sources),        cmocka_unit_test(estimate_model_exact),
    cmocka_unit_test(estimate_real_busy_core), cmocka_unit_test(estimate_bad_config),
    cmocka_unit_test(perf_discovery),          cmocka_unit_test(perf_open_failure_message),
    cmocka_unit_test(auto_never_estimates),    cmocka_unit_test(cpu_busy_root_cpuacct),
};

JT_UNIT_MAIN(tests)
