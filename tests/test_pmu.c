/* test_pmu.c -- hardware counters where a PMU exists, and why not where none does.
 *
 * Most hosts of this suite are virtual machines without a PMU: the hardware
 * case then checks the absent path (each counter says there is no PMU) and
 * says it skips the present path; with a PMU it checks the counts of a busy
 * loop. The window, inheritance and cgroup mechanics are checked on every
 * host with software events (task-clock, page-faults), which exist
 * everywhere.
 */
#include "unit_main.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pmu.h"

/* Whether the kernel lists a CPU PMU (x86 "cpu", hybrid "cpu_core" and
 * "cpu_atom", Arm "armv8_pmuv3_0" and the like): found by looking, not by
 * calling the code under test. */
static bool host_has_pmu(void)
{
    DIR *d = opendir("/sys/bus/event_source/devices");
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL)
        found = strcmp(de->d_name, "cpu") == 0 || strncmp(de->d_name, "cpu_", 4) == 0 ||
                strncmp(de->d_name, "armv", 4) == 0;
    closedir(d);
    return found;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Burn `seconds` of this process's CPU time. */
static void burn(double seconds)
{
    volatile unsigned long sink = 0;
    double until = cpu_seconds() + seconds;
    while (cpu_seconds() < until)
        for (int i = 0; i < 100000; i++)
            sink += (unsigned long)i;
}

static void reasons_and_names(void **state)
{
    (void)state;
    char buf[96];
    jt_pmu_open_reason(ENOENT, 2, false, buf, sizeof buf);
    assert_non_null(strstr(buf, "no hardware PMU on this host"));
    jt_pmu_open_reason(EOPNOTSUPP, 2, false, buf, sizeof buf);
    assert_non_null(strstr(buf, "no hardware PMU on this host"));
    jt_pmu_open_reason(EACCES, 2, false, buf, sizeof buf);
    assert_string_equal(buf, "perf_event_paranoid is 2; run the worker as root or lower it");
    jt_pmu_open_reason(EPERM, 3, true, buf, sizeof buf);
    assert_string_equal(buf, "perf_event_paranoid is 3; run the worker as root or lower it");
    jt_pmu_open_reason(EACCES, INT_MIN, false, buf, sizeof buf);
    assert_non_null(strstr(buf, "run the worker as root"));
    jt_pmu_open_reason(EBADF, 0, true, buf, sizeof buf);
    assert_non_null(strstr(buf, "not a cgroup"));
    jt_pmu_open_reason(ESRCH, 0, false, buf, sizeof buf);
    assert_non_null(strstr(buf, "gone"));
    assert_string_equal(jt_pmu_counter_name(JT_PMU_INSTRUCTIONS), "instructions");
    assert_string_equal(jt_pmu_counter_name(JT_PMU_CYCLES), "cycles");
    assert_string_equal(jt_pmu_counter_name(JT_PMU_CACHE_MISSES), "cache_misses");
    assert_string_equal(jt_pmu_counter_name(JT_PMU_COUNTERS), "unknown");
    int paranoid = jt_pmu_paranoid();
    assert_true(paranoid == INT_MIN || (paranoid >= -1 && paranoid <= 4));

    static char sentinel;
    jt_pmu_t *p = (jt_pmu_t *)&sentinel; /* must stay untouched */
    jt_pmu_target_t none = {.cgroup_dir = NULL, .pid = 0};
    assert_int_equal(jt_pmu_open(&none, &p), JT_ERR_INVALID);
    jt_pmu_target_t no_cpu = {.cgroup_dir = "/sys/fs/cgroup", .cpu = -1};
    assert_int_equal(jt_pmu_open(&no_cpu, &p), JT_ERR_INVALID);
    assert_ptr_equal(p, (jt_pmu_t *)&sentinel);

    jt_pmu_counts_t c;
    memset(&c, 0, sizeof c);
    c.counter[JT_PMU_INSTRUCTIONS] = (jt_pmu_value_t){.present = true, .value = 42};
    c.counter[JT_PMU_CYCLES] = (jt_pmu_value_t){.present = true, .scaled = true, .value = 7};
    snprintf(c.counter[JT_PMU_CACHE_MISSES].reason, 96, "no hardware PMU on this host");
    json_t *j = jt_pmu_counts_json(&c);
    assert_int_equal(json_integer_value(json_object_get(j, "instructions")), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "cycles")), 7);
    assert_true(json_is_null(json_object_get(j, "cache_misses")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "scaled"), 0)),
                        "cycles");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "absent"), "cache_misses")),
        "no hardware PMU on this host");
    json_decref(j);
    c.counter[JT_PMU_CYCLES].scaled = false;
    c.counter[JT_PMU_CACHE_MISSES].present = true;
    j = jt_pmu_counts_json(&c);
    assert_null(json_object_get(j, "scaled"));
    assert_null(json_object_get(j, "absent"));
    json_decref(j);
}

