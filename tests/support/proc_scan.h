/* proc_scan.h -- what /proc says of processes and cores: a sandbox's leftovers, a core's load.
 *
 * Tests use it to assert that no process forked for a job is left over (a sandboxed process
 * carries JOULETRACE_SANDBOX_DIR=<the case's directory> in its environment) and to wait for a
 * quiet measurement core. Needs only libc. Call it from one thread (the scans read into
 * static storage).
 */
#ifndef JT_TESTS_PROC_SCAN_H
#define JT_TESTS_PROC_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One process found by jt_scan_env_procs. */
typedef struct {
    pid_t pid, ppid;
    long ticks; /* user + system CPU time so far */
    int depth;  /* below a root (root 0, runner 1, ...), -1: no root above (jt_scan_set_depths) */
} jt_scan_proc_t;

/* Busy ticks (user, nice, system, irq, softirq, steal; USER_HZ) of `core`
 * from /proc/stat; -1 when it cannot be read or has no such line. */
long long jt_scan_busy_ticks(int core);

/* Fill out[0..max) with the live processes other than this one whose
 * environment holds exactly `entry` (e.g. "JOULETRACE_SANDBOX_DIR=/dev/shm/x/sandbox"),
 * each with depth -1; returns how many (0 also when /proc cannot be read). A
 * process that ends during the scan may be missed; stops at max. */
size_t jt_scan_env_procs(const char *entry, jt_scan_proc_t *out, size_t max);

/* Set the depth of each of procs[0..n) below the nearest of roots[0..nroots)
 * (a root itself: 0), following parents within procs only, at most 16 steps;
 * -1 where the chain leaves procs before it reaches a root (an orphan). */
void jt_scan_set_depths(jt_scan_proc_t *procs, size_t n, const pid_t *roots, size_t nroots);

/* Mark in stray[0..n) the processes of procs[0..n) (depths set) that do not
 * belong to an idle worker: orphans, anything deeper than a runner's one
 * ready child, a runner with more than one child, or a ready child that used
 * more than 2 ticks of CPU since `before[0..nb)` (same pids). Returns how
 * many are marked. */
size_t jt_scan_strays(const jt_scan_proc_t *procs, size_t n, const jt_scan_proc_t *before,
                      size_t nb, bool *stray);

/* CPU ticks (user + system, USER_HZ) used so far by every descendant of root, counting the
 * children they reaped; -1 when /proc cannot be read. */
long jt_scan_descendant_ticks(pid_t root);

#endif
