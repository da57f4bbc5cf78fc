/* rapl_perf.c -- meter backend: the kernel's RAPL PMU ("power") through perf_event_open(2).
 *
 * Event codes, scales and units come from the PMU's sysfs `events/` files;
 * one system-wide counter per domain is opened on the first CPU of the
 * socket. The kernel keeps these counts in 64 bits, so they never wrap here.
 * The sysfs root is JOULETRACE_SYSFS_ROOT (default /sys) so tests can check
 * discovery on a fake tree. Called under meter.c's mutex.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "meter_backend.h"

#define PATH_LEN 512
#define PMU_DIR "bus/event_source/devices/power"

static const struct {
    const char *event;
    jt_domain_t domain;
} perf_events[] = {
    /* energy-gpu (graphics) is deliberately not measured */
    {"energy-pkg", JT_DOMAIN_PACKAGE},
    {"energy-ram", JT_DOMAIN_DRAM},
    {"energy-cores", JT_DOMAIN_CORE},
    {"energy-psys", JT_DOMAIN_PSYS},
};

typedef struct {
    size_t n;
    int fd[JT_METER_MAX_DOMAINS];
    double scale[JT_METER_MAX_DOMAINS];
    char name[JT_METER_MAX_DOMAINS][16];
} perf_state_t;

const char *jt_rapl_perf_sysfs_root(void)
{
    const char *r = getenv("JOULETRACE_SYSFS_ROOT");
    return r && r[0] ? r : "/sys";
}

/* Read path into buf (NUL-terminated, trailing whitespace removed). errno
 * is kept for the caller on failure. */
static bool read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t r;
    do
        r = read(fd, buf, len - 1);
    while (r < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    errno = e;
    if (r < 0)
        return false;
    buf[r] = '\0';
    while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
        buf[--r] = '\0';
    return true;
}

static jt_status_t read_error(jt_error_t *err, const char *path)
{
    if (errno == EACCES || errno == EPERM)
        return jt_meter_permission_error(err, path);
    return jt_error_set(err, JT_ERR_IO, path, "cannot read %s: %s", path, strerror(errno));
}

static bool parse_long(const char *s, int base, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, base);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* "event=0x02" (terms separated by commas; only `event` is meaningful for
 * the RAPL PMU, anything else is refused rather than misread). */
static bool parse_event(const char *text, uint64_t *config)
{
    if (strncmp(text, "event=", 6) != 0 || strchr(text, ',') != NULL)
        return false;
    long v;
    if (!parse_long(text + 6, 0, &v) || v < 0 || v > 0xff)
        return false;
    *config = (uint64_t)v;
    return true;
}

/* Lowest-numbered online CPU whose physical_package_id is socket, or -1. */
static int first_cpu_of_socket(const char *root, int socket)
{
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%.400s/devices/system/cpu", root);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int best = -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long cpu;
        if (strncmp(de->d_name, "cpu", 3) != 0 || !parse_long(de->d_name + 3, 10, &cpu) ||
            cpu < 0 || de->d_name[3] == '+' || de->d_name[3] == '-')
            continue;
        if (best >= 0 && cpu >= best)
            continue;
        char file[PATH_LEN], text[32];
        long pkg;
        snprintf(file, sizeof file, "%.400s/devices/system/cpu/cpu%ld/online", root, cpu);
        if (read_text(file, text, sizeof text) && strcmp(text, "0") == 0)
            continue;
        snprintf(file, sizeof file, "%.400s/devices/system/cpu/cpu%ld/topology/physical_package_id",
                 root, cpu);
        if (read_text(file, text, sizeof text) && parse_long(text, 10, &pkg) && pkg == socket)
            best = (int)cpu;
    }
    closedir(d);
    return best;
}

