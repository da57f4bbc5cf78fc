/* sandbox_confine.h -- OS confinement of the sandbox child and of the runs it forks.
 *
 * Called in freshly forked children only (single-threaded). Safety comes from
 * the kernel: affinity, rlimits, network namespace, unprivileged user,
 * no_new_privs + seccomp, parent-death signal.
 */
#ifndef JT_SANDBOX_CONFINE_H
#define JT_SANDBOX_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JT_SANDBOX_FILE_SIZE_BYTES (16L * 1024 * 1024) /* largest file a candidate may write */
#define JT_SANDBOX_OPEN_FILES 64L
#define JT_SANDBOX_USER_PROCESSES 512L /* per sandbox user, all jobs on the host together */
#define JT_SANDBOX_WORKDIR_BYTES (64L * 1024 * 1024) /* private tmpfs of the working directory */
#define JT_SANDBOX_TMP_BYTES (16L * 1024 * 1024)     /* private /tmp, /var/tmp, /dev/shm each */

typedef struct {
    const char *workdir;     /* chdir here (the runner created it for this job) */
    bool drop_privileges;    /* switch to uid/gid (only possible as root) */
    uid_t uid;
    gid_t gid;
} jt_sandbox_limits_t;

/* Confine the calling sandbox child before it knows its job: new network
 * namespace and, as root, a private mount namespace where the working
 * directory, /tmp, /var/tmp and /dev/shm are fresh size-limited tmpfs mounts
 * (when permitted), chdir, rlimits (file size, open files, processes, no core
 * dumps), privileges dropped, parent-death SIGKILL, not dumpable,
 * no_new_privs and the base seccomp filter (ptrace, mount, kexec, bpf,
 * keyctl, socket creation, namespaces, modules, perf events, ... fail with
 * EPERM). expected_parent is the pid the child must still have as parent
 * after the parent-death signal is armed. Returns 0, or -1 with a reason in
 * err (the caller must then exit). */
int jt_sandbox_enter_child(const jt_sandbox_limits_t *lim, pid_t expected_parent, char *err,
                           size_t errlen);

/* The job-specific part, applied once the job is known (allowed after the
 * privileges are gone, since it only narrows): pin to core (-1 = leave),
 * RLIMIT_AS = memory_limit_bytes, RLIMIT_CPU = cpu_seconds (hard + 1).
 * Returns 0, or -1 with a reason in err. */
int jt_sandbox_apply_job(int core, long memory_limit_bytes, long cpu_seconds, char *err,
                         size_t errlen);

/* Further confine a run (a fork of the sandbox child about to execute
 * candidate code): its own process group, parent-death SIGKILL, and a second
 * seccomp filter so it may neither fork, start threads nor exec, may send
 * signals only to itself, and may not change its CPU affinity, scheduling
 * policy or priority (it stays where it is measured). Returns 0, or -1 with a reason in err. */
int jt_sandbox_enter_run(pid_t expected_parent, char *err, size_t errlen);

/* Remove whatever runs left in the working directory and the private
 * temporary directories, so that no run can leave files that make a later
 * run cheaper. Called by the sandbox child between runs. */
void jt_sandbox_scrub(void);

#endif
