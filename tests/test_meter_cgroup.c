/* test_meter_cgroup.c -- the estimate meter on a cgroup's CPU time: parsing, switches, fallback.
 *
 * The fake cases read cgroup and /proc files written by hand in a private
 * temporary directory. real_cgroup_counts_child (root only, else exit 77)
 * makes a cgroup of its own under /sys/fs/cgroup, moves a busy child into it
 * and removes both in its teardown, also when a check fails.
 */
#include "unit_main.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpu_busy.h"
#include "fake_tree.h"
#include "meter.h"

#define IDLE_W 2.0
#define ACTIVE_W 10.0

/* What a case leaves behind for its teardown. */
typedef struct {
    char tmp[64];     /* fake tree, "" when none */
    char cgroup[128]; /* real cgroup made, "" when none */
    pid_t child;      /* busy child, 0 when none */
    jt_meter_t *meter;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    jt_meter_close(f->meter);
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    /* a cgroup whose last task just died may refuse rmdir for a moment */
    for (int i = 0; f->cgroup[0] != '\0' && i < 100 && rmdir(f->cgroup) != 0 && errno == EBUSY;
         i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (f->tmp[0] != '\0')
        jt_fake_tree_remove(f->tmp);
    free(f);
    return 0;
}

/* Write text to f->tmp/rel, making its directories. */
static void put_count(fixture_t *f, const char *rel, const char *text)
{
    assert_int_equal(jt_fake_put(f->tmp, rel, text), 0);
}

/* "<tmp>/<rel>" into buf. */
static const char *at(const fixture_t *f, const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", f->tmp, rel);
    return buf;
}

/* A fake /proc under f->tmp/proc whose cpu1 has busy_ticks of user time (no schedstat). */
static void put_proc_stat(fixture_t *f, unsigned long busy_ticks)
{
    char text[256];
    snprintf(text, sizeof text,
             "cpu  1 0 0 9 0 0 0 0 0 0\ncpu0 0 0 0 9 0 0 0 0 0 0\ncpu1 %lu 0 0 9 0 0 0 0 0 0\n",
             busy_ticks);
    put_count(f, "proc/stat", text);
}

/* The estimate meter on f's fake /proc, measurement core 1. */
static jt_meter_t *open_fake_estimate(fixture_t *f)
{
    char proc[96];
    setenv("JOULETRACE_PROC_ROOT", at(f, "proc", proc, sizeof proc), 1);
    jt_meter_config_t cfg = {.kind = JT_METER_ESTIMATE,
                             .measurement_core = 1,
                             .estimate_idle_watts = IDLE_W,
                             .estimate_active_watts = ACTIVE_W};
    jt_error_t err = {0};
    jt_status_t s = jt_meter_open(&cfg, &f->meter, &err);
    if (s != JT_OK)
        fprintf(stderr, "open: %s\n", err.message);
    assert_int_equal(s, JT_OK);
    return f->meter;
}

/* Busy seconds between two readings: the energy less the model's idle part. */
static double busy_between(const jt_meter_reading_t *a, const jt_meter_reading_t *b)
{
    return (jt_meter_joules(a, b, 0) - IDLE_W * (b->time - a->time)) / ACTIVE_W;
}

/* cpuacct.usage (ns) wins over cpu.stat; cpu.stat's usage_usec is us; bad files say which. */
static void cgroup_sources_parse(void **state)
{
    fixture_t *f = *state;
    char dir[96];
    jt_cpu_busy_t b;
    jt_error_t err = {0};
    uint64_t ns = 0;
    assert_int_equal(jt_fake_tempdir(f->tmp, sizeof f->tmp), 0);

    put_count(f, "v2/cpu.stat", "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n");
    assert_int_equal(jt_cpu_busy_init_cgroup(&b, at(f, "v2", dir, sizeof dir), &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_CGROUP_V2);
    assert_string_equal(jt_cpu_busy_source_name(b.source), "cgroup-v2-cpu.stat");
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_OK);
    assert_int_equal(ns, 1234567000ull);
    put_count(f, "v2/cpu.stat", "user_usec 1\nusage_usec 99\n"); /* any line order */
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_OK);
    assert_int_equal(ns, 99000ull);

    /* a v1 cpu,cpuacct group has both files; cpuacct.usage is the one read */
    put_count(f, "v1/cpuacct.usage", "987654321\n");
    put_count(f, "v1/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
    assert_int_equal(jt_cpu_busy_init_cgroup(&b, at(f, "v1", dir, sizeof dir), &err), JT_OK);
    assert_int_equal(b.source, JT_CPU_BUSY_CGROUP_V1);
    assert_string_equal(jt_cpu_busy_source_name(b.source), "cgroup-v1-cpuacct");
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_OK);
    assert_int_equal(ns, 987654321ull);
    put_count(f, "v1/cpuacct.usage", "12x\n");
    ns = 7;
    assert_int_equal(jt_cpu_busy_read(&b, &ns, &err), JT_ERR_IO);
    assert_int_equal(ns, 7); /* untouched on failure */
    assert_non_null(strstr(err.message, "cpuacct.usage"));

    /* neither usable: the error names the directory; empty and absent are refused */
    put_count(f, "bad/cpu.stat", "nr_periods 0\n");
    assert_int_equal(jt_cpu_busy_init_cgroup(&b, at(f, "bad", dir, sizeof dir), &err), JT_ERR_IO);
    assert_non_null(strstr(err.message, dir));
    assert_non_null(strstr(err.message, "usage_usec"));
    assert_int_equal(jt_cpu_busy_init_cgroup(&b, "", &err), JT_ERR_INVALID);
    assert_int_equal(jt_cpu_busy_init_cgroup(&b, NULL, &err), JT_ERR_INVALID);
    assert_int_equal(jt_cpu_busy_init_cgroup(&b, at(f, "absent", dir, sizeof dir), &err),
                     JT_ERR_IO);
}