jt_status_t jt_rapl_perf_discover(const char *root, int socket, jt_perf_plan_t *plan,
                                  jt_error_t *err)
{
    char path[PATH_LEN], text[64];
    long v;
    memset(plan, 0, sizeof *plan);
    snprintf(path, sizeof path, "%.400s/" PMU_DIR "/type", root);
    if (!read_text(path, text, sizeof text)) {
        if (errno == ENOENT)
            return jt_error_set(err, JT_ERR_IO, path,
                                "no RAPL perf PMU (%s is absent): this kernel or machine exposes "
                                "no RAPL energy counters; set JOULETRACE_METER=estimate to use "
                                "the CPU-time model",
                                path);
        return read_error(err, path);
    }
    if (!parse_long(text, 10, &v) || v < 0 || v > 0x7fffffff)
        return jt_error_set(err, JT_ERR_INVALID, path, "%s: not a PMU type: \"%s\"", path, text);
    plan->pmu_type = (int)v;

    for (size_t k = 0; k < sizeof perf_events / sizeof perf_events[0]; k++) {
        const char *ev = perf_events[k].event;
        size_t i = plan->n;
        snprintf(path, sizeof path, "%.400s/" PMU_DIR "/events/%s", root, ev);
        if (!read_text(path, text, sizeof text)) {
            if (errno == ENOENT && k > 0)
                continue; /* this CPU lacks the domain */
            if (errno == ENOENT)
                return jt_error_set(err, JT_ERR_IO, path,
                                    "the RAPL PMU has no package event (%s is absent); set "
                                    "JOULETRACE_METER=estimate to use the CPU-time model",
                                    path);
            return read_error(err, path);
        }
        if (!parse_event(text, &plan->config[i]))
            return jt_error_set(err, JT_ERR_INVALID, path,
                                "%s: expected \"event=0x..\", got \"%s\"", path, text);
        snprintf(path, sizeof path, "%.400s/" PMU_DIR "/events/%s.scale", root, ev);
        if (!read_text(path, text, sizeof text))
            return read_error(err, path);
        char *end;
        double scale = strtod(text, &end);
        if (end == text || *end != '\0' || !(scale > 0) || !isfinite(scale))
            return jt_error_set(err, JT_ERR_INVALID, path, "%s: not a positive scale: \"%s\"", path,
                                text);
        snprintf(path, sizeof path, "%.400s/" PMU_DIR "/events/%s.unit", root, ev);
        if (!read_text(path, text, sizeof text))
            return read_error(err, path);
        if (strcmp(text, "Joules") != 0)
            return jt_error_set(err, JT_ERR_INVALID, path, "%s: unit \"%s\", expected Joules", path,
                                text);
        plan->scale[i] = scale;
        plan->domain[i] = perf_events[k].domain;
        plan->n++;
    }
    plan->cpu = first_cpu_of_socket(root, socket);
    if (plan->cpu < 0)
        return jt_error_set(err, JT_ERR_IO, root,
                            "no online CPU of socket %d under %.200s/devices/system/cpu", socket,
                            root);
    return JT_OK;
}

static void perf_close(void *state)
{
    perf_state_t *st = state;
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++)
        close(st->fd[i]);
    free(st);
}

static jt_status_t perf_open(const jt_meter_config_t *cfg, void **state, jt_meter_layout_t *layout,
                             jt_error_t *err)
{
    jt_perf_plan_t plan;
    jt_status_t s = jt_rapl_perf_discover(jt_rapl_perf_sysfs_root(), cfg->socket, &plan, err);
    if (s != JT_OK)
        return s;
    perf_state_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    memset(layout, 0, sizeof *layout);
    for (size_t i = 0; i < plan.n; i++) {
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.type = (uint32_t)plan.pmu_type;
        attr.size = sizeof attr;
        attr.config = plan.config[i];
        const char *dn = jt_domain_name(plan.domain[i]);
        int fd = (int)syscall(SYS_perf_event_open, &attr, -1, plan.cpu, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EACCES || e == EPERM)
                s = jt_error_set(err, JT_ERR_IO, "perf_event_open",
                                 "perf_event_open(power %s, cpu %d): permission denied; run as "
                                 "root or with CAP_PERFMON, or lower "
                                 "/proc/sys/kernel/perf_event_paranoid to 0",
                                 dn, plan.cpu);
            else
                s = jt_error_set(err, JT_ERR_IO, "perf_event_open",
                                 "perf_event_open(power PMU type %d, config 0x%llx (%s), cpu %d) "
                                 "failed: %s; if this machine has no RAPL counters set "
                                 "JOULETRACE_METER=estimate",
                                 plan.pmu_type, (unsigned long long)plan.config[i], dn, plan.cpu,
                                 strerror(e));
            perf_close(st);
            return s;
        }
        st->fd[i] = fd;
        st->scale[i] = plan.scale[i];
        snprintf(st->name[i], sizeof st->name[i], "%s", dn);
        st->n++;
        layout->domain[i] = plan.domain[i];
        layout->range_uj[i] = 0;
    }
    layout->n = st->n;
    *state = st;
    return JT_OK;
}

static jt_status_t perf_read(void *state, uint64_t *raw_uj, jt_error_t *err)
{
    perf_state_t *st = state;
    for (size_t i = 0; i < st->n; i++) {
        uint64_t count;
        ssize_t r;
        do
            r = read(st->fd[i], &count, sizeof count);
        while (r < 0 && errno == EINTR);
        if (r != (ssize_t)sizeof count)
            return jt_error_set(err, JT_ERR_IO, "perf_event", "reading the perf %s counter: %s",
                                st->name[i], r < 0 ? strerror(errno) : "short read");
        raw_uj[i] = (uint64_t)llround((double)count * st->scale[i] * 1e6);
    }
    return JT_OK;
}

const jt_meter_backend_t jt_rapl_perf_backend = {
    .kind = JT_METER_RAPL_PERF,
    .open = perf_open,
    .read = perf_read,
    .close = perf_close,
};
