/* pmu.c -- perf_event_open counters (instructions, cycles, cache misses) of a box over a window. */
#include "pmu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What read(2) returns with PERF_FORMAT_TOTAL_TIME_ENABLED | _RUNNING. */
typedef struct {
    uint64_t value, enabled, running;
} sample_t;

struct jt_pmu {
    int fd[JT_PMU_COUNTERS];          /* -1 when absent */
    char reason[JT_PMU_COUNTERS][96]; /* why fd is -1 */
    sample_t base[JT_PMU_COUNTERS];   /* at the window's start */
    bool started;
};

static const char *const counter_names[JT_PMU_COUNTERS] = {
    [JT_PMU_INSTRUCTIONS] = "instructions",
    [JT_PMU_CYCLES] = "cycles",
    [JT_PMU_CACHE_MISSES] = "cache_misses",
};

const char *jt_pmu_counter_name(jt_pmu_counter_t c)
{
    return (unsigned)c < JT_PMU_COUNTERS ? counter_names[c] : "unknown";
}

int jt_pmu_paranoid(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    if (f == NULL)
        return INT_MIN;
    int v;
    int got = fscanf(f, "%d", &v);
    fclose(f);
    return got == 1 ? v : INT_MIN;
}

void jt_pmu_open_reason(int err, int paranoid, bool cgroup_target, char *buf, size_t len)
{
    switch (err) {
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
        snprintf(buf, len, "no hardware PMU on this host (perf_event_open: %s)", strerror(err));
        break;
    case EACCES:
    case EPERM:
        if (paranoid == INT_MIN)
            snprintf(buf, len,
                     "perf_event_open: permission denied (perf_event_paranoid "
                     "unreadable); run the worker as root");
        else
            snprintf(buf, len, "perf_event_paranoid is %d; run the worker as root or lower it",
                     paranoid);
        break;
    case EBADF:
        snprintf(buf, len,
                 cgroup_target ? "the box's cgroup directory is not a cgroup"
                               : "perf_event_open: bad descriptor");
        break;
    case ESRCH:
        snprintf(buf, len, "the measured process is gone");
        break;
    case EMFILE:
    case ENFILE:
        snprintf(buf, len, "perf_event_open: too many open files");
        break;
    case EBUSY:
        snprintf(buf, len, "the PMU is in exclusive use by another program");
        break;
    default:
        snprintf(buf, len, "perf_event_open: %s", strerror(err));
        break;
    }
}

static int perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group, unsigned long fl)
{
    return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group, fl);
}

static const char no_perf_cgroup[] =
    "the box's cgroup is in no perf_event hierarchy (cgroup v1 needs the perf_event controller)";

/* ENOENT from a cgroup event means either no PMU for the event or a cgroup
 * of a hierarchy without the perf_event controller: a software event on the
 * same cgroup tells them apart. True when the cgroup is the problem. */
static bool cgroup_lacks_perf_event(int cgfd, int cpu)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.disabled = 1;
    int fd = perf_open(&attr, cgfd, cpu, -1, PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return false;
    }
    return errno == ENOENT;
}

