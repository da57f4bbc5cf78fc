/* seccomp_filter.c -- build the base and run filters with libseccomp, keep their BPF, load them. */
#include "seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Stands for the run's pid in the compiled run filter: above any pid_max
 * (at most 2^22), so no real pid can be mistaken for it. */
#define PID_PLACEHOLDER 0x5EC0FFEEu
#define PROGRAM_MAX_INSNS 4096 /* BPF_MAXINSNS */
#define CMD_MASK 0xFFFFFFFFu   /* the part of an fcntl or ioctl command the kernel reads */

/* Syscalls no candidate has a reason to make; all fail with EPERM. Why each one is here:
 * docs/seccomp.md. */
static const int base_denied[] = {
    /* other processes' memory and identity */
    SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(kcmp),
    SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_getfd), SCMP_SYS(pidfd_send_signal),
    SCMP_SYS(process_madvise), SCMP_SYS(process_mrelease), SCMP_SYS(migrate_pages),
    SCMP_SYS(move_pages),
    /* the file system tree and namespaces */
    SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
    SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(fsopen), SCMP_SYS(fsconfig), SCMP_SYS(fsmount),
    SCMP_SYS(fspick), SCMP_SYS(open_tree), SCMP_SYS(move_mount), SCMP_SYS(mount_setattr),
    SCMP_SYS(mknod), SCMP_SYS(mknodat), SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
    SCMP_SYS(quotactl), SCMP_SYS(quotactl_fd), SCMP_SYS(sethostname), SCMP_SYS(setdomainname),
    /* the kernel itself */
    SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(reboot), SCMP_SYS(init_module),
    SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
    SCMP_SYS(userfaultfd), SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
    SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
    SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(acct), SCMP_SYS(settimeofday),
    SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(syslog),
    SCMP_SYS(lookup_dcookie), SCMP_SYS(vhangup), SCMP_SYS(iopl), SCMP_SYS(ioperm),
    SCMP_SYS(modify_ldt), SCMP_SYS(uselib), SCMP_SYS(fanotify_init), SCMP_SYS(personality),
    /* the network, local sockets included */
    SCMP_SYS(socket), SCMP_SYS(socketpair),
    /* memory outside RLIMIT_AS and state outside the file system: POSIX message queues,
     * memory files (System V IPC stays: the IPC namespace makes it private) */
    SCMP_SYS(mq_open), SCMP_SYS(mq_unlink),
    SCMP_SYS(mq_timedsend), SCMP_SYS(mq_timedreceive), SCMP_SYS(mq_notify),
    SCMP_SYS(mq_getsetattr), SCMP_SYS(memfd_create), SCMP_SYS(memfd_secret),
};

/* Denied to a run outright (EPERM): no new processes or programs, no new
 * process group or session, no moving off its core, no priority change. */
static const int run_denied[] = {
    SCMP_SYS(clone),              SCMP_SYS(fork),         SCMP_SYS(vfork),
    SCMP_SYS(execve),             SCMP_SYS(execveat),     SCMP_SYS(setpgid),
    SCMP_SYS(setsid),             SCMP_SYS(sched_setaffinity), SCMP_SYS(sched_setattr),
    SCMP_SYS(sched_setscheduler), SCMP_SYS(sched_setparam), SCMP_SYS(setpriority),
    SCMP_SYS(ioprio_set),
};

/* Signals only to itself: the sandbox child, the runner and other jobs'
 * processes (the same user) are out of reach. */
static const int run_signals[] = {
    SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(tgkill), SCMP_SYS(rt_sigqueueinfo),
    SCMP_SYS(rt_tgsigqueueinfo),
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    struct sock_filter *insns; /* NULL: not prepared */
    unsigned short len;
} program_t;

static program_t base_program, run_program, identity_program;
static uid_t identity_uids[2]; /* the box uids identity_program was compiled for */

/* fcntl commands that make the kernel send signals on the caller's behalf: a
 * descriptor's owner (F_SETOWN, F_SETOWN_EX) and its signal (F_SETSIG) with
 * O_ASYNC would signal any process of the same user, past the kill() rules.
 * Leases (F_SETLEASE: an opener of the file waits up to lease-break-time) and
 * directory notifications (F_NOTIFY: signals) are refused with them. */
