/* fake_rapl.h -- test helper: run the fake_rapl process, read its truth file, build tiny trees.
 *
 * Needs JT_FAKE_RAPL_BIN (path of the fake_rapl executable) defined by the
 * build. Functions return 0 on success and -1 (with a line on stderr) on
 * failure; they run on the test's thread.
 */
#ifndef JT_TESTS_FAKE_RAPL_H
#define JT_TESTS_FAKE_RAPL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process_harness.h"

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
} jt_fake_rapl_options_t;

/* The program's own defaults. */
static inline jt_fake_rapl_options_t jt_fake_rapl_defaults(void)
{
    jt_fake_rapl_options_t o = {.core = 0,
                                .idle_watts = 10,
                                .active_watts = 20,
                                .dram_idle_watts = 2,
                                .dram_active_watts = 3,
                                .max_range_uj = 50000000,
                                .period_us = 1000,
                                .sockets = 1};
    return o;
}

typedef struct {
    pid_t pid;
    char root[256];
} jt_fake_rapl_t;

/* The cumulative (never wrapped) energy fake_rapl computed on its last tick. */
typedef struct {
    uint64_t seq;
    int stable;  /* 1: the zones hold tick seq; 0: fake_rapl is writing them */
    double time; /* CLOCK_MONOTONIC seconds */
    size_t n;
    char zone[JT_FAKE_MAX_ZONES][32]; /* "intel-rapl:0", "intel-rapl:0:0", ... */
    uint64_t uj[JT_FAKE_MAX_ZONES];
} jt_fake_truth_t;

