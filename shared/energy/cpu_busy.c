/* cpu_busy.c -- busy time of one core (/proc/schedstat, the root cpuacct.usage_percpu, /proc/stat)
 * or one cgroup (cpuacct, cpu.stat). */
#include "cpu_busy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 512
#define PERCPU_MAX_BYTES                                                                           \
    32768 /* cpuacct.usage_percpu: 20 digits and a space per CPU, ~1,500 CPUs */
#define CPUACCT_ROOT "/sys/fs/cgroup/cpuacct"

/* Copy the first line of path starting with prefix into line. Lines longer
 * than the buffer (the interrupt line of /proc/stat) are skipped whole.
 * Returns 1 found, 0 absent, -1 with errno on a read error. */
static int find_line(const char *path, const char *prefix, char *line, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    size_t have = 0, plen = strlen(prefix);
    bool skipping = false; /* inside a line too long to keep */
    int found = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            found = -1;
            break;
        }
        if (r == 0 && have == 0)
            break;
        size_t end = have + (size_t)r, start = 0;
        bool eof = r == 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', end - start);
            if (nl == NULL && !eof)
                break;
            size_t stop = nl ? (size_t)(nl - buf) : end;
            if (!skipping && stop - start >= plen && memcmp(buf + start, prefix, plen) == 0) {
                size_t n = stop - start < len - 1 ? stop - start : len - 1;
                memcpy(line, buf + start, n);
                line[n] = '\0';
                found = 1;
                break;
            }
            skipping = false;
            start = nl ? stop + 1 : end;
            if (nl == NULL)
                break;
        }
        if (found || eof)
            break;
        if (start == 0 && end == sizeof buf) { /* one line fills the buffer: drop it */
            skipping = true;
            end = 0;
        }
        memmove(buf, buf + start, end - start);
        have = end - start;
    }
    int e = errno;
    close(fd);
    errno = e;
    return found;
}

/* Parse the space-separated unsigned counts at p (NULL: none): skip the first `skip`, keep up
 * to max of the rest in v. Returns how many were kept. */
static int parse_counts(const char *p, int skip, uint64_t *v, int max)
{
    int n = 0;
    while (p != NULL && n < max) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            break;
        char *end;
        errno = 0;
        unsigned long long x = strtoull(p, &end, 10);
        if (errno != 0)
            break;
        if (skip > 0)
            skip--;
        else
            v[n++] = (uint64_t)x;
        p = end;
    }
    return n;
}

/* Parse up to max unsigned fields after the first word of line. */
static int parse_fields(const char *line, uint64_t *v, int max)
{
    return parse_counts(strchr(line, ' '), 0, v, max);
}

/* One decimal count at the start of text, ended by the end of the line or a space. */
static bool parse_count(const char *text, uint64_t *v)
{
    if (*text < '0' || *text > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(text, &end, 10);
    if (errno != 0 || (*end != '\0' && *end != '\n' && *end != ' '))
        return false;
    *v = (uint64_t)x;
    return true;
}

/* Field `core` (counting from 0) of the space-separated counts in path (one line, read whole,
 * at most PERCPU_MAX_BYTES). Returns 1 found, 0 absent or malformed, -1 with errno on a read
 * error. */
static int nth_count(const char *path, int core, uint64_t *v)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char *buf = malloc(PERCPU_MAX_BYTES + 1);
    if (buf == NULL) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    size_t have = 0;
    int result = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, PERCPU_MAX_BYTES - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            result = -1;
            break;
        }
        have += (size_t)r;
        if (r == 0 || have == PERCPU_MAX_BYTES)
            break;
    }
    int e = errno;
    close(fd);
    if (result == 0) {
        buf[have] = '\0';
        result = parse_counts(buf, core, v, 1);
    }
    free(buf);
    errno = e;
    return result;
}

/* The root cpuacct cgroup's per-core counter for b->core, when there is one: true with b set,
 * else false (the caller falls back to /proc/stat). */
static bool use_cpuacct_core(jt_cpu_busy_t *b, bool real_proc)
{
    const char *root = getenv("JOULETRACE_CPUACCT_ROOT");
    if (root == NULL || root[0] == '\0') {
        if (!real_proc)
            return false;
        root = CPUACCT_ROOT;
    }
    if (strlen(root) > 200)
        return false;
    char marker[256];
    snprintf(marker, sizeof marker, "%s/release_agent", root); /* only in a hierarchy's root */
    if (access(marker, F_OK) != 0)
        return false;
    snprintf(b->path, sizeof b->path, "%s/cpuacct.usage_percpu", root);
    uint64_t v;
    if (nth_count(b->path, b->core, &v) != 1)
        return false;
    b->source = JT_CPU_BUSY_CPUACCT_CORE;
    return true;
}

const char *jt_cpu_busy_source_name(jt_cpu_busy_source_t s)
{
    switch (s) {
    case JT_CPU_BUSY_SCHEDSTAT:
        return "proc-schedstat";
    case JT_CPU_BUSY_PROC_STAT:
        return "proc-stat-ticks";
    case JT_CPU_BUSY_CGROUP_V1:
        return "cgroup-v1-cpuacct";
    case JT_CPU_BUSY_CGROUP_V2:
        return "cgroup-v2-cpu.stat";
    case JT_CPU_BUSY_CPUACCT_CORE:
        return "cpuacct-percpu";
    }
    return "unknown";
}