/* Write text to f->tmp/rel (unless rel is NULL), read m into *next, and check
 * that the energy never fell since *prev and that busy_s seconds were counted. */
static void expect_busy(fixture_t *f, jt_meter_t *m, const char *rel, const char *text,
                        const jt_meter_reading_t *prev, jt_meter_reading_t *next, double busy_s)
{
    if (rel != NULL)
        put_count(f, rel, text);
    assert_int_equal(jt_meter_read(m, next, NULL), JT_OK);
    assert_true(next->energy_uj[0] >= prev->energy_uj[0] && next->time >= prev->time);
    double got = busy_between(prev, next);
    if (fabs(got - busy_s) >= 1e-5)
        fprintf(stderr, "busy %.9f s, expected %.9f s\n", got, busy_s);
    assert_true(fabs(got - busy_s) < 1e-5);
}

/* The meter counts the followed cgroup exactly, keeps what each source
 * counted across switches, and never runs backwards: not when a new box
 * starts lower, nor when a cgroup is made again at the same path. */
static void estimate_follows_cgroup(void **state)
{
    fixture_t *f = *state;
    char v1[96], v2[96];
    jt_error_t err = {0};
    jt_meter_reading_t r[8];
    assert_int_equal(jt_fake_tempdir(f->tmp, sizeof f->tmp), 0);
    put_proc_stat(f, 100);
    put_count(f, "box1/cpuacct.usage", "5000000000\n");
    put_count(f, "box2/cpu.stat", "usage_usec 10\n");
    jt_meter_t *m = open_fake_estimate(f);
    assert_string_equal(jt_meter_cpu_source(m), "proc-stat-ticks");

    assert_int_equal(jt_meter_follow_cgroup(m, at(f, "box1", v1, sizeof v1), &err), JT_OK);
    assert_string_equal(jt_meter_cpu_source(m), "cgroup-v1-cpuacct");
    assert_int_equal(jt_meter_read(m, &r[0], NULL), JT_OK);
    put_proc_stat(f, 100000); /* the core is busy with others: not the box's time */
    expect_busy(f, m, "box1/cpuacct.usage", "5250000123\n", &r[0], &r[1], 0.250000123);

    /* a respawned runner's box: lower count, other version */
    assert_int_equal(jt_meter_follow_cgroup(m, at(f, "box2", v2, sizeof v2), &err), JT_OK);
    assert_string_equal(jt_meter_cpu_source(m), "cgroup-v2-cpu.stat");
    expect_busy(f, m, NULL, NULL, &r[1], &r[2], 0.0);
    expect_busy(f, m, "box2/cpu.stat", "usage_usec 500010\n", &r[2], &r[3], 0.5);

    /* made again at the same path: starts over from 0, nothing is taken back */
    expect_busy(f, m, "box2/cpu.stat", "usage_usec 3\n", &r[3], &r[4], 0.0);
    expect_busy(f, m, "box2/cpu.stat", "usage_usec 100003\n", &r[4], &r[5], 0.1);

    /* time counted since the last read is kept when the source changes */
    put_count(f, "box2/cpu.stat", "usage_usec 300003\n");
    assert_int_equal(jt_meter_follow_cgroup(m, at(f, "box1", v1, sizeof v1), &err), JT_OK);
    expect_busy(f, m, NULL, NULL, &r[5], &r[6], 0.2);
}

