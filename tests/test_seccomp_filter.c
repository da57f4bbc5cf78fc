/* test_seccomp_filter.c -- the base and run filters refuse what they must and allow a run's own signals.
 *
 * Each case forks: the child installs a filter (freshly compiled, or the
 * program precompiled by jt_filter_prepare with the run's pid patched in)
 * and reports through its exit code which check failed (0: all held).
 */
#include "unit_main.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp_filter.h"

/* Run check() in a forked child; its exit code (0 = every check held). */
static int in_child(int (*check)(void), int prepare)
{
    pid_t pid = fork();
    if (pid == 0) {
        char why[256];
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) /* as the sandbox child does */
            _exit(89);
        if (prepare && jt_filter_prepare(why, sizeof why) < 0) {
            fprintf(stderr, "prepare: %s\n", why);
            _exit(90);
        }
        _exit(check());
    }
    assert_true(pid > 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int denied(long rc)
{
    return rc == -1 && errno == EPERM;
}

static int base_checks(void)
{
    char why[256];
    if (jt_filter_load_base(why, sizeof why) < 0)
        return 10;
    if (!denied(socket(AF_INET, SOCK_STREAM, 0)))
        return 11;
    int sv[2];
    if (!denied(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)))
        return 12;
    if (!denied(syscall(SYS_unshare, 0)))
        return 13;
    if (!denied(syscall(SYS_ptrace, 0, 0, 0, 0)))
        return 14;
    /* fcntl's command is 32 bits to the kernel: bit 32 set must not slip past */
    int pp[2];
    if (pipe(pp) < 0)
        return 17;
    if (!denied(syscall(SYS_fcntl, pp[0], (1L << 32) | F_SETOWN, getppid())) ||
        !denied(syscall(SYS_fcntl, pp[0], (1L << 32) | F_SETFL, O_ASYNC)) ||
        !denied(fcntl(pp[0], F_SETLEASE, F_RDLCK)) || !denied(fcntl(pp[0], F_NOTIFY, DN_CREATE)))
        return 18;
    if (fcntl(pp[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(pp[0], F_GETOWN) < 0)
        return 19; /* the harmless commands stay allowed */
    close(pp[0]);
    close(pp[1]);
    /* memory outside RLIMIT_AS */
    if (!denied(syscall(SYS_memfd_create, "x", 0)))
        return 30;
    /* what stays allowed: plain file work and fork (the run filter refuses fork) */
    if (getppid() <= 0 || dup(0) < 0)
        return 15;
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    if (p < 0 || waitpid(p, NULL, 0) != p)
        return 16;
    return 0;
}

static int run_checks(void)
{
    char why[256];
    pid_t parent = getppid();
    if (jt_filter_load_run(why, sizeof why) < 0)
        return 20;
    if (!denied(kill(parent, 0)))
        return 21; /* the sandbox child is out of reach */
    if (!denied(kill(1, 0)) || !denied(kill(-1, 0)))
        return 22;
    if (kill(getpid(), 0) != 0)
        return 23; /* its own pid is allowed */
    if (syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), 0) != 0)
        return 24; /* raise() and abort() use tgkill on itself */
    if (!denied(syscall(SYS_tgkill, parent, parent, 0)))
        return 25;
    if (!denied(fork()))
        return 26;
    if (!denied(setsid()) || !denied(setpgid(0, 0)))
        return 27;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (!denied(sched_setaffinity(0, sizeof set, &set)))
        return 28;
    char *argv[] = {"/bin/true", NULL};
    execv(argv[0], argv);
    if (errno != EPERM)
        return 29;
    return 0;
}

static void base_filter_compiled_on_the_spot(void **state)
{
    (void)state;
    assert_int_equal(in_child(base_checks, 0), 0);
}

static void base_filter_precompiled(void **state)
{
    (void)state;
    assert_int_equal(in_child(base_checks, 1), 0);
}

static void run_filter_compiled_on_the_spot(void **state)
{
    (void)state;
    assert_int_equal(in_child(run_checks, 0), 0);
}

/* Prepared once in the child's parent-to-be, loaded with the pid patched
 * in: several runs in a row, each with its own pid. */
static int prepared_runs(void)
{
    char why[256];
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || jt_filter_prepare(why, sizeof why) < 0)
        return 90;
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_checks());
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
            return 91;
        if (WEXITSTATUS(status) != 0)
            return WEXITSTATUS(status);
    }
    return 0;
}

static void run_filter_precompiled_each_run_own_pid(void **state)
{
    (void)state;
    assert_int_equal(in_child(prepared_runs, 0), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(base_filter_compiled_on_the_spot),
    cmocka_unit_test(base_filter_precompiled),
    cmocka_unit_test(run_filter_compiled_on_the_spot),
    cmocka_unit_test(run_filter_precompiled_each_run_own_pid),
};

JT_UNIT_MAIN(tests)
