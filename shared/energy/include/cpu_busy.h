/* cpu_busy.h -- busy (non-idle) time of one CPU core, shared by the estimate meter and fake_rapl.
 *
 * Source, best first: /proc/schedstat (cpuN field 7, rq_cpu_time, ns of task
 * running time) when the kernel has it, else /proc/stat (user + nice +
 * system + irq + softirq + steal of the cpuN line, in USER_HZ ticks, usually
 * 10 ms). No state is shared: any thread may read its own jt_cpu_busy_t.
 */
#ifndef JT_CPU_BUSY_H
#define JT_CPU_BUSY_H

#include <stdint.h>

#include "status.h"

typedef enum {
    JT_CPU_BUSY_SCHEDSTAT = 0, /* nanosecond resolution */
    JT_CPU_BUSY_PROC_STAT,     /* USER_HZ resolution */
} jt_cpu_busy_source_t;

typedef struct {
    int core;
    jt_cpu_busy_source_t source;
    long user_hz;
    char path[256];  /* the file read */
    char prefix[16]; /* "cpuN " */
} jt_cpu_busy_t;

/* Choose the source for core under proc_root (NULL: JOULETRACE_PROC_ROOT,
 * default "/proc") and check it has a line for the core. JT_OK, or JT_ERR_IO /
 * JT_ERR_INVALID with *err naming the file; *b is then unusable. */
jt_status_t jt_cpu_busy_init(jt_cpu_busy_t *b, int core, const char *proc_root, jt_error_t *err);

/* Cumulative busy nanoseconds of the core since boot. JT_OK, or JT_ERR_IO
 * with *err naming the file (then *busy_ns is untouched). */
jt_status_t jt_cpu_busy_read(const jt_cpu_busy_t *b, uint64_t *busy_ns, jt_error_t *err);

/* "schedstat" or "proc-stat". */
const char *jt_cpu_busy_source_name(jt_cpu_busy_source_t s);

#endif