jt_status_t jt_pmu_open_events(const jt_pmu_target_t *target, uint32_t type,
                               const uint64_t config[JT_PMU_COUNTERS], jt_pmu_t **out)
{
    bool cgroup = target->cgroup_dir != NULL;
    if (cgroup ? target->cpu < 0 : target->pid <= 0)
        return JT_ERR_INVALID;
    jt_pmu_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return JT_ERR_NOMEM;
    for (int i = 0; i < JT_PMU_COUNTERS; i++)
        p->fd[i] = -1;
    int cgfd = -1, open_errno = 0;
    if (cgroup) {
        cgfd = open(target->cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        open_errno = errno;
    }
    int paranoid = jt_pmu_paranoid(), errs[JT_PMU_COUNTERS] = {0}, opened = 0;
    for (int i = 0; i < JT_PMU_COUNTERS; i++) {
        if (cgroup && cgfd < 0) {
            snprintf(p->reason[i], sizeof p->reason[i], "cannot open the box's cgroup: %s",
                     strerror(open_errno));
            continue;
        }
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.size = sizeof attr;
        attr.type = type;
        attr.config = config[i];
        attr.disabled = 1;
        attr.exclude_hv = 1;
        attr.inherit = !cgroup; /* cgroup events follow the cgroup, not a process tree */
        attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
        p->fd[i] = cgroup ? perf_open(&attr, cgfd, target->cpu, -1,
                                      PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC)
                          : perf_open(&attr, target->pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (p->fd[i] < 0) {
            p->fd[i] = -1;
            errs[i] = errno;
            if (errs[i] == ENOENT && cgroup && cgroup_lacks_perf_event(cgfd, target->cpu)) {
                errs[i] = 0; /* whatever the PMU, this cgroup can count nothing */
                snprintf(p->reason[i], sizeof p->reason[i], "%s", no_perf_cgroup);
            } else {
                jt_pmu_open_reason(errs[i], paranoid, cgroup, p->reason[i], sizeof p->reason[i]);
            }
        } else {
            opened++;
        }
    }
    if (cgfd >= 0)
        close(cgfd); /* the events hold the cgroup */
    /* A PMU that counts some events and lacks others is no missing PMU. */
    for (int i = 0; i < JT_PMU_COUNTERS && opened > 0; i++)
        if (errs[i] == ENOENT || errs[i] == EOPNOTSUPP)
            snprintf(p->reason[i], sizeof p->reason[i],
                     "this host's PMU does not count this event (perf_event_open: %s)",
                     strerror(errs[i]));
    *out = p;
    return JT_OK;
}

jt_status_t jt_pmu_open(const jt_pmu_target_t *target, jt_pmu_t **out)
{
    static const uint64_t hardware[JT_PMU_COUNTERS] = {
        [JT_PMU_INSTRUCTIONS] = PERF_COUNT_HW_INSTRUCTIONS,
        [JT_PMU_CYCLES] = PERF_COUNT_HW_CPU_CYCLES,
        [JT_PMU_CACHE_MISSES] = PERF_COUNT_HW_CACHE_MISSES,
    };
    return jt_pmu_open_events(target, PERF_TYPE_HARDWARE, hardware, out);
}

/* Drop counter i, keeping why. */
static void drop(jt_pmu_t *p, int i, const char *what, int err)
{
    snprintf(p->reason[i], sizeof p->reason[i], "%s: %s", what, strerror(err));
    close(p->fd[i]);
    p->fd[i] = -1;
}

/* One read of counter i (value, times enabled and running). */
static int sample(int fd, sample_t *out)
{
    ssize_t got;
    while ((got = read(fd, out, sizeof *out)) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof *out)
        return 0;
    if (got >= 0)
        errno = EIO;
    return -1;
}

void jt_pmu_start(jt_pmu_t *p)
{
    /* A baseline, not PERF_EVENT_IOC_RESET: a reset zeroes the event's own
     * count but not what exited inherited children added to it. */
    for (int i = 0; i < JT_PMU_COUNTERS; i++)
        if (p->fd[i] >= 0 && sample(p->fd[i], &p->base[i]) < 0)
            drop(p, i, "reading the counter failed", errno);
    /* Enabled in a second pass so the three windows start together. */
    for (int i = 0; i < JT_PMU_COUNTERS; i++)
        if (p->fd[i] >= 0 && ioctl(p->fd[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
            drop(p, i, "enabling the counter failed", errno);
    p->started = true;
}

void jt_pmu_stop(jt_pmu_t *p)
{
    for (int i = 0; i < JT_PMU_COUNTERS; i++)
        if (p->fd[i] >= 0 && ioctl(p->fd[i], PERF_EVENT_IOC_DISABLE, 0) < 0)
            drop(p, i, "disabling the counter failed", errno);
}

/* Read counter i of p into *v. */
static void read_one(const jt_pmu_t *p, int i, jt_pmu_value_t *v)
{
    memset(v, 0, sizeof *v);
    if (p->fd[i] < 0) {
        snprintf(v->reason, sizeof v->reason, "%s", p->reason[i]);
        return;
    }
    if (!p->started) {
        snprintf(v->reason, sizeof v->reason, "no window was started");
        return;
    }
    sample_t now;
    if (sample(p->fd[i], &now) < 0) {
        snprintf(v->reason, sizeof v->reason, "reading the counter failed: %s", strerror(errno));
        return;
    }
    const sample_t *b = &p->base[i];
    uint64_t buf[3] = {now.value - b->value, now.enabled - b->enabled, now.running - b->running};
    if (buf[1] > 0 && buf[2] == 0) {
        snprintf(v->reason, sizeof v->reason,
                 "the counter never ran: every hardware counter was taken (NMI watchdog, "
                 "another perf user)");
        return;
    }
    v->present = true;
    v->value = buf[0];
    if (buf[2] < buf[1]) { /* multiplexed: extrapolate over the whole window */
        v->scaled = true;
        v->value = (uint64_t)((long double)buf[0] * (long double)buf[1] / (long double)buf[2]);
    }
}

size_t jt_pmu_read(jt_pmu_t *p, jt_pmu_counts_t *out)
{
    size_t present = 0;
    for (int i = 0; i < JT_PMU_COUNTERS; i++) {
        read_one(p, i, &out->counter[i]);
        present += out->counter[i].present;
    }
    return present;
}

void jt_pmu_close(jt_pmu_t *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < JT_PMU_COUNTERS; i++)
        if (p->fd[i] >= 0)
            close(p->fd[i]);
    free(p);
}

json_t *jt_pmu_counts_json(const jt_pmu_counts_t *c)
{
    json_t *o = json_object(), *scaled = json_array(), *absent = json_object();
    if (o == NULL || scaled == NULL || absent == NULL)
        goto fail;
    for (int i = 0; i < JT_PMU_COUNTERS; i++) {
        const jt_pmu_value_t *v = &c->counter[i];
        json_t *value =
            v->present
                ? json_integer(v->value > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v->value)
                : json_null();
        if (json_object_set_new(o, counter_names[i], value) != 0)
            goto fail;
        if (v->present && v->scaled && json_array_append_new(scaled, json_string(counter_names[i])))
            goto fail;
        if (!v->present && json_object_set_new(absent, counter_names[i], json_string(v->reason)))
            goto fail;
    }
    if (json_array_size(scaled) > 0 && json_object_set(o, "scaled", scaled) != 0)
        goto fail;
    if (json_object_size(absent) > 0 && json_object_set(o, "absent", absent) != 0)
        goto fail;
    json_decref(scaled);
    json_decref(absent);
    return o;
fail:
    json_decref(o);
    json_decref(scaled);
    json_decref(absent);
    return NULL;
}
