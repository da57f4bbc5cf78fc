/* pmu.h -- hardware counters (instructions, cycles, cache misses) of the box over a window.
 *
 * Proxies beside the energy: three perf_event_open(2) counters
 * (PERF_TYPE_HARDWARE: instructions, cpu-cycles, cache-misses), user and
 * kernel mode, counting only the box that runs the candidate, enabled around
 * one measured window at a time.
 *
 * Which processes: two targets are offered, and the cgroup one is the choice.
 *
 *   cgroup (the choice): one counter per event on the measurement core with
 *   PERF_FLAG_PID_CGROUP on the box's cgroup. It counts every task of the box
 *   (the supervisor and its runs) while it runs on that core, and nothing
 *   else, between jt_pmu_start and jt_pmu_stop. It does not depend on when a
 *   run was forked: a same_process run forked and prepared before "go" is
 *   counted only from the window's start, and a fresh run forked inside it
 *   from its first instruction. The worker knows the box's cgroup from the
 *   slot in the runner's pong, so no pid crosses the protocol. Needs a
 *   cgroup the perf_event controller sees: any cgroup v2 directory
 *   (/sys/fs/cgroup/jouletrace/slot-N), or, on cgroup v1, the box's directory
 *   in the perf_event hierarchy (which sandbox_cgroup.c does not make today:
 *   there the counters are absent, with the reason). Being per-CPU events
 *   they need root or CAP_PERFMON (or perf_event_paranoid <= 0).
 *
 *   pid: counters on one process with inherit=1, any CPU. They count the
 *   process and the children it forks after the counters were opened (read()
 *   adds the live and the exited children), gated by start/stop. Use it for
 *   the supervisor only when no perf cgroup exists, and open before its runs
 *   are forked (before the first trial): a child forked earlier is never
 *   counted. Needs ptrace-read rights on the process (root, since the
 *   supervisor is another uid and not dumpable), or, for one's own
 *   processes, perf_event_paranoid <= 2 (tests count themselves this way).
 *
 * Absence is normal (virtual machines have no PMU): jt_pmu_open succeeds
 * whenever the arguments are valid, and every counter that could not be
 * opened or did not run reads as present = false with a reason for people.
 *
 * Threads: a jt_pmu_t is used by one thread at a time (the worker's
 * measuring thread).
 */
#ifndef JT_PMU_H
#define JT_PMU_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "status.h"

typedef enum {
    JT_PMU_INSTRUCTIONS = 0, /* PERF_COUNT_HW_INSTRUCTIONS: retired instructions */
    JT_PMU_CYCLES,           /* PERF_COUNT_HW_CPU_CYCLES: core cycles (not reference cycles) */
    JT_PMU_CACHE_MISSES,     /* PERF_COUNT_HW_CACHE_MISSES: usually last-level cache misses */
    JT_PMU_COUNTERS
} jt_pmu_counter_t;

typedef struct {
    const char *cgroup_dir; /* cgroup target: the box's cgroup directory; NULL for the pid target */
    int cpu;                /* cgroup target: the measurement core (>= 0) */
    pid_t pid;              /* pid target (cgroup_dir NULL): the process, > 0 */
} jt_pmu_target_t;

typedef struct {
    bool present;    /* false: value is 0 and reason says why */
    bool scaled;     /* the kernel multiplexed the counter: value is extrapolated from the
                        share of the window it ran (value * enabled / running) */
    uint64_t value;  /* events counted between start and stop */
    char reason[96]; /* when !present, e.g. "no hardware PMU on this host (...)" */
} jt_pmu_value_t;

typedef struct {
    jt_pmu_value_t counter[JT_PMU_COUNTERS]; /* indexed by jt_pmu_counter_t */
} jt_pmu_counts_t;

typedef struct jt_pmu jt_pmu_t;

/* Open the three counters for target, disabled. Counters that cannot be
 * opened are kept as absent with their reason (no PMU, permissions, no perf
 * cgroup...), so this succeeds on every host. Returns JT_OK with *out owned
 * by the caller (jt_pmu_close); JT_ERR_INVALID for a target that names
 * neither a cgroup with cpu >= 0 nor a pid > 0, JT_ERR_NOMEM; *out is then
 * untouched. */
jt_status_t jt_pmu_open(const jt_pmu_target_t *target, jt_pmu_t **out);

/* The same with other events (tests: software events exist on every host):
 * counter i is perf event (type, config[i]). */
jt_status_t jt_pmu_open_events(const jt_pmu_target_t *target, uint32_t type,
                               const uint64_t config[JT_PMU_COUNTERS], jt_pmu_t **out);

/* Zero and enable every open counter: the window starts. Call it right
 * before the first meter reading of the window. A counter whose ioctl fails
 * becomes absent with the reason. */
void jt_pmu_start(jt_pmu_t *p);

/* Disable every open counter: the window ends (right after the meter's
 * second reading). */
void jt_pmu_stop(jt_pmu_t *p);

/* The counts of the last window (or of the window so far, before stop) into
 * *out; every counter is either present with its value or absent with a
 * reason ("the counter never ran..." when the PMU was busy the whole
 * window). Returns how many are present. */
size_t jt_pmu_read(jt_pmu_t *p, jt_pmu_counts_t *out);

/* Close the counters and free p. NULL is a no-op. */
void jt_pmu_close(jt_pmu_t *p);

/* "instructions", "cycles", "cache_misses" (the JSON keys); "unknown" else. */
const char *jt_pmu_counter_name(jt_pmu_counter_t c);

/* {"instructions": N|null, "cycles": N|null, "cache_misses": N|null,
 *  "scaled": [names of multiplexed counters], "absent": {name: reason}}:
 * a counter without a value is null and its reason is under "absent"; the
 * "scaled" and "absent" keys appear only when not empty. New reference (NULL
 * on no memory). */
json_t *jt_pmu_counts_json(const jt_pmu_counts_t *c);

/* The reason text for a perf_event_open errno (exposed for tests):
 * ENOENT/EOPNOTSUPP/ENODEV -> "no hardware PMU on this host (...)";
 * EACCES/EPERM -> "perf_event_paranoid is N; run the worker as root or lower
 * it" (paranoid INT_MIN: unreadable, said so); EBADF on a cgroup target -> not
 * a cgroup; others name the errno. jt_pmu_open refines ENOENT: on a cgroup
 * target it probes a software event to tell a cgroup outside any perf_event
 * hierarchy from a missing PMU, and it says the PMU lacks the event when it
 * opened another of the three. */
void jt_pmu_open_reason(int err, int paranoid, bool cgroup_target, char *buf, size_t len);

/* /proc/sys/kernel/perf_event_paranoid, or INT_MIN when unreadable. */
int jt_pmu_paranoid(void);

#endif
