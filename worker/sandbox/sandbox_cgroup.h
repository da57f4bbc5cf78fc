/* sandbox_cgroup.h -- a memory and process-count cgroup per box slot, v2 or v1, when the host has
 * one; it also counts the box's CPU time.
 *
 * The runner (root, outside the box) makes /sys/fs/cgroup/jouletrace/slot-N
 * (cgroup v2) or memory/jouletrace/slot-N and pids/jouletrace/slot-N (v1),
 * and cpuacct/jouletrace/slot-N where v1 has the cpuacct controller (without
 * it the box keeps memory and pids), puts each sandbox child in it, and
 * before each job sets the memory limit to the job's memory limit plus the
 * box's tmpfs sizes and the supervisor's own share, and the process limit to
 * a handful: everything a run can allocate (heap, SysV and POSIX shared
 * memory, tmpfs files) is then bounded by the kernel. Without a writable
 * cgroup tree (a container, no controllers) the box keeps rlimits, tmpfs
 * sizes and its IPC namespace, and the health endpoint names the missing
 * cgroup. The box's CPU time (v2 cpu.stat, v1 cpuacct.usage) is what the
 * worker's estimate meter counts.
 */
#ifndef JT_SANDBOX_CGROUP_H
#define JT_SANDBOX_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#define JT_BOX_PIDS_MAX 8 /* the supervisor, one run, and room for the kernel's accounting */
#define JT_BOX_MEMORY_OVERHEAD_BYTES (192L * 1024 * 1024) /* tmpfs mounts + supervisor */

typedef enum { JT_CGROUP_NONE = 0, JT_CGROUP_V1 = 1, JT_CGROUP_V2 = 2 } jt_cgroup_mode_t;

typedef struct {
    jt_cgroup_mode_t mode;
    char memory_dir[128];  /* v2: the one directory */
    char pids_dir[128];    /* v1 only */
    char cpuacct_dir[128]; /* v1 only; "" without the cpuacct controller */
} jt_box_cgroup_t;

/* Make the slot's cgroup. Returns its mode; JT_CGROUP_NONE with a reason in
 * why when the host offers none (the box then runs without). */
jt_cgroup_mode_t jt_box_cgroup_open(jt_box_cgroup_t *cg, int slot, char *why, size_t whylen);

/* Limit the box for a job of memory_limit_bytes. Returns 0 or -1 (errno). */
int jt_box_cgroup_limit(const jt_box_cgroup_t *cg, long memory_limit_bytes);

/* Move process pid into the box's cgroup. Returns 0 or -1 (errno). A v1
 * cpuacct group that refuses pid is removed (the box then has no CPU
 * accounting; jt_box_cgroup_cpu_dir says "") and does not fail the call. */
int jt_box_cgroup_add(jt_box_cgroup_t *cg, pid_t pid);

/* Remove the slot's (empty) cgroup directories. */
void jt_box_cgroup_close(jt_box_cgroup_t *cg);

/* The directory whose CPU accounting counts the box's processes: v2 the
 * slot's directory (its cpu.stat, there with or without the cpu controller),
 * v1 the cpuacct one; "" when the box has none. Points into cg or is static. */
const char *jt_box_cgroup_cpu_dir(const jt_box_cgroup_t *cg);

/* "v2", "v1" or "none". */
const char *jt_cgroup_mode_name(jt_cgroup_mode_t mode);

#endif