jt_status_t jt_cpu_busy_init(jt_cpu_busy_t *b, int core, const char *proc_root, jt_error_t *err)
{
    if (proc_root == NULL) {
        proc_root = getenv("JOULETRACE_PROC_ROOT");
        if (proc_root == NULL || proc_root[0] == '\0')
            proc_root = "/proc";
    }
    bool real_proc = strcmp(proc_root, "/proc") == 0;
    if (core < 0)
        return jt_error_set(err, JT_ERR_INVALID, "measurement_core", "core %d is negative", core);
    memset(b, 0, sizeof *b);
    b->core = core;
    snprintf(b->prefix, sizeof b->prefix, "cpu%d ", core);
    long hz = sysconf(_SC_CLK_TCK);
    b->user_hz = hz > 0 ? hz : 100;

    char line[LINE_MAX_LEN];
    uint64_t v[9];
    snprintf(b->path, sizeof b->path, "%.200s/schedstat", proc_root);
    if (find_line(b->path, b->prefix, line, sizeof line) == 1 && parse_fields(line, v, 9) >= 7) {
        b->source = JT_CPU_BUSY_SCHEDSTAT;
        return JT_OK;
    }
    if (use_cpuacct_core(b, real_proc))
        return JT_OK;
    b->source = JT_CPU_BUSY_PROC_STAT;
    snprintf(b->path, sizeof b->path, "%.200s/stat", proc_root);
    int f = find_line(b->path, b->prefix, line, sizeof line);
    if (f < 0)
        return jt_error_set(err, JT_ERR_IO, b->path, "cannot read %s: %s", b->path,
                            strerror(errno));
    if (f == 0)
        return jt_error_set(err, JT_ERR_INVALID, "measurement_core",
                            "core %d does not exist (no cpu%d line in %s)", core, core, b->path);
    if (parse_fields(line, v, 8) < 8)
        return jt_error_set(err, JT_ERR_IO, b->path, "%s: malformed cpu%d line", b->path, core);
    return JT_OK;
}

jt_status_t jt_cpu_busy_init_cgroup(jt_cpu_busy_t *b, const char *dir, jt_error_t *err)
{
    if (dir == NULL || dir[0] == '\0' || strlen(dir) > 200)
        return jt_error_set(err, JT_ERR_INVALID, "cgroup",
                            "no usable cgroup directory (empty or over 200 bytes)");
    memset(b, 0, sizeof *b);
    b->core = -1;
    uint64_t ns;
    jt_error_t v1_err = {0};
    b->source = JT_CPU_BUSY_CGROUP_V1;
    snprintf(b->path, sizeof b->path, "%s/cpuacct.usage", dir);
    if (jt_cpu_busy_read(b, &ns, &v1_err) == JT_OK)
        return JT_OK;
    jt_error_t v2_err = {0};
    b->source = JT_CPU_BUSY_CGROUP_V2;
    snprintf(b->path, sizeof b->path, "%s/cpu.stat", dir);
    snprintf(b->prefix, sizeof b->prefix, "usage_usec ");
    if (jt_cpu_busy_read(b, &ns, &v2_err) == JT_OK)
        return JT_OK;
    return jt_error_set(err, JT_ERR_IO, dir, "cgroup %s has no CPU accounting: %.200s; %.200s", dir,
                        v1_err.message, v2_err.message);
}

jt_status_t jt_cpu_busy_read(const jt_cpu_busy_t *b, uint64_t *busy_ns, jt_error_t *err)
{
    if (b->source == JT_CPU_BUSY_CPUACCT_CORE) {
        int f = nth_count(b->path, b->core, busy_ns);
        if (f < 0)
            return jt_error_set(err, JT_ERR_IO, b->path, "cannot read %s: %s", b->path,
                                strerror(errno));
        if (f == 0)
            return jt_error_set(err, JT_ERR_IO, b->path, "%s: no usable count for core %d", b->path,
                                b->core);
        return JT_OK;
    }
    char line[LINE_MAX_LEN];
    int f = find_line(b->path, b->prefix, line, sizeof line);
    if (f < 0)
        return jt_error_set(err, JT_ERR_IO, b->path, "cannot read %s: %s", b->path,
                            strerror(errno));
    uint64_t v[8];
    switch (b->source) {
    case JT_CPU_BUSY_CGROUP_V1:
    case JT_CPU_BUSY_CGROUP_V2:
        if (f == 0 || !parse_count(line + strlen(b->prefix), &v[0]))
            return jt_error_set(err, JT_ERR_IO, b->path, "%s: no usable %scount", b->path,
                                b->prefix);
        /* a 64-bit count of microseconds outlives any cgroup, in nanoseconds too */
        *busy_ns = b->source == JT_CPU_BUSY_CGROUP_V2 ? v[0] * 1000u : v[0];
        return JT_OK;
    case JT_CPU_BUSY_SCHEDSTAT:
        if (f == 0 || parse_fields(line, v, 7) < 7)
            return jt_error_set(err, JT_ERR_IO, b->path, "%s: no usable cpu%d line", b->path,
                                b->core);
        *busy_ns = v[6];
        return JT_OK;
    case JT_CPU_BUSY_PROC_STAT:
    case JT_CPU_BUSY_CPUACCT_CORE:
        break;
    }
    /* user nice system idle iowait irq softirq steal */
    if (f == 0 || parse_fields(line, v, 8) < 8)
        return jt_error_set(err, JT_ERR_IO, b->path, "%s: no usable cpu%d line", b->path, b->core);
    uint64_t ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    *busy_ns = ticks * (1000000000ull / (uint64_t)b->user_hz);
    return JT_OK;
}