/* The hardware counters of this process over a busy loop. */
static void hardware_counters_of_a_busy_loop(void **state)
{
    (void)state;
    jt_pmu_target_t self = {.pid = getpid()};
    jt_pmu_t *p = NULL;
    assert_int_equal(jt_pmu_open(&self, &p), JT_OK);
    jt_pmu_start(p);
    burn(0.1);
    jt_pmu_stop(p);
    jt_pmu_counts_t c;
    size_t present = jt_pmu_read(p, &c);
    jt_pmu_close(p);
    for (int i = 0; i < JT_PMU_COUNTERS; i++)
        fprintf(stderr, "%s: %s %llu %s\n", jt_pmu_counter_name((jt_pmu_counter_t)i),
                c.counter[i].present ? "present" : "absent", (unsigned long long)c.counter[i].value,
                c.counter[i].present ? "" : c.counter[i].reason);
    if (!host_has_pmu()) {
        fprintf(stderr, "skipping the present path: this host (a virtual machine?) has no "
                        "hardware PMU; checked that every counter says so\n");
        assert_int_equal(present, 0);
        for (int i = 0; i < JT_PMU_COUNTERS; i++) {
            assert_false(c.counter[i].present);
            assert_int_equal(c.counter[i].value, 0);
            assert_non_null(strstr(c.counter[i].reason, "no hardware PMU on this host"));
        }
        return;
    }
    const jt_pmu_value_t *ins = &c.counter[JT_PMU_INSTRUCTIONS];
    if (!ins->present && strstr(ins->reason, "perf_event_paranoid") != NULL && geteuid() != 0) {
        fprintf(stderr, "skipping the present path: %s\n", ins->reason);
        return;
    }
    assert_true(ins->present);
    assert_true(ins->value > 10 * 1000 * 1000); /* 0.1 s of a loop */
    if (c.counter[JT_PMU_CYCLES].present)
        assert_true(c.counter[JT_PMU_CYCLES].value > 10 * 1000 * 1000);
}

/* Software events through the same code: only the window counts, and
 * children forked after open are counted (inherit) once they exit. */
static void window_and_children_with_software_events(void **state)
{
    (void)state;
    static const uint64_t sw[JT_PMU_COUNTERS] = {PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_CPU_CLOCK,
                                                 PERF_COUNT_SW_PAGE_FAULTS};
    jt_pmu_target_t self = {.pid = getpid()};
    jt_pmu_t *p = NULL;
    assert_int_equal(jt_pmu_open_events(&self, PERF_TYPE_SOFTWARE, sw, &p), JT_OK);
    jt_pmu_counts_t c;
    assert_int_equal(jt_pmu_read(p, &c), 0);
    assert_non_null(strstr(c.counter[0].reason, "no window"));
    burn(0.1); /* before the window: not counted */
    jt_pmu_start(p);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        burn(0.2);
        size_t len = 16u << 20;
        char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            _exit(1);
        memset(m, 1, len); /* 4096 pages: as many page faults */
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    jt_pmu_stop(p);
    assert_int_equal(jt_pmu_read(p, &c), JT_PMU_COUNTERS);
    fprintf(stderr, "task-clock %llu ns, cpu-clock %llu ns, page faults %llu\n",
            (unsigned long long)c.counter[0].value, (unsigned long long)c.counter[1].value,
            (unsigned long long)c.counter[2].value);
    assert_true(c.counter[0].value >= 190 * 1000 * 1000ull); /* the child's 0.2 s */
    assert_true(c.counter[0].value < 290 * 1000 * 1000ull);  /* not the 0.1 s before */
    assert_true(c.counter[2].value >= 4000);
    burn(0.1); /* after the window: not counted */
    jt_pmu_counts_t again;
    jt_pmu_read(p, &again);
    assert_true(again.counter[0].value == c.counter[0].value);
    jt_pmu_start(p); /* a new window starts from zero */
    jt_pmu_stop(p);
    jt_pmu_read(p, &again);
    assert_true(again.counter[0].value < 10 * 1000 * 1000ull);
    jt_pmu_close(p);
}

