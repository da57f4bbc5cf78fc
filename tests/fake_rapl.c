/* fake_rapl.c -- a moving fake powercap tree: the test stand-in for RAPL hardware.
 *
 * Creates under --root the zones of one or two sockets (intel-rapl:S named
 * package-S with sub-zone intel-rapl:S:0 named dram, plus a top-level alias
 * symlink intel-rapl:S:0 as real hosts have) and, every --period-us, sets
 *   package-0 = idle energy + active W x busy time of --core
 *   dram-0    = dram idle energy + dram active W x busy time of --core
 *   package-1, dram-1 = their idle energy (the core is not on socket 1)
 * each written modulo its max_energy_range_uj, by temp file + rename(2). After
 * the zones it writes `truth` (seq, state, CLOCK_MONOTONIC time of the tick and
 * of the start, unwrapped uJ per zone) the same way; `state writing` marks a
 * tick in progress. Busy time comes from shared/energy/cpu_busy.c, like the estimate meter
 * (here, without /proc/schedstat: the root cpuacct's per-core nanoseconds, not 10 ms ticks, so
 * the tree resolves energy as finely as RAPL's ~1 ms updates do). The program keeps itself off
 * --core where the machine has another CPU, so its own 1 kHz updates are not charged to the
 * core it watches (real RAPL costs that core nothing).
 *
 * Idle energy is idle W x elapsed, unless idle power drifts. With
 * --idle-step-percent P and --idle-step-after S, from S seconds after the start
 * on every zone's idle power (package and dram, both sockets) is idle x (1 + P/100);
 * with --idle-ramp-wps W the package zones' idle power (not dram's) grows by a
 * further W watts per second from that moment on. So for t > S a package zone's
 * idle energy is I t + I (P/100) (t - S) + W (t - S)^2 / 2, and a dram zone's
 * I t + I (P/100) (t - S). Every tick computes this from the start, so nothing drifts
 * in the sums. Single-threaded; exits 0 on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpu_busy.h"

#define MAX_ZONES 4

typedef struct {
    char rel[64]; /* directory relative to the root */
    char id[32];  /* intel-rapl:S or intel-rapl:S:0 */
    double idle_watts, active_watts;
    int ramps; /* 1: a package zone, whose idle power follows --idle-ramp-wps */
    uint64_t range_uj;
    int dirfd;
} fake_zone_t;

/* How idle power drifts: a step of step_fraction x idle at step_after_s
 * seconds after the start, then a ramp of ramp_wps on the package zones. */
typedef struct {
    double step_fraction;
    double step_after_s;
    double ramp_wps;
} idle_drift_t;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void die(const char *what)
{
    fprintf(stderr, "fake_rapl: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Write text to dirfd/name atomically: a reader sees the old or the new file, whole. */
static void write_atomic(int dirfd, const char *name, const char *text)
{
    char tmp[96];
    snprintf(tmp, sizeof tmp, ".%.60s.tmp", name);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("create temp file");
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        die("write temp file");
    close(fd);
    if (renameat(dirfd, tmp, dirfd, name) != 0)
        die("rename temp file");
}

static void mkdir_at(int dirfd, const char *rel)
{
    if (mkdirat(dirfd, rel, 0755) != 0 && errno != EEXIST)
        die(rel);
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Run on every allowed CPU but core, when one is left; else stay where allowed. */
static void keep_off_core(int core)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || core >= CPU_SETSIZE)
        return;
    CPU_CLR(core, &set);
    if (CPU_COUNT(&set) > 0)
        sched_setaffinity(0, sizeof set, &set);
}

/* Cumulative energy of zone z in uJ, elapsed_ns after the start with busy_ns
 * of busy time on the core: the closed form of the header, never wrapped. */
static uint64_t zone_energy_uj(const fake_zone_t *z, const idle_drift_t *d, double elapsed_ns,
                               double busy_ns)
{
    /* W x ns = nJ */
    double nj = z->idle_watts * elapsed_ns + z->active_watts * busy_ns;
    double after_ns = elapsed_ns - d->step_after_s * 1e9;
    if (after_ns > 0) {
        nj += z->idle_watts * d->step_fraction * after_ns;
        if (z->ramps) /* W/s x s^2 / 2 = J; here in nJ */
            nj += d->ramp_wps * after_ns * after_ns * 1e-9 / 2.0;
    }
    return nj > 0 ? (uint64_t)(nj / 1000.0) : 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fake_rapl --root DIR [--core N] [--idle-watts W] [--active-watts W]\n"
            "       [--dram-idle-watts W] [--dram-active-watts W] [--max-range-uj N]\n"
            "       [--dram-max-range-uj N] [--period-us N] [--sockets 1|2] [--ready-file PATH]\n"
            "       [--idle-step-percent P] [--idle-step-after S] [--idle-ramp-wps W]\n");
    exit(2);
}

