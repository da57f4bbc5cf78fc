/* bench_meter.c -- cost of a meter read and of the sampler, and trial-boundary error, on fake_rapl.
 *
 * Runs tests' fake_rapl (15 W package + 3 W dram, constant, so the energy of
 * any window is known exactly; 2 J wrap so every 200 ms window crosses a
 * wrap; 1 ms updates) on tmpfs and prints one table:
 *   - one all-domain jt_meter_read while the tree moves (median, p99 of N);
 *   - the sampler thread's CPU time at 100 Hz and 1 kHz (5 s each);
 *   - 200 ms windows read like trial boundaries, against the fake's truth at
 *     the very ticks read (unwrapping) and against the known energy at the
 *     read instants (what a trial sees, incl. the 1 ms counter updates).
 * Usage: bench_meter [reads] (default 10000). Single-threaded apart from the sampler.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "fake_rapl.h"
#include "fake_tree.h"
#include "meter.h"
#include "platform_floor.h"
#include "sampler.h"

#define IDLE_W 15.0
#define DRAM_W 3.0
#define WINDOWS 25

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* CPU seconds of this process's thread named jt-sampler (from its
 * schedstat, in ns), or of the whole process when that is unavailable. */
static double sampler_cpu_seconds(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[300], text[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%.200s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        char *got = fgets(text, sizeof text, f);
        fclose(f);
        if (got == NULL || strcmp(text, "jt-sampler\n") != 0)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%.200s/schedstat", de->d_name);
        unsigned long long ns;
        f = fopen(path, "r");
        int ok = f != NULL && fscanf(f, "%llu", &ns) == 1;
        if (f != NULL)
            fclose(f);
        closedir(d);
        if (ok)
            return (double)ns * 1e-9;
        d = NULL;
        break;
    }
    if (d != NULL)
        closedir(d);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
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

int main(int argc, char **argv)
{
    long nreads = argc > 1 ? atol(argv[1]) : 10000;
    if (nreads < 100)
        nreads = 100;
    char root[64];
    if (jt_fake_tempdir(root, sizeof root) != 0)
        return 1;
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.idle_watts = IDLE_W;
    o.active_watts = 0;
    o.dram_idle_watts = DRAM_W;
    o.dram_active_watts = 0;
    o.max_range_uj = 2000000;
    jt_fake_rapl_t f;
    if (jt_fake_rapl_start(root, &o, &f) != 0)
        return 1;
    jt_meter_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = JT_METER_RAPL_SYSFS;
    snprintf(cfg.powercap_root, sizeof cfg.powercap_root, "%s", root);
    jt_meter_t *m = NULL;
    jt_error_t err = {0};
    if (jt_meter_open(&cfg, &m, &err) != JT_OK) {
        fprintf(stderr, "%s\n", err.message);
        jt_fake_rapl_stop(&f);
        return 1;
    }
    size_t nd = jt_meter_domain_count(m);

    /* 1. one all-domain read */
    double *lat = malloc((size_t)nreads * sizeof *lat);
    for (long i = 0; i < nreads; i++) {
        jt_meter_reading_t r;
        double t0 = now_s();
        if (jt_meter_read(m, &r, &err) != JT_OK) {
            fprintf(stderr, "read: %s\n", err.message);
            return 1;
        }
        lat[i] = (now_s() - t0) * 1e6;
    }
    double read_med = quantile(lat, (size_t)nreads, 0.5),
           read_p99 = quantile(lat, (size_t)nreads, 0.99);

    /* 2. sampler CPU time */
    const double rates[2] = {100, 1000};
    double cpu_pct[2], reads_per_s[2];
    for (int k = 0; k < 2; k++) {
        jt_sampler_t *s = NULL;
        if (jt_sampler_start(m, rates[k], &s, &err) != JT_OK)
            return 1;
        sleep_s(0.2); /* let the thread name itself */
        unsigned long r0 = jt_sampler_reads(s);
        double c0 = sampler_cpu_seconds(), t0 = now_s();
        sleep_s(5.0);
        double c1 = sampler_cpu_seconds(), t1 = now_s();
        unsigned long r1 = jt_sampler_reads(s);
        jt_sampler_stop(s);
        cpu_pct[k] = 100.0 * (c1 - c0) / (t1 - t0);
        reads_per_s[k] = (double)(r1 - r0) / (t1 - t0);
    }

    /* 3. 200 ms windows, sampler at 100 Hz for wrap safety */
    jt_sampler_t *s = NULL;
    if (jt_sampler_start(m, 100, &s, &err) != JT_OK)
        return 1;
    double tick_err[WINDOWS], known_err[WINDOWS], wraps = 0;
    int ok_windows = 0;
    for (int w = 0; w < WINDOWS; w++) {
        meter_read_t a = {.m = m}, b = {.m = m};
        jt_fake_truth_t ta, tb;
        if (jt_fake_truth_around(root, do_read, &a, &ta) != 0)
            continue;
        sleep_s(0.2);
        if (jt_fake_truth_around(root, do_read, &b, &tb) != 0)
            continue;
        double got = 0, want = 0;
        for (size_t i = 0; i < nd; i++)
            got += jt_meter_joules(&a.r, &b.r, i);
        want =
            (double)(jt_fake_truth_uj(&tb, "intel-rapl:0") - jt_fake_truth_uj(&ta, "intel-rapl:0") +
                     jt_fake_truth_uj(&tb, "intel-rapl:0:0") -
                     jt_fake_truth_uj(&ta, "intel-rapl:0:0")) *
            1e-6;
        double known = (IDLE_W + DRAM_W) * (b.r.time - a.r.time);
        wraps += (double)(jt_fake_truth_uj(&tb, "intel-rapl:0") -
                          jt_fake_truth_uj(&ta, "intel-rapl:0")) /
                 2e6;
        tick_err[ok_windows] = fabs(got / want - 1) * 100;
        known_err[ok_windows] = fabs(got / known - 1) * 100;
        ok_windows++;
    }
    jt_sampler_stop(s);
    jt_meter_close(m);
    jt_fake_rapl_stop(&f);
    jt_fake_tree_remove(root);
    if (ok_windows == 0) {
        fprintf(stderr, "no window could be read\n");
        return 1;
    }
    double tick_med = quantile(tick_err, (size_t)ok_windows, 0.5);
    double tick_max = quantile(tick_err, (size_t)ok_windows, 1.0);
    double known_med = quantile(known_err, (size_t)ok_windows, 0.5);
    double known_max = quantile(known_err, (size_t)ok_windows, 1.0);
    double load[3] = {0};
    getloadavg(load, 3);

    printf("bench_meter: rapl-sysfs on fake_rapl (%s, %zu domains, 1 ms updates), load %.2f\n",
           strncmp(root, "/dev/shm", 8) == 0 ? "tmpfs" : "disk", nd, load[0]);
    printf("%-46s %12s %12s %12s\n", "measure", "median", "p99/max", "target");
    printf("%-46s %9.2f us %9.2f us %12s\n", "one all-domain read (N reads, tree moving)", read_med,
           read_p99, "<= 20 us");
    for (int k = 0; k < 2; k++) {
        char label[64];
        snprintf(label, sizeof label, "sampler %g Hz, %% of one core (%.0f reads/s)", rates[k],
                 reads_per_s[k]);
        printf("%-46s %10.3f %% %12s %12s\n", label, cpu_pct[k], "-", k ? "<= 0.5 %" : "-");
    }
    char label[80];
    snprintf(label, sizeof label, "200 ms windows vs truth at same ticks (n=%d)", ok_windows);
    printf("%-46s %10.4f %% %10.4f %% %12s\n", label, tick_med, tick_max, "exact");
    printf("%-46s %10.4f %% %10.4f %% %12s\n", "200 ms windows vs known energy at read times",
           known_med, known_max, "<= 0.5 %");
    printf("(N = %ld reads; windows crossed %.1f wraps each on average)\n", nreads,
           wraps / ok_windows);
    double wake = jt_floor_wakeup_percent(1000.0, 2.0);
    printf("# platform floor of a 1 kHz sampler: wake-ups alone %.2f %% + 1000 reads/s x %.2f us "
           "= %.2f %% of a core\n", wake, read_med, wake + read_med * 1000.0 * 1e-6 * 100.0);
    free(lat);
    return 0;
}
