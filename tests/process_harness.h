/* process_harness.h -- test helper: start, watch and stop the daemons a test runs as children.
 *
 * Usage:
 *     jt_proc_t w = {.id = "worker"};
 *     snprintf(w.log, sizeof w.log, "%s/worker.log", dir);
 *     char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
 *     const char *vars[] = {"JOULETRACE_METER=estimate", NULL};
 *     if (jt_proc_start(&w, argv, vars, false) != 0) fail();
 *     ... jt_proc_alive(w.pid) ...
 *     int status = jt_proc_stop(&w.pid, SIGTERM, 10.0, false);
 *
 * A child's stdout and stderr are appended to its log file (shown with
 * jt_proc_dump_log when a test fails), its stdin is /dev/null, and it dies
 * with the test (PR_SET_PDEATHSIG; the signal is tied to the thread that
 * started it: start children from the test's main thread). Servers listen on
 * 127.0.0.1 only (jt_proc_free_port). Static inline functions (each test uses
 * a few); call them from one thread.
 */
#ifndef JT_TESTS_PROCESS_HARNESS_H
#define JT_TESTS_PROCESS_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define JT_PROC_LOG_TAIL_MAX 16384 /* bytes of a log jt_proc_dump_log shows at most */

/* A started child: its pid (0 when not running), a name for messages and the
 * file its output goes to (set log before jt_proc_start). */
typedef struct {
    pid_t pid;
    char id[32];
    char log[256];
} jt_proc_t;

/* Seconds on the monotonic clock. */
static inline double jt_proc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep ms milliseconds (less when a signal arrives). */
static inline void jt_proc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A TCP port free on 127.0.0.1 right now (the kernel's choice), or -1. Another
 * program may take it before the child binds it: callers retry or fail. */
static inline int jt_proc_free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* envp for a child: the test's environment without the entries that start
 * with drop_prefix, then vars (NULL-terminated "NAME=value" strings, may be
 * NULL). Neither is copied: keep both alive until the fork. The caller frees
 * the array (not the strings); NULL when out of memory. Built before fork
 * because the child of a multi-threaded test (nats.c threads) may only call
 * async-signal-safe functions. */
static inline char **jt_proc_envp(const char *drop_prefix, const char *const *vars)
{
    size_t n = 0, m = 0, drop = strlen(drop_prefix);
    while (environ[n] != NULL)
        n++;
    while (vars != NULL && vars[m] != NULL)
        m++;
    char **envp = calloc(n + m + 1, sizeof *envp);
    if (envp == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], drop_prefix, drop) != 0)
            envp[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        envp[k++] = (char *)vars[i];
    envp[k] = NULL;
    return envp;
}

/* Fork+exec argv[0] (a path; else looked up in PATH) with envp, stdin from
 * /dev/null, stdout and stderr appended to log (created 0600). The child gets
 * deathsig when the test dies; with own_group it leads a process group of its
 * own (jt_proc_stop with group then kills what is left of it). Returns the
 * pid, or -1 with a line on stderr when the log cannot be opened or fork
 * fails. A failed exec shows as the child's exit code 127. */
static inline pid_t jt_proc_spawn(char *const *argv, char *const *envp, const char *log,
                                  int deathsig, bool own_group)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "process_harness: cannot open %s: %s\n", log, strerror(errno));
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, deathsig);
        if (getppid() != parent)
            _exit(127);
        if (own_group)
            setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execve(argv[0], argv, envp);
        execvpe(argv[0], argv, envp);
        _exit(127);
    }
    if (pid < 0)
        fprintf(stderr, "process_harness: fork for %s: %s\n", argv[0], strerror(errno));
    close(fd);
    return pid;
}

/* Start argv as p (p->log set by the caller) with the test's environment
 * minus JOULETRACE_*, plus vars (see jt_proc_envp); SIGKILL when the test
 * dies. Returns 0 with p->pid set, or -1 leaving p->pid 0. */
static inline int jt_proc_start(jt_proc_t *p, char *const *argv, const char *const *vars,
                                bool own_group)
{
    p->pid = 0;
    char **envp = jt_proc_envp("JOULETRACE_", vars);
    if (envp == NULL)
        return -1;
    pid_t pid = jt_proc_spawn(argv, envp, p->log, SIGKILL, own_group);
    free(envp);
    if (pid < 0)
        return -1;
    p->pid = pid;
    return 0;
}

/* Wait up to `seconds` for the child pid to exit and reap it. Returns true
 * once it is gone, its wait status in *status (-1 when it was no child of
 * ours, e.g. reaped already); false at the deadline, *status untouched. */
static inline bool jt_proc_reap(pid_t pid, double seconds, int *status)
{
    double until = jt_proc_now() + seconds;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return true;
        if (r < 0 && errno != EINTR) {
            *status = -1;
            return true;
        }
        if (jt_proc_now() > until)
            return false;
        jt_proc_sleep_ms(10);
    }
}

/* Send sig to *pid and reap it; when it has not exited after `seconds`,
 * SIGKILL it (and its process group when group) and reap it. With group,
 * whatever is left of its group is killed afterwards too. Sets *pid to 0.
 * Returns the wait status (a SIGKILL after the deadline reads as killed by
 * SIGKILL), or -1 when *pid was not running or was no child of ours. */
static inline int jt_proc_stop(pid_t *pid, int sig, double seconds, bool group)
{
    int status = -1;
    if (*pid <= 0)
        return -1;
    kill(*pid, sig);
    if (!jt_proc_reap(*pid, seconds, &status)) {
        if (group)
            kill(-*pid, SIGKILL);
        kill(*pid, SIGKILL);
        if (waitpid(*pid, &status, 0) != *pid)
            status = -1;
    }
    if (group)
        kill(-*pid, SIGKILL);
    *pid = 0;
    return status;
}

/* Whether the child pid is still running. A child that has exited is reaped
 * here (its status is lost): use it for liveness checks only. */
static inline bool jt_proc_alive(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

/* Print the last `max` bytes (at most JT_PROC_LOG_TAIL_MAX) of the log at
 * path to stderr under title, for a failing test; a line when it is absent. */
static inline void jt_proc_dump_log(const char *title, const char *path, size_t max)
{
    char buf[JT_PROC_LOG_TAIL_MAX + 1];
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        fprintf(stderr, "---- %s: no log at %s ----\n", title, path);
        return;
    }
    if (max > JT_PROC_LOG_TAIL_MAX)
        max = JT_PROC_LOG_TAIL_MAX;
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, size > (long)max ? size - (long)max : 0, SEEK_SET);
    size_t n = fread(buf, 1, max, in);
    buf[n] = '\0';
    fclose(in);
    fprintf(stderr, "---- %s (last %zu bytes of %s) ----\n%s\n----\n", title, n, path, buf);
}

#endif