static double parse_num(const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "fake_rapl: bad number \"%s\"\n", s);
        usage();
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *root = NULL, *ready = NULL;
    int core = 0, sockets = 1;
    double idle = 10, active = 20, dram_idle = 2, dram_active = 3;
    uint64_t range = 50000000, dram_range = 0;
    long period_us = 1000;
    idle_drift_t drift = {0, 0, 0};
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},
        {"core", required_argument, NULL, 'c'},
        {"idle-watts", required_argument, NULL, 'i'},
        {"active-watts", required_argument, NULL, 'a'},
        {"dram-idle-watts", required_argument, NULL, 'I'},
        {"dram-active-watts", required_argument, NULL, 'A'},
        {"max-range-uj", required_argument, NULL, 'm'},
        {"dram-max-range-uj", required_argument, NULL, 'M'},
        {"period-us", required_argument, NULL, 'p'},
        {"sockets", required_argument, NULL, 's'},
        {"ready-file", required_argument, NULL, 'R'},
        {"idle-step-percent", required_argument, NULL, 'P'},
        {"idle-step-after", required_argument, NULL, 'S'},
        {"idle-ramp-wps", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            root = optarg;
            break;
        case 'c':
            core = (int)parse_num(optarg, 0, 4095);
            break;
        case 'i':
            idle = parse_num(optarg, 0, 1e4);
            break;
        case 'a':
            active = parse_num(optarg, 0, 1e4);
            break;
        case 'I':
            dram_idle = parse_num(optarg, 0, 1e4);
            break;
        case 'A':
            dram_active = parse_num(optarg, 0, 1e4);
            break;
        case 'm':
            range = (uint64_t)parse_num(optarg, 1000, 1e15);
            break;
        case 'M':
            dram_range = (uint64_t)parse_num(optarg, 1000, 1e15);
            break;
        case 'p':
            period_us = (long)parse_num(optarg, 50, 1e6);
            break;
        case 's':
            sockets = (int)parse_num(optarg, 1, 2);
            break;
        case 'R':
            ready = optarg;
            break;
        case 'P':
            drift.step_fraction = parse_num(optarg, -100, 1e4) / 100.0;
            break;
        case 'S':
            drift.step_after_s = parse_num(optarg, 0, 1e7);
            break;
        case 'W':
            drift.ramp_wps = parse_num(optarg, 0, 1e4);
            break;
        default:
            usage();
        }
    }
    if (root == NULL || optind != argc)
        usage();
    if (dram_range == 0)
        dram_range = range;

    jt_cpu_busy_t busy;
    jt_error_t err;
    if (jt_cpu_busy_init(&busy, core, NULL, &err) != JT_OK) {
        fprintf(stderr, "fake_rapl: %s\n", err.message);
        return 1;
    }
    keep_off_core(core);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the sleep must end */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (mkdir(root, 0755) != 0 && errno != EEXIST)
        die(root);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        die(root);

    fake_zone_t zones[MAX_ZONES];
    size_t nz = 0;
    for (int s = 0; s < sockets; s++) {
        char name[32], target[80];
        fake_zone_t *pkg = &zones[nz++], *dram = &zones[nz++];
        snprintf(pkg->id, sizeof pkg->id, "intel-rapl:%d", s);
        snprintf(pkg->rel, sizeof pkg->rel, "%s", pkg->id);
        snprintf(dram->id, sizeof dram->id, "intel-rapl:%d:0", s);
        snprintf(dram->rel, sizeof dram->rel, "%s/%s", pkg->id, dram->id);
        pkg->idle_watts = idle;
        pkg->active_watts = s == 0 ? active : 0;
        pkg->ramps = 1;
        pkg->range_uj = range;
        dram->idle_watts = dram_idle;
        dram->active_watts = s == 0 ? dram_active : 0;
        dram->ramps = 0;
        dram->range_uj = dram_range;
        mkdir_at(rootfd, pkg->rel);
        mkdir_at(rootfd, dram->rel);
        snprintf(target, sizeof target, "%s/%s", pkg->id, dram->id);
        if (symlinkat(target, rootfd, dram->id) != 0 && errno != EEXIST)
            die("symlink");
        for (fake_zone_t *z = pkg; z <= dram; z++) {
            z->dirfd = openat(rootfd, z->rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (z->dirfd < 0)
                die(z->rel);
            if (z == pkg)
                snprintf(name, sizeof name, "package-%d\n", s);
            else
                snprintf(name, sizeof name, "dram\n");
            write_atomic(z->dirfd, "name", name);
            char text[32];
            snprintf(text, sizeof text, "%" PRIu64 "\n", z->range_uj);
            write_atomic(z->dirfd, "max_energy_range_uj", text);
        }
    }

    uint64_t busy0 = 0, busy_last = 0, t0 = monotonic_ns(), seq = 0;
    if (jt_cpu_busy_read(&busy, &busy0, &err) != JT_OK) {
        fprintf(stderr, "fake_rapl: %s\n", err.message);
        return 1;
    }
    busy_last = busy0;
    uint64_t next = t0;
    while (!stop_requested) {
        uint64_t b, now = monotonic_ns();
        if (jt_cpu_busy_read(&busy, &b, &err) == JT_OK && b > busy_last)
            busy_last = b;
        double elapsed_ns = (double)(now - t0), busy_ns = (double)(busy_last - busy0);
        /* truth says "writing" while the zones change, "done" after: a
         * reader that sees the same done tick before and after its own read
         * of the zones knows exactly which tick it read (a seqlock). */
        char truth[512];
        int len = snprintf(truth, sizeof truth, "seq %" PRIu64 "\nstate writing\n", ++seq);
        write_atomic(rootfd, "truth", truth);
        len = snprintf(truth, sizeof truth, "seq %" PRIu64 "\nstate done\ntime %.9f\nstart %.9f\n",
                       seq, (double)now * 1e-9, (double)t0 * 1e-9);
        for (size_t i = 0; i < nz; i++) {
            uint64_t uj = zone_energy_uj(&zones[i], &drift, elapsed_ns, busy_ns);
            char text[32];
            snprintf(text, sizeof text, "%" PRIu64 "\n", uj % zones[i].range_uj);
            write_atomic(zones[i].dirfd, "energy_uj", text);
            len += snprintf(truth + len, sizeof truth - (size_t)len, "%s %" PRIu64 "\n",
                            zones[i].id, uj);
        }
        write_atomic(rootfd, "truth", truth);
        if (seq == 1 && ready != NULL) {
            int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0)
                die(ready);
            close(fd);
        }
        next += (uint64_t)period_us * 1000;
        now = monotonic_ns();
        if (next < now) /* late: skip to the next period boundary from now */
            next = now + (uint64_t)period_us * 1000;
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull),
                              .tv_nsec = (long)(next % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    for (size_t i = 0; i < nz; i++)
        close(zones[i].dirfd);
    close(rootfd);
    return 0;
}
