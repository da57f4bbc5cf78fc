/* proc_scan.c -- what /proc says of processes and cores: a sandbox's leftovers, a core's load. */
#include "proc_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long long jt_scan_busy_ticks(int core)
{
    char prefix[16], line[512];
    snprintf(prefix, sizeof prefix, "cpu%d ", core);
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return -1;
    long long busy = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long v[8] = {0};
        if (strncmp(line, prefix, strlen(prefix)) != 0)
            continue;
        if (sscanf(line + strlen(prefix), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
            busy = (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
        break;
    }
    fclose(f);
    return busy;
}

/* Whether /proc/<pid>/environ holds exactly the entry `want` ("NAME=value");
 * false when it cannot be read (gone, a zombie, not ours to read). Only its
 * first 256 KiB are looked at. */
static bool jt_scan_environ_has(pid_t pid, const char *want)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    static char buf[256 * 1024];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)k;
    close(fd);
    buf[got] = '\0';
    size_t wl = strlen(want);
    for (size_t i = 0; i < got;) {
        size_t l = strnlen(buf + i, got - i);
        if (l == wl && memcmp(buf + i, want, wl) == 0)
            return true;
        i += l + 1;
    }
    return false;
}

/* Parent and CPU ticks (user + system) of pid from /proc/<pid>/stat; false,
 * outputs untouched, when it is gone or a zombie (it runs nothing). */
static bool jt_scan_stat(pid_t pid, pid_t *ppid, long *ticks)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *p = strrchr(line, ')');
    int pp = -1;
    char st;
    unsigned long ut = 0, stt = 0;
    if (p == NULL ||
        sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &st, &pp, &ut, &stt) !=
            4 ||
        st == 'Z')
        return false;
    *ppid = (pid_t)pp;
    *ticks = (long)(ut + stt);
    return true;
}

size_t jt_scan_env_procs(const char *entry, jt_scan_proc_t *out, size_t max)
{
    size_t n = 0;
    pid_t self = getpid();
    DIR *d = opendir("/proc");
    if (d == NULL)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid == self || !jt_scan_environ_has(pid, entry) ||
            !jt_scan_stat(pid, &out[n].ppid, &out[n].ticks))
            continue;
        out[n].pid = pid;
        out[n].depth = -1;
        n++;
    }
    closedir(d);
    return n;
}

void jt_scan_set_depths(jt_scan_proc_t *procs, size_t n, const pid_t *roots, size_t nroots)
{
    for (size_t i = 0; i < n; i++) {
        pid_t cur = procs[i].pid;
        int depth = 0;
        procs[i].depth = -1;
        while (depth <= 16) {
            bool root = false;
            for (size_t r = 0; r < nroots && !root; r++)
                root = roots[r] == cur;
            if (root) {
                procs[i].depth = depth;
                break;
            }
            size_t k = 0;
            while (k < n && procs[k].pid != cur)
                k++;
            if (k == n)
                break; /* above it is no process of this scan: an orphan */
            cur = procs[k].ppid;
            depth++;
        }
    }
}

size_t jt_scan_strays(const jt_scan_proc_t *procs, size_t n, const jt_scan_proc_t *before,
                      size_t nb, bool *stray)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t siblings = 0;
        for (size_t k = 0; k < n; k++)
            siblings += procs[k].ppid == procs[i].ppid && procs[k].depth == 2;
        long used = 0;
        for (size_t k = 0; k < nb; k++)
            if (before[k].pid == procs[i].pid)
                used = procs[i].ticks - before[k].ticks;
        stray[i] = procs[i].depth < 0 || procs[i].depth > 2 ||
                   (procs[i].depth == 2 && (siblings > 1 || used > 2));
        count += stray[i];
    }
    return count;
}

long jt_scan_descendant_ticks(pid_t root)
{
    enum { MAX_PROCS = 8192 };
    static pid_t pids[MAX_PROCS], ppids[MAX_PROCS];
    static long ticks[MAX_PROCS];
    static bool mark[MAX_PROCS];
    int n = 0;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < MAX_PROCS) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char path[300], line[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *in = fopen(path, "r");
        if (in == NULL)
            continue;
        size_t got = fread(line, 1, sizeof line - 1, in);
        fclose(in);
        line[got] = '\0';
        const char *p = strrchr(line, ')');
        char st;
        int ppid;
        unsigned long ut, stt;
        long cut, cst; /* children already reaped: a run lives for milliseconds */
        if (p == NULL || sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld",
                                &st, &ppid, &ut, &stt, &cut, &cst) != 6)
            continue;
        pids[n] = (pid_t)atoi(de->d_name);
        ppids[n] = ppid;
        ticks[n] = (long)(ut + stt) + cut + cst;
        mark[n] = false;
        n++;
    }
    closedir(d);
    bool grew = true;
    while (grew) { /* mark descendants until nothing changes */
        grew = false;
        for (int i = 0; i < n; i++) {
            if (mark[i])
                continue;
            bool child = ppids[i] == root;
            for (int k = 0; !child && k < n; k++)
                child = mark[k] && pids[k] == ppids[i];
            if (child) {
                mark[i] = true;
                grew = true;
            }
        }
    }
    long sum = 0;
    for (int i = 0; i < n; i++)
        if (mark[i])
            sum += ticks[i];
    return sum;
}
