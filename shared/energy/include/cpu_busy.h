/* cpu_busy.h -- busy CPU time of one core or one cgroup, for the estimate meter, calibration and
 * fake_rapl.
 *
 * Sources, each a cumulative count since boot (a core) or since the cgroup was
 * made (a cgroup), read as nanoseconds:
 *   - a cgroup directory: cgroup v1 `cpuacct.usage` (ns of CPU time of its
 *     tasks, on every CPU), else cgroup v2 `cpu.stat` `usage_usec` (us; the file
 *     is in every v2 cgroup, with or without the cpu controller);
 *   - a core: /proc/schedstat (cpuN field 7, rq_cpu_time, ns of task running
 *     time) when the kernel has it; else the host's root cpuacct cgroup (v1
 *     `cpuacct.usage_percpu`, field N: ns of every task's time on core N; only
 *     the hierarchy's real root, told by its `release_agent` file, so never a
 *     container's own subtree); else /proc/stat (user + nice + system + irq +
 *     softirq + steal of the cpuN line, in USER_HZ ticks, usually 10 ms, and
 *     sampled: a tick charges its whole 10 ms to whatever ran at that instant).
 * No state is shared: any thread may read its own jt_cpu_busy_t.
 */
#ifndef JT_CPU_BUSY_H
#define JT_CPU_BUSY_H

#include <stdint.h>

#include "status.h"

typedef enum {
    JT_CPU_BUSY_SCHEDSTAT = 0, /* a core, nanosecond resolution */
    JT_CPU_BUSY_PROC_STAT,     /* a core, USER_HZ resolution */
    JT_CPU_BUSY_CGROUP_V1,     /* a cgroup's cpuacct.usage, nanoseconds */
    JT_CPU_BUSY_CGROUP_V2,     /* a cgroup's cpu.stat usage_usec, microseconds */
    JT_CPU_BUSY_CPUACCT_CORE,  /* a core, from the root cpuacct.usage_percpu, nanoseconds */
} jt_cpu_busy_source_t;

typedef struct {
    int core; /* -1 for a cgroup */
    jt_cpu_busy_source_t source;
    long user_hz;
    char path[256];  /* the file read */
    char prefix[16]; /* the line read: "cpuN " or "usage_usec "; "" for cpuacct.usage */
} jt_cpu_busy_t;

/* Choose the source for core under proc_root (NULL: JOULETRACE_PROC_ROOT,
 * default "/proc") and check it has a line for the core. The root cpuacct
 * cgroup is looked for in JOULETRACE_CPUACCT_ROOT when set, else in
 * /sys/fs/cgroup/cpuacct, but only when proc_root is the real /proc (a test's
 * fake proc tree is never mixed with the host's cgroups). JT_OK, or JT_ERR_IO /
 * JT_ERR_INVALID with *err naming the file; *b is then unusable. */
jt_status_t jt_cpu_busy_init(jt_cpu_busy_t *b, int core, const char *proc_root, jt_error_t *err);

/* Choose the source for the cgroup directory dir (cpuacct.usage, else cpu.stat
 * with usage_usec) and check it reads. JT_OK, or JT_ERR_INVALID (dir empty or
 * too long) / JT_ERR_IO (neither file usable) with *err naming the directory;
 * *b is then unusable. */
jt_status_t jt_cpu_busy_init_cgroup(jt_cpu_busy_t *b, const char *dir, jt_error_t *err);

/* Cumulative busy nanoseconds of the core since boot, or of the cgroup's tasks
 * since it was made. JT_OK, or JT_ERR_IO with *err naming the file (then
 * *busy_ns is untouched). */
jt_status_t jt_cpu_busy_read(const jt_cpu_busy_t *b, uint64_t *busy_ns, jt_error_t *err);

/* Name of a source as results give it: "proc-schedstat", "cpuacct-percpu",
 * "proc-stat-ticks", "cgroup-v1-cpuacct" or "cgroup-v2-cpu.stat". */
const char *jt_cpu_busy_source_name(jt_cpu_busy_source_t s);

#endif