static const unsigned int fcntl_denied[] = {F_SETOWN, F_SETOWN_EX, F_SETSIG, F_SETLEASE,
                                            F_NOTIFY};
/* The ioctl twins: FIOASYNC sets O_ASYNC, FIOSETOWN/SIOCSPGRP set the owner.
 * TIOCSTI would type into a controlling terminal the run inherited (a worker
 * started from a shell), TIOCLINUX drives the console. */
static const unsigned long ioctl_denied[] = {FIOASYNC, FIOSETOWN, SIOCSPGRP, TIOCSTI, TIOCLINUX};

static scmp_filter_ctx build_base(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL)
        return NULL;
    int rc = 0;
    for (size_t i = 0; i < N_OF(base_denied); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), base_denied[i], 0);
    /* The kernel reads fcntl's and ioctl's command as a 32-bit int: compare
     * only the low half, or a raw syscall with high bits set would slip past. */
    for (size_t i = 0; i < N_OF(fcntl_denied); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 1,
                               SCMP_A1(SCMP_CMP_MASKED_EQ, CMD_MASK, fcntl_denied[i]));
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 2,
                           SCMP_A1(SCMP_CMP_MASKED_EQ, CMD_MASK, F_SETFL),
                           SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, O_ASYNC));
    for (size_t i = 0; i < N_OF(ioctl_denied); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                               SCMP_A1(SCMP_CMP_MASKED_EQ, CMD_MASK, ioctl_denied[i]));
    if (rc != 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

static scmp_filter_ctx build_run(unsigned int self)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL)
        return NULL;
    /* clone3 cannot be filtered by flags: ENOSYS makes libc fall back to clone. */
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    for (size_t i = 0; i < N_OF(run_denied); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), run_denied[i], 0);
    for (size_t i = 0; i < N_OF(run_signals); i++)
        rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), run_signals[i], 1,
                               SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)self));
    /* Limits of itself only (pid 0): lowering the sandbox child's open-file
     * limit would break the next run. */
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prlimit64), 1,
                           SCMP_A0(SCMP_CMP_NE, 0));
    if (rc != 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

/* The BPF program libseccomp would load for ctx (released here). */
static int export_program(scmp_filter_ctx ctx, program_t *out)
{
    int p[2];
    if (ctx == NULL || pipe2(p, O_CLOEXEC) < 0) {
        if (ctx != NULL)
            seccomp_release(ctx);
        return -1;
    }
    int rc = seccomp_export_bpf(ctx, p[1]); /* a few hundred bytes: fits the pipe */
    seccomp_release(ctx);
    close(p[1]);
    size_t cap = PROGRAM_MAX_INSNS * sizeof(struct sock_filter), got = 0;
    char *buf = rc == 0 ? malloc(cap) : NULL;
    while (buf != NULL && got < cap) {
        ssize_t n = read(p[0], buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(p[0]);
    if (buf == NULL || got == 0 || got % sizeof(struct sock_filter) != 0 || got == cap) {
        free(buf);
        return -1;
    }
    out->insns = (struct sock_filter *)buf;
    out->len = (unsigned short)(got / sizeof(struct sock_filter));
    return 0;
}

static bool is_pid_compare(const struct sock_filter *insn)
{
    return insn->code == (BPF_JMP | BPF_JEQ | BPF_K) && insn->k == PID_PLACEHOLDER;
}

/* set*uid/set*gid may name only the box's two adjacent uids: every id must
 * lie in [supervisor, run]; -1 ("unchanged") is above run and refused too,
 * the box never needs it. The calls that take no explicit triple fail. */
static scmp_filter_ctx build_identity(uid_t supervisor, uid_t run)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL)
        return NULL;
    const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
    static const int never[] = {SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
                                SCMP_SYS(setregid), SCMP_SYS(setgroups)};
    static const int three_ids[] = {SCMP_SYS(setresuid), SCMP_SYS(setresgid)};
    static const int one_id[] = {SCMP_SYS(setfsuid), SCMP_SYS(setfsgid)};
    int rc = 0;
    for (size_t i = 0; i < N_OF(never) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, deny, never[i], 0);
    for (size_t i = 0; i < N_OF(three_ids) && rc == 0; i++)
        for (unsigned arg = 0; arg < 3 && rc == 0; arg++) {
            rc = seccomp_rule_add(ctx, deny, three_ids[i], 1,
                                  SCMP_CMP(arg, SCMP_CMP_LT, (scmp_datum_t)supervisor));
            if (rc == 0)
                rc = seccomp_rule_add(ctx, deny, three_ids[i], 1,
                                      SCMP_CMP(arg, SCMP_CMP_GT, (scmp_datum_t)run));
        }
    for (size_t i = 0; i < N_OF(one_id) && rc == 0; i++) {
        rc = seccomp_rule_add(ctx, deny, one_id[i], 1,
                              SCMP_A0(SCMP_CMP_LT, (scmp_datum_t)supervisor));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, deny, one_id[i], 1, SCMP_A0(SCMP_CMP_GT, (scmp_datum_t)run));
    }
    if (rc != 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

int jt_filter_prepare_identity(uid_t supervisor, uid_t run, char *err, size_t errlen)
{
    if (export_program(build_identity(supervisor, run), &identity_program) < 0) {
        snprintf(err, errlen, "compiling the identity seccomp filter failed");
        return -1;
    }
    identity_uids[0] = supervisor;
    identity_uids[1] = run;
    return 0;
}

int jt_filter_prepare(char *err, size_t errlen)
{
    if (export_program(build_base(), &base_program) < 0) {
        snprintf(err, errlen, "compiling the base seccomp filter failed");
        return -1;
    }
    if (export_program(build_run(PID_PLACEHOLDER), &run_program) < 0) {
        snprintf(err, errlen, "compiling the run seccomp filter failed");
        return -1;
    }
    /* Only the signal rules compare with the placeholder (libseccomp may
     * share one comparison block among them): patching every comparison
     * with it gives exactly the filter built for the real pid. */
    size_t found = 0;
    for (unsigned short i = 0; i < run_program.len; i++)
        found += is_pid_compare(&run_program.insns[i]);
    if (found == 0 || found > N_OF(run_signals)) {
        free(run_program.insns);
        run_program.insns = NULL;
        snprintf(err, errlen, "unexpected run filter layout (%zu pid comparisons)", found);
        return -1;
    }
    return 0;
}

/* Install a ready program; no_new_privs must already be set (it is: the
 * sandbox child sets it before its base filter, and runs inherit it). */
static int load_program(struct sock_filter *insns, unsigned short len, char *err, size_t errlen,
                        const char *what)
{
    struct sock_fprog prog = {.len = len, .filter = insns};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        snprintf(err, errlen, "%s: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

static int load_ctx(scmp_filter_ctx ctx, char *err, size_t errlen, const char *what)
{
    if (ctx == NULL) {
        snprintf(err, errlen, "%s: building the filter failed", what);
        return -1;
    }
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", what, strerror(-rc));
        return -1;
    }
    return 0;
}

int jt_filter_load_base(char *err, size_t errlen)
{
    if (base_program.insns != NULL)
        return load_program(base_program.insns, base_program.len, err, errlen,
                            "seccomp (base filter)");
    return load_ctx(build_base(), err, errlen, "seccomp_load (base filter)");
}

int jt_filter_load_run(char *err, size_t errlen)
{
    unsigned int self = (unsigned int)getpid();
    if (run_program.insns == NULL)
        return load_ctx(build_run(self), err, errlen, "seccomp_load (run filter)");
    /* This run's own (copy-on-write) copy of the program: patched in place. */
    for (unsigned short i = 0; i < run_program.len; i++)
        if (is_pid_compare(&run_program.insns[i]))
            run_program.insns[i].k = self;
    return load_program(run_program.insns, run_program.len, err, errlen, "seccomp (run filter)");
}

int jt_filter_load_identity(uid_t supervisor, uid_t run, char *err, size_t errlen)
{
    if (identity_program.insns != NULL && identity_uids[0] == supervisor && identity_uids[1] == run)
        return load_program(identity_program.insns, identity_program.len, err, errlen,
                            "seccomp (identity filter)");
    return load_ctx(build_identity(supervisor, run), err, errlen, "seccomp_load (identity filter)");
}