/* Without a box (none given, or one without CPU accounting) the meter counts
 * the measurement core: schedstat's ns where the kernel has it, else ticks. */
static void estimate_fallback_without_cgroup(void **state)
{
    fixture_t *f = *state;
    char dir[96];
    jt_error_t err = {0};
    jt_meter_reading_t a, b;
    assert_int_equal(jt_fake_tempdir(f->tmp, sizeof f->tmp), 0);
    put_proc_stat(f, 100);
    put_count(f, "proc/schedstat", "version 15\ntimestamp 1\ncpu1 0 0 0 0 0 0 1000000000 0 0\n");
    jt_meter_t *m = open_fake_estimate(f);
    assert_string_equal(jt_meter_cpu_source(m), "proc-schedstat");
    assert_int_equal(jt_meter_follow_cgroup(m, NULL, &err), JT_OK);
    assert_int_equal(jt_meter_follow_cgroup(m, "", &err), JT_OK);
    assert_string_equal(jt_meter_cpu_source(m), "proc-schedstat");
    assert_int_equal(jt_meter_read(m, &a, NULL), JT_OK);
    expect_busy(f, m, "proc/schedstat",
                "version 15\ntimestamp 1\ncpu1 0 0 0 0 0 0 1400000000 0 0\n", &a, &b, 0.4);

    /* a box whose cgroup counts nothing: the core, and an error that says so */
    put_count(f, "nocpu/memory.max", "max\n");
    assert_int_equal(jt_meter_follow_cgroup(m, at(f, "nocpu", dir, sizeof dir), &err), JT_ERR_IO);
    assert_non_null(strstr(err.message, dir));
    assert_non_null(strstr(err.message, "measurement core 1 (proc-schedstat)"));
    assert_string_equal(jt_meter_cpu_source(m), "proc-schedstat");
    assert_int_equal(jt_meter_read(m, &a, NULL), JT_OK);
    expect_busy(f, m, "proc/schedstat",
                "version 15\ntimestamp 1\ncpu1 0 0 0 0 0 0 1500000000 0 0\n", &a, &b, 0.1);
    jt_meter_close(m);
    f->meter = NULL;

    /* no schedstat: ticks */
    char path[96];
    assert_int_equal(unlink(at(f, "proc/schedstat", path, sizeof path)), 0);
    m = open_fake_estimate(f);
    assert_string_equal(jt_meter_cpu_source(m), "proc-stat-ticks");

    /* hardware meters measure no processes */
    assert_int_equal(jt_fake_zone(f->tmp, "intel-rapl:0", "package-0", 1000000, 5), 0);
    jt_meter_config_t cfg = {.kind = JT_METER_RAPL_SYSFS};
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", f->tmp);
    jt_meter_t *hw = NULL;
    assert_int_equal(jt_meter_open(&cfg, &hw, &err), JT_OK);
    assert_null(jt_meter_cpu_source(hw));
    assert_int_equal(jt_meter_follow_cgroup(hw, dir, &err), JT_OK);
    jt_meter_close(hw);
}

