/* process_harness.c -- start, watch and stop the programs a test runs as its children. */
#include "process_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double jt_proc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void jt_proc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int jt_proc_free_port(void)
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

char **jt_proc_envp(const char *drop_prefix, const char *const *vars)
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

pid_t jt_proc_spawn(char *const *argv, char *const *envp, const char *log, int deathsig,
                    bool own_group)
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

int jt_proc_start(jt_proc_t *p, char *const *argv, const char *const *vars, bool own_group)
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

bool jt_proc_reap(pid_t pid, double seconds, int *status)
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

int jt_proc_stop(pid_t *pid, int sig, double seconds, bool group)
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

bool jt_proc_alive(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

void jt_proc_dump_log(const char *title, const char *path, size_t max)
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
