/* fake_rapl.c -- run the fake_rapl program (tests/fake_rapl.c) and read the truth it writes. */
#include "fake_rapl.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process_harness.h"

jt_fake_rapl_options_t jt_fake_rapl_defaults(void)
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

int jt_fake_rapl_start_bin(const char *bin, const char *root, const jt_fake_rapl_options_t *o,
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
    argv[n++] = (char *)bin;
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
    if (o->idle_step_percent != 0 || o->idle_ramp_wps != 0) {
        JT_FAKE_ARG("--idle-step-percent", "%.17g", o->idle_step_percent);
        JT_FAKE_ARG("--idle-step-after", "%.17g", o->idle_step_after_s);
        JT_FAKE_ARG("--idle-ramp-wps", "%.17g", o->idle_ramp_wps);
    }
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

int jt_fake_rapl_stop(jt_fake_rapl_t *f)
{
    if (f->pid <= 0)
        return 0;
    int st = jt_proc_stop(&f->pid, SIGTERM, 5.0, false);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int jt_fake_truth_read(const char *root, jt_fake_truth_t *t)
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
        } else if (strcmp(key, "start") == 0) {
            t->start = strtod(val, NULL);
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

int jt_fake_truth_around(const char *root, int (*read)(void *), void *arg, jt_fake_truth_t *t)
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

uint64_t jt_fake_truth_uj(const jt_fake_truth_t *t, const char *zone)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->zone[i], zone) == 0)
            return t->uj[i];
    return UINT64_MAX;
}