/* CPU seconds used so far by this process. */
static double own_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Child: wait for a byte on fd, then burn about `seconds` of CPU and exit. */
static void busy_child(int fd, double seconds)
{
    char c;
    if (read(fd, &c, 1) != 1)
        _exit(1);
    double end = own_cpu_seconds() + seconds;
    volatile unsigned long spin = 0;
    while (own_cpu_seconds() < end)
        for (int i = 0; i < 10000; i++)
            spin++;
    _exit(0);
}

/* A real cgroup of this host's kind (v2 unified, else v1 cpuacct) into f->cgroup. */
static void make_real_cgroup(fixture_t *f)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: making a cgroup needs root\n");
        exit(77);
    }
    const char *parent = NULL;
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
        parent = "/sys/fs/cgroup";
    else if (access("/sys/fs/cgroup/cpuacct/cpuacct.usage", F_OK) == 0)
        parent = "/sys/fs/cgroup/cpuacct";
    char dir[128];
    snprintf(dir, sizeof dir, "%s/jt-meter-test-%ld", parent ? parent : "", (long)getpid());
    if (parent == NULL || mkdir(dir, 0755) != 0) {
        fprintf(stderr, "skipped: no writable cgroup v2 tree or v1 cpuacct here (%s: %s)\n", dir,
                parent ? strerror(errno) : "absent");
        exit(77);
    }
    memcpy(f->cgroup, dir, sizeof dir);
}

/* A busy child moved into a cgroup of our own: the meter's busy time moves by
 * the child's CPU time (its rusage), and not by what this process burns. */
static void real_cgroup_counts_child(void **state)
{
    fixture_t *f = *state;
    make_real_cgroup(f);
    int go[2];
    assert_int_equal(pipe(go), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        close(go[1]);
        busy_child(go[0], 0.3);
    }
    close(go[0]);
    char procs[160], pid[32];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", f->cgroup);
    snprintf(pid, sizeof pid, "%ld", (long)f->child);
    FILE *fp = fopen(procs, "w");
    assert_non_null(fp);
    assert_true(fputs(pid, fp) >= 0);
    assert_int_equal(fclose(fp), 0);

    jt_meter_config_t cfg = {.kind = JT_METER_ESTIMATE,
                             .measurement_core = 0,
                             .estimate_idle_watts = IDLE_W,
                             .estimate_active_watts = ACTIVE_W};
    jt_error_t err = {0};
    unsetenv("JOULETRACE_PROC_ROOT");
    assert_int_equal(jt_meter_open(&cfg, &f->meter, &err), JT_OK);
    assert_int_equal(jt_meter_follow_cgroup(f->meter, f->cgroup, &err), JT_OK);
    const char *source = jt_meter_cpu_source(f->meter);
    fprintf(stderr, "cgroup %s: source %s\n", f->cgroup, source);
    assert_true(strcmp(source, "cgroup-v1-cpuacct") == 0 ||
                strcmp(source, "cgroup-v2-cpu.stat") == 0);

    jt_meter_reading_t a, b;
    assert_int_equal(jt_meter_read(f->meter, &a, NULL), JT_OK);
    double mine = own_cpu_seconds() + 0.1; /* busy here too: not the box's time */
    volatile unsigned long spin = 0;
    while (own_cpu_seconds() < mine)
        spin++;
    assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    struct rusage ru;
    int status = 0;
    assert_int_equal(wait4(f->child, &status, 0, &ru), f->child);
    f->child = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(jt_meter_read(f->meter, &b, NULL), JT_OK);
    double child = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    double counted = busy_between(&a, &b);
    fprintf(stderr, "child CPU %.6f s (rusage), meter %.6f s, this process burnt 0.1 s beside\n",
            child, counted);
    assert_true(child >= 0.3);
    assert_true(fabs(counted - child) <= 0.02 * child + 0.003);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(cgroup_sources_parse, setup, teardown),
    cmocka_unit_test_setup_teardown(estimate_follows_cgroup, setup, teardown),
    cmocka_unit_test_setup_teardown(estimate_fallback_without_cgroup, setup, teardown),
    cmocka_unit_test_setup_teardown(real_cgroup_counts_child, setup, teardown),
};

JT_UNIT_MAIN(tests)
