/* seccomp_filter.h -- the sandbox's two seccomp filters: compiled once, loaded by every child and run.
 *
 * The base filter confines a sandbox child (and so every run it forks); the
 * run filter further confines a run. libseccomp compiles a filter to BPF in
 * about half a millisecond, which a run would pay each time: the runner
 * compiles both once (jt_filter_prepare) and each process loads the ready
 * program. The run filter names the run's own pid (signals only to itself):
 * it is compiled with a placeholder that each run replaces by its pid.
 */
#ifndef JT_SECCOMP_FILTER_H
#define JT_SECCOMP_FILTER_H

#include <stddef.h>
#include <sys/types.h>

/* Compile both filters in the calling process, before it forks sandbox
 * children. Returns 0, or -1 with a reason in err; the load functions then
 * compile on the spot instead (same filters, only slower). */
int jt_filter_prepare(char *err, size_t errlen);

/* Compile the identity filter of a box whose supervisor uid is supervisor
 * and whose runs' uid is run (= supervisor + 1), in the runner, once it has
 * its slot. Returns 0, or -1 with a reason in err (the load then compiles on
 * the spot). */
int jt_filter_prepare_identity(uid_t supervisor, uid_t run, char *err, size_t errlen);

/* Install the identity filter (no_new_privs set): setresuid, setresgid,
 * setfsuid and setfsgid with any id outside [supervisor, run], and setuid,
 * setgid, setreuid, setregid and setgroups, fail with EPERM. Precompiled when
 * jt_filter_prepare_identity named the same uids. Returns 0, or -1 with a
 * reason in err. */
int jt_filter_load_identity(uid_t supervisor, uid_t run, char *err, size_t errlen);

/* Install the base filter on the calling process, which has set
 * no_new_privs (PR_SET_NO_NEW_PRIVS); these
 * syscalls fail with EPERM: ptrace, process_vm_*, kcmp, pidfd_*,
 * process_madvise/mrelease, page migration, the mount family and new mount
 * API, chroot, pivot_root, unshare, setns, mknod, handles, quotas, host and
 * domain names, kexec, reboot, modules, bpf, perf_event_open, userfaultfd,
 * keyrings, io_uring, swap, acct, clock setting, syslog, iopl/ioperm,
 * modify_ldt, uselib, fanotify, personality, socket, socketpair, POSIX
 * message queues, memfd_create, memfd_secret; fcntl F_SETOWN,
 * F_SETOWN_EX, F_SETSIG, F_SETLEASE, F_NOTIFY and O_ASYNC; ioctl FIOASYNC,
 * FIOSETOWN, SIOCSPGRP, TIOCSTI, TIOCLINUX (commands compared on their low
 * 32 bits, as the kernel reads them). docs/seccomp.md says why. Returns 0,
 * or -1 with a reason in err. */
int jt_filter_load_base(char *err, size_t errlen);

/* Install the run filter on the calling process (a run of a confined
 * sandbox child: no_new_privs inherited; once per process, as it patches
 * the process's copy of the precompiled program with its pid):
 * fork, vfork, clone, execve, execveat fail with EPERM and clone3 with
 * ENOSYS (so libc falls back to clone); kill, tkill, tgkill,
 * rt_sigqueueinfo and rt_tgsigqueueinfo to any pid but its own, setpgid,
 * setsid, sched_setaffinity, sched_setattr, sched_setscheduler,
 * sched_setparam, setpriority and ioprio_set, and prlimit64 of any pid but
 * 0, fail with EPERM. Returns 0, or -1 with a reason in err. */
int jt_filter_load_run(char *err, size_t errlen);

#endif
