/* sandbox_confine.h -- OS confinement of the sandbox child and of the runs it forks.
 *
 * Called in freshly forked children only (single-threaded). Safety comes from
 * the kernel: affinity, rlimits, pid/mount/network/IPC/UTS namespaces, the
 * box's own unprivileged uids, no_new_privs + seccomp, parent-death signal.
 */
#ifndef JT_SANDBOX_CONFINE_H
#define JT_SANDBOX_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "protocol.h" /* the JT_BOX_* bits */

#define JT_SANDBOX_FILE_SIZE_BYTES (16L * 1024 * 1024) /* largest file a candidate may write */
#define JT_SANDBOX_OPEN_FILES 64L
#define JT_SANDBOX_USER_PROCESSES 16L /* per box uid: the supervisor and its one run */
#define JT_SANDBOX_WORKDIR_BYTES (64L * 1024 * 1024) /* private tmpfs of the working directory */
#define JT_SANDBOX_TMP_BYTES (16L * 1024 * 1024)     /* private /tmp, /var/tmp, /dev/shm each */
#define JT_SANDBOX_TMPFS_INODES 4096L                /* files and directories per private tmpfs */
#define JT_SANDBOX_SHM_BYTES (64L * 1024 * 1024)     /* System V shared memory per box, in all */

typedef struct {
    const char *workdir;     /* chdir here (the runner created it for this job) */
    bool drop_privileges;    /* switch to the box's uids (only possible as root) */
    uid_t supervisor_uid;    /* the sandbox child's uid and gid (sandbox_slot.h) */
    uid_t run_uid;           /* the runs' uid and gid */
    const char *python_home; /* the interpreter's prefix, bound into the box's root */
    bool user_namespace;     /* the child is root of a user namespace of its own (the
                                runner is not root): namespaces as root, then no caps */
} jt_sandbox_limits_t;

/* Confine the calling sandbox child before it knows its job: as root, new
 * network, IPC and UTS namespaces and a private mount namespace with the
 * box's own minimal read-only root (sandbox_root.h), or, where that cannot be
 * made, the host's tree with fresh size-limited tmpfs mounts owned by the run
 * uid on the working directory, /tmp, /var/tmp, /dev/shm and /run/lock, and
 * /proc a fresh one of the child's pid namespace (when permitted); chdir, rlimits (file size, open
 * files, processes, no core dumps), the supervisor uid (sandbox_identity.h:
 * with CAP_SETUID, CAP_SETGID and CAP_KILL only when the child is pid 1 of its
 * own pid namespace, else none), parent-death SIGKILL, not dumpable,
 * no_new_privs, the base seccomp filter (ptrace, mount, kexec, bpf, keyctl,
 * socket creation, namespaces, modules, perf events, ... fail with EPERM) and
 * the identity filter. expected_parent is the pid the child must still have
 * as parent after the parent-death signal is armed (0: the child is pid 1 of
 * its namespace and its parent is not visible). Stores the JT_BOX_* bits it
 * obtained in *features. Returns 0, or -1 with a reason in err (the caller
 * must then exit). */
int jt_sandbox_enter_child(const jt_sandbox_limits_t *lim, pid_t expected_parent,
                           unsigned *features, char *err, size_t errlen);

/* The job-specific part, applied once the job is known (allowed after the
 * privileges are gone, since it only narrows): pin to core (-1 = leave),
 * RLIMIT_AS = memory_limit_bytes, RLIMIT_CPU = cpu_seconds (hard + 1).
 * Returns 0, or -1 with a reason in err. */
int jt_sandbox_apply_job(int core, long memory_limit_bytes, long cpu_seconds, char *err,
                         size_t errlen);

/* Further confine a run (a fork of the sandbox child about to execute
 * candidate code): its own process group, the run uid without capabilities
 * (when the child has the box's uids), parent-death SIGKILL, and a second
 * seccomp filter so it may neither fork, start threads nor exec, may send
 * signals only to itself, and may not change its CPU affinity, scheduling
 * policy or priority (it stays where it is measured). Returns 0, or -1 with a reason in err. */
int jt_sandbox_enter_run(pid_t expected_parent, char *err, size_t errlen);

/* Remove whatever runs left in the working directory and the private
 * temporary directories (entries at any depth, and the top directories'
 * modes, extended attributes and times), and every System V object of the
 * box's IPC namespace, so that no run can leave state that makes a later run
 * cheaper. Called by the sandbox child between runs. Returns 0, or -1 when
 * something could not be removed (the caller fails the trial). */
int jt_sandbox_scrub(void);

#endif
