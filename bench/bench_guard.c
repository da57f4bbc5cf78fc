/* bench_guard.c -- a bench in a child process group, killed and its directory removed at the end.
 */
#include "bench_guard.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process_harness.h"
#include "temp_dir.h"

static volatile sig_atomic_t got_signal;
static volatile pid_t bench_group; /* the child's process group, once it exists */

static void on_signal(int sig)
{
    got_signal = sig;
    if (bench_group > 0)
        kill(-bench_group, SIGKILL);
}

int jt_bench_guard_run(const char *dir, int (*body)(void *arg), void *arg)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int rc = body(arg);
        fflush(NULL);
        _exit(rc);
    }
    int st = 0;
    if (pid > 0) {
        setpgid(pid, pid); /* either of the two calls makes the group first */
        bench_group = pid;
        if (got_signal)
            kill(-pid, SIGKILL);
        /* wait without reaping, so that the group's id cannot be reused before the kill */
        siginfo_t info;
        while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
            ;
        kill(-pid, SIGKILL); /* whatever the bench left running */
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    } else {
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
    }
    /* the group's last processes may still be exiting and writing: try for 2 s */
    for (int i = 0; i < 20; i++) {
        jt_temp_dir_remove(dir);
        if (access(dir, F_OK) != 0)
            break;
        jt_proc_sleep_ms(100);
    }
    if (got_signal)
        return 128 + got_signal;
    return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
