/* fake_rapl.h -- run the fake_rapl program (tests/fake_rapl.c) and read the truth it writes.
 *
 * fake_rapl keeps a powercap tree moving as a real one would, driven by a core's busy time,
 * and writes the exact cumulative energy of each tick to <root>/truth. Functions return 0 on
 * success and -1 (with a line on stderr) on failure; call them from the test's thread.
 */
#ifndef JT_TESTS_FAKE_RAPL_H
#define JT_TESTS_FAKE_RAPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JT_FAKE_MAX_ZONES 8

/* Options of one fake_rapl process: start from jt_fake_rapl_defaults(). */
typedef struct {
    int core;            /* core whose busy time drives package-0 */
    double idle_watts;   /* package idle */
    double active_watts; /* package extra watts at 100 % busy */
    double dram_idle_watts;
    double dram_active_watts;
    uint64_t max_range_uj; /* wrap point of every zone */
    long period_us;        /* update period */
    int sockets;           /* 1 or 2 */
    /* Idle drift (tests/fake_rapl.c): from idle_step_after_s seconds after the start, every
     * zone's idle watts times (1 + idle_step_percent / 100), and the package zones' idle watts
     * growing by idle_ramp_wps per second. All 0 by default: constant idle power. */
    double idle_step_percent;
    double idle_step_after_s;
    double idle_ramp_wps;
} jt_fake_rapl_options_t;

/* A running fake_rapl and the root of its tree. */
typedef struct {
    pid_t pid;
    char root[256];
} jt_fake_rapl_t;

/* The cumulative (never wrapped) energy fake_rapl computed on its last tick. */
typedef struct {
    uint64_t seq;
    int stable;   /* 1: the zones hold tick seq; 0: fake_rapl is writing them */
    double time;  /* CLOCK_MONOTONIC seconds */
    double start; /* CLOCK_MONOTONIC seconds of fake_rapl's start, where its energy is 0 */
    size_t n;
    char zone[JT_FAKE_MAX_ZONES][32]; /* "intel-rapl:0", "intel-rapl:0:0", ... */
    uint64_t uj[JT_FAKE_MAX_ZONES];
} jt_fake_truth_t;

/* The program's own defaults. */
jt_fake_rapl_options_t jt_fake_rapl_defaults(void);

/* Start the fake_rapl executable at bin on root (created if needed) and wait up to 10 s until
 * its tree exists. On success *f holds the running process (jt_fake_rapl_stop). */
int jt_fake_rapl_start_bin(const char *bin, const char *root, const jt_fake_rapl_options_t *o,
                           jt_fake_rapl_t *f);

#ifdef JT_FAKE_RAPL_BIN
/* jt_fake_rapl_start_bin with the build's fake_rapl (JT_FAKE_RAPL_BIN, set by the build). */
static inline int jt_fake_rapl_start(const char *root, const jt_fake_rapl_options_t *o,
                                     jt_fake_rapl_t *f)
{
    return jt_fake_rapl_start_bin(JT_FAKE_RAPL_BIN, root, o, f);
}
#endif

/* Stop the process (SIGTERM, then SIGKILL after 5 s). Returns 0 when it exited cleanly with
 * status 0. The tree is left for the caller. */
int jt_fake_rapl_stop(jt_fake_rapl_t *f);

/* Read root/truth. */
int jt_fake_truth_read(const char *root, jt_fake_truth_t *t);

/* Call read(arg) until a stable truth tick was seen both just before and just after it, so read
 * saw exactly that tick, which *t receives. Returns 0, or -1 when read fails or 5000 tries never
 * fit between two ticks. */
int jt_fake_truth_around(const char *root, int (*read)(void *), void *arg, jt_fake_truth_t *t);

/* Unwrapped energy of zone id in t, or UINT64_MAX when absent. */
uint64_t jt_fake_truth_uj(const jt_fake_truth_t *t, const char *zone);

#endif