/* The cgroup2 mount point into buf, or false. */
static bool cgroup2_mount(char *buf, size_t len)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    if (f == NULL)
        return false;
    char dev[64], dir[256], type[32];
    bool found = false;
    while (!found && fscanf(f, "%63s %255s %31s %*[^\n]", dev, dir, type) == 3)
        if (strcmp(type, "cgroup2") == 0) {
            snprintf(buf, len, "%s", dir);
            found = true;
        }
    fclose(f);
    return found;
}

/* Whether perf_event is a cgroup v1 controller here (then v2 cannot have it). */
static bool perf_event_on_v1(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, ":perf_event:") != NULL;
    fclose(f);
    return found;
}

/* The cgroup target: a missing directory and a cgroup outside any
 * perf_event hierarchy say so; a cgroup2 directory (where perf_event lives
 * on v2) counts the CPU time of this process on its core. */
static void cgroup_target(void **state)
{
    (void)state;
    static const uint64_t sw[JT_PMU_COUNTERS] = {PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_CPU_CLOCK,
                                                 PERF_COUNT_SW_PAGE_FAULTS};
    jt_pmu_target_t missing = {.cgroup_dir = "/nonexistent-jt-cgroup", .cpu = 0};
    jt_pmu_t *p = NULL;
    jt_pmu_counts_t c;
    assert_int_equal(jt_pmu_open_events(&missing, PERF_TYPE_SOFTWARE, sw, &p), JT_OK);
    jt_pmu_start(p);
    assert_int_equal(jt_pmu_read(p, &c), 0);
    assert_non_null(strstr(c.counter[0].reason, "cannot open the box's cgroup"));
    jt_pmu_close(p);
    if (geteuid() != 0) {
        fprintf(stderr, "skipping the rest: per-CPU cgroup events need root\n");
        return;
    }

    /* A v1 hierarchy without perf_event (memory, pids...). */
    if (!perf_event_on_v1() && access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0) {
        jt_pmu_target_t v1 = {.cgroup_dir = "/sys/fs/cgroup/memory", .cpu = 0};
        assert_int_equal(jt_pmu_open_events(&v1, PERF_TYPE_SOFTWARE, sw, &p), JT_OK);
        jt_pmu_start(p);
        assert_int_equal(jt_pmu_read(p, &c), 0);
        fprintf(stderr, "v1 memory cgroup: %s\n", c.counter[0].reason);
        assert_non_null(strstr(c.counter[0].reason, "perf_event hierarchy"));
        jt_pmu_close(p);
    }

    char root[256];
    if (perf_event_on_v1() || !cgroup2_mount(root, sizeof root)) {
        fprintf(stderr, "skipping the counting path: no cgroup2 with perf_event here\n");
        return;
    }
    cpu_set_t old, one;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    jt_pmu_target_t v2 = {.cgroup_dir = root, .cpu = 0}; /* every task is below the root */
    assert_int_equal(jt_pmu_open_events(&v2, PERF_TYPE_SOFTWARE, sw, &p), JT_OK);
    jt_pmu_start(p);
    burn(0.15);
    jt_pmu_stop(p);
    size_t present = jt_pmu_read(p, &c);
    jt_pmu_close(p);
    sched_setaffinity(0, sizeof old, &old);
    fprintf(stderr, "cgroup %s on cpu 0: task-clock %llu ns%s%s\n", root,
            (unsigned long long)c.counter[0].value,
            present ? "" : ", absent: ", present ? "" : c.counter[0].reason);
    assert_int_equal(present, JT_PMU_COUNTERS);
    assert_true(c.counter[0].value >= 140 * 1000 * 1000ull);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(reasons_and_names),
    cmocka_unit_test(hardware_counters_of_a_busy_loop),
    cmocka_unit_test(window_and_children_with_software_events),
    cmocka_unit_test(cgroup_target),
};

JT_UNIT_MAIN(tests)