static inline int jt_fake_rm_entry(const char *path, const struct stat *sb, int flag,
                                   struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove the directory tree at path (missing is fine). */
static inline void jt_fake_tree_remove(const char *path)
{
    nftw(path, jt_fake_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Make a fresh temporary directory into dir (at least 64 bytes), on tmpfs
 * (/dev/shm) where there is one: memory-backed like sysfs, whereas a
 * rename over a file on ext4 costs a data flush (~0.7 ms). */
static inline int jt_fake_tempdir(char *dir, size_t len)
{
    snprintf(dir, len, "/dev/shm/jt-rapl-XXXXXX");
    if (mkdtemp(dir) != NULL)
        return 0;
    snprintf(dir, len, "/tmp/jt-rapl-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* Write text to root/rel atomically (temp + rename), creating nothing else. */
static inline int jt_fake_write(const char *root, const char *rel, const char *text)
{
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%.250s/%.250s", root, rel);
    snprintf(tmp, sizeof tmp, "%.505s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Create root/rel as a zone directory with the given name, range and value. */
static inline int jt_fake_zone(const char *root, const char *rel, const char *name,
                               uint64_t range_uj, uint64_t energy_uj)
{
    char path[512], text[64];
    snprintf(path, sizeof path, "%.250s/%.250s", root, rel);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%.490s/name", rel);
    snprintf(text, sizeof text, "%s\n", name);
    if (jt_fake_write(root, path, text) != 0)
        return -1;
    snprintf(path, sizeof path, "%.480s/max_energy_range_uj", rel);
    snprintf(text, sizeof text, "%" PRIu64 "\n", range_uj);
    if (jt_fake_write(root, path, text) != 0)
        return -1;
    snprintf(path, sizeof path, "%.490s/energy_uj", rel);
    snprintf(text, sizeof text, "%" PRIu64 "\n", energy_uj);
    return jt_fake_write(root, path, text);
}

/* Set root/rel/energy_uj to value, atomically. */
static inline int jt_fake_set(const char *root, const char *rel, uint64_t value)
{
    char path[512], text[32];
    snprintf(path, sizeof path, "%.490s/energy_uj", rel);
    snprintf(text, sizeof text, "%" PRIu64 "\n", value);
    return jt_fake_write(root, path, text);
}

/* Start fake_rapl on root (created if needed) and wait up to 10 s until its
 * tree exists. On success *f holds the running process (jt_fake_rapl_stop). */
static inline int jt_fake_rapl_start(const char *root, const jt_fake_rapl_options_t *o,
                                     jt_fake_rapl_t *f)
{
    char args[16][64], ready[300];
    char *argv[34];
    int n = 0, k = 0;
    snprintf(ready, sizeof ready, "%s.ready", root);
    unlink(ready);
#define JT_FAKE_ARG(flag, fmt, v)                                                                  \
    do {                                                                                           \
        argv[n++] = (char *)(flag);                                                                \
        snprintf(args[k], sizeof args[k], fmt, v);                                                 \
        argv[n++] = args[k++];                                                                     \
    } while (0)
    argv[n++] = (char *)JT_FAKE_RAPL_BIN;
    argv[n++] = (char *)"--root";
    argv[n++] = (char *)root;
    argv[n++] = (char *)"--ready-file";
    argv[n++] = ready;
    JT_FAKE_ARG("--core", "%d", o->core);
    JT_FAKE_ARG("--idle-watts", "%.17g", o->idle_watts);
    JT_FAKE_ARG("--active-watts", "%.17g", o->active_watts);
    JT_FAKE_ARG("--dram-idle-watts", "%.17g", o->dram_idle_watts);
    JT_FAKE_ARG("--dram-active-watts", "%.17g", o->dram_active_watts);
    JT_FAKE_ARG("--max-range-uj", "%" PRIu64, o->max_range_uj);
    JT_FAKE_ARG("--period-us", "%ld", o->period_us);
    JT_FAKE_ARG("--sockets", "%d", o->sockets);
#undef JT_FAKE_ARG
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a failed test */
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        if (access(ready, F_OK) == 0) {
            unlink(ready);
            f->pid = pid;
            snprintf(f->root, sizeof f->root, "%s", root);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "fake_rapl exited early (status %d)\n", st);
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fprintf(stderr, "fake_rapl did not become ready\n");
    return -1;
}

/* Stop the process (SIGTERM, then SIGKILL after 5 s). Returns 0 when it
 * exited cleanly with status 0. The tree is left for the caller. */
static inline int jt_fake_rapl_stop(jt_fake_rapl_t *f)
{
    if (f->pid <= 0)
        return 0;
    int st = jt_proc_stop(&f->pid, SIGTERM, 5.0, false);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Read root/truth. */
static inline int jt_fake_truth_read(const char *root, jt_fake_truth_t *t)
{
    char path[300], line[128];
    snprintf(path, sizeof path, "%s/truth", root);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    memset(t, 0, sizeof *t);
    int got = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        char key[32];
        char val[64];
        if (sscanf(line, "%31s %63s", key, val) != 2)
            continue;
        if (strcmp(key, "seq") == 0) {
            t->seq = strtoull(val, NULL, 10);
            got |= 1;
        } else if (strcmp(key, "state") == 0) {
            t->stable = strcmp(val, "done") == 0;
        } else if (strcmp(key, "time") == 0) {
            t->time = strtod(val, NULL);
            got |= 2;
        } else if (t->n < JT_FAKE_MAX_ZONES) {
            snprintf(t->zone[t->n], sizeof t->zone[t->n], "%s", key);
            t->uj[t->n++] = strtoull(val, NULL, 10);
        }
    }
    fclose(fp);
    if (!t->stable)
        return (got & 1) ? 0 : -1;
    return got == 3 && t->n > 0 ? 0 : -1;
}

/* Call read(arg) until a stable truth tick was seen both just before and just
 * after it, so read saw exactly that tick, which *t receives. Returns 0, or
 * -1 when read fails or 5000 tries never fit between two ticks. */
static inline int jt_fake_truth_around(const char *root, int (*read)(void *), void *arg,
                                       jt_fake_truth_t *t)
{
    for (int i = 0; i < 5000; i++) {
        jt_fake_truth_t before, after;
        if (jt_fake_truth_read(root, &before) != 0 || !before.stable)
            continue;
        if (read(arg) != 0)
            return -1;
        if (jt_fake_truth_read(root, &after) == 0 && after.stable && after.seq == before.seq) {
            *t = after;
            return 0;
        }
    }
    fprintf(stderr, "no quiet moment between fake_rapl ticks\n");
    return -1;
}

/* Unwrapped energy of zone id in t, or UINT64_MAX when absent. */
static inline uint64_t jt_fake_truth_uj(const jt_fake_truth_t *t, const char *zone)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->zone[i], zone) == 0)
            return t->uj[i];
    return UINT64_MAX;
}

#endif
