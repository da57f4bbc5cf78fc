/* hostile_case.c -- one case of the sandbox tests: a hostile candidate through the worker. */
#include "hostile_case.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile_host.h"
#include "pipe_pair.h"
#include "proc_scan.h"
#include "process_harness.h"

#define OUT_MAX (1u << 20)   /* stdout kept for parsing; a report never gets near this */
#define ERR_TAIL (64u << 10) /* stderr: only the last bytes are kept */
#define TAIL_SHOWN 3000u     /* bytes of each stream printed on failure */
#define HARD_DEADLINE_S 50.0 /* the worker is killed after this (ctest TIMEOUT is 60) */
#define DRAIN_S 1.0          /* after the worker exits, its pipes must close within this */
#define VANISH_S 2.0         /* leftover processes get this long to disappear */
#define ENV_NAME "JOULETRACE_SANDBOX_DIR"

static void print_tail(const char *label, const stream_t *s)
{
    size_t shown = s->len < TAIL_SHOWN ? s->len : TAIL_SHOWN;
    fprintf(stderr, "---- %s: %zu bytes in all, last %zu ----\n%.*s\n---- end of %s ----\n", label,
            s->total, shown, (int)shown, s->buf + s->len - shown, label);
}

void hostile_fail(ctx_t *c, const char *who, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL [%s] candidate %s: ", c->name, who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    c->failures++;
}

/* Fill procs with the processes (other than this one) whose environment holds
 * ENV_NAME=sandbox, describe them into desc; return how many. */
static size_t scan_leftovers(const char *sandbox, jt_scan_proc_t *procs, size_t max, char *desc,
                             size_t cap)
{
    char entry[PATH_MAX + 32], runner[PATH_MAX];
    snprintf(entry, sizeof entry, ENV_NAME "=%s", sandbox);
    if (!realpath(JT_RUNNER_BIN, runner))
        snprintf(runner, sizeof runner, "%s", JT_RUNNER_BIN);
    size_t n = jt_scan_env_procs(entry, procs, max), used = 0;
    desc[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char link[64], exe[PATH_MAX] = "?";
        snprintf(link, sizeof link, "/proc/%ld/exe", (long)procs[i].pid);
        ssize_t l = readlink(link, exe, sizeof exe - 1);
        exe[l > 0 ? l : 1] = '\0';
        char *deleted = strstr(exe, " (deleted)");
        if (deleted)
            *deleted = '\0';
        if (used < cap)
            used += (size_t)snprintf(desc + used, cap - used, " pid %ld (exe %s%s);",
                                     (long)procs[i].pid, exe,
                                     strcmp(exe, runner) == 0 ? " = the runner" : "");
    }
    return n;
}

/* Names of up to a few entries of dir into desc; returns the count (-1 if dir is gone). */
static int list_dir(const char *dir, char *desc, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    size_t used = 0;
    desc[0] = '\0';
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n++ < 8 && used < cap)
            used += (size_t)snprintf(desc + used, cap - used, " %s", de->d_name);
    }
    closedir(d);
    return n;
}

/* Remove every entry of dir (deep trees included). */
static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%.255s", dir, de->d_name) < (int)sizeof path)
            hostile_remove_tree(path);
    }
    closedir(d);
}

void hostile_sweep(ctx_t *c, const char *who)
{
    char desc[4096];
    jt_scan_proc_t procs[256];
    int entries = list_dir(c->sandbox, desc, sizeof desc);
    if (who && entries != 0)
        hostile_fail(
            c, who, "sandbox directory %s %s:%s", c->sandbox,
            entries < 0 ? "was removed (it belongs to the caller)" : "not empty afterwards", desc);
    if (entries > 0)
        empty_dir(c->sandbox);
    double until = jt_proc_now() + (who ? VANISH_S : 0);
    size_t n;
    while ((n = scan_leftovers(c->sandbox, procs, 256, desc, sizeof desc)) > 0 &&
           jt_proc_now() < until)
        usleep(20000);
    if (who && n > 0)
        hostile_fail(c, who, "%zu process(es) of the job still alive %.0f s after the command:%s",
                     n, VANISH_S, desc);
    for (size_t i = 0; i < n; i++)
        kill(procs[i].pid, SIGKILL);
}

static void keep(stream_t *s, const char *data, size_t n)
{
    s->total += n;
    if (!s->keep_tail) {
        size_t k = n < s->cap - s->len ? n : s->cap - s->len;
        memcpy(s->buf + s->len, data, k);
        s->len += k;
        return;
    }
    if (n >= s->cap) {
        data += n - s->cap;
        n = s->cap;
    }
    if (s->len + n > s->cap) {
        size_t drop = s->len + n - s->cap;
        memmove(s->buf, s->buf + drop, s->len - drop);
        s->len -= drop;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

/* jt_pipe_sink_fn of run_worker: stdout and stderr into the case's streams. */
static void keep_output(void *arg, int stream, const char *data, size_t n)
{
    ctx_t *c = arg;
    keep(stream == 0 ? &c->out : &c->err, data, n);
}

/* Run `jouletrace-worker validate JOB` (JOB = "-" with the job file on stdin
 * when via_stdin), capturing both streams; fills c->exit_code, wall, out, err, report. */
static void run_worker(ctx_t *c, const char *who, bool via_stdin)
{
    int op[2], ep[2];
    c->out.len = c->out.total = c->err.len = c->err.total = 0;
    c->exit_code = -1;
    c->term_signal = 0;
    json_decref(c->report);
    c->report = NULL;
    if (pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
        hostile_fail(c, who, "pipe: %s", strerror(errno));
        return;
    }
    double t0 = jt_proc_now();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(open(via_stdin ? c->job_path : "/dev/null", O_RDONLY), 0);
        dup2(op[1], 1);
        dup2(ep[1], 2);
        setenv(ENV_NAME, c->sandbox, 1);
        signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay ignored across exec */
        execl(JT_WORKER_BIN, "jouletrace-worker", "validate", via_stdin ? "-" : c->job_path,
              (char *)NULL);
        dprintf(2, "exec %s: %s\n", JT_WORKER_BIN, strerror(errno));
        _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    int fds[2] = {op[0], ep[0]};
    bool exited = false, killed = false;
    double drain_until = 0;
    int st = 0;
    for (;;) {
        double t = jt_proc_now();
        if (!exited && waitpid(pid, &st, WNOHANG) == pid) {
            exited = true;
            c->wall = t - t0;
            drain_until = t + DRAIN_S;
        }
        if (!exited && !killed && t - t0 > HARD_DEADLINE_S) {
            hostile_fail(c, who, "worker still running after %.0f s; killed", HARD_DEADLINE_S);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true; /* reaped by the next waitpid */
        }
        if (exited && fds[0] < 0 && fds[1] < 0)
            break;
        if (exited && t > drain_until) {
            hostile_fail(c, who,
                         "worker exited but its stdout/stderr stayed open (held by a descendant)");
            break;
        }
        jt_pipe_pair_read(fds, 10, keep_output, c);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (WIFEXITED(st))
        c->exit_code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        c->term_signal = WTERMSIG(st);
    if (c->term_signal)
        hostile_fail(c, who, "worker died of signal %d (%s)", c->term_signal,
                     strsignal(c->term_signal));
    if (c->out.total > OUT_MAX)
        hostile_fail(c, who, "worker wrote %zu bytes on stdout (candidate output leaked?)",
                     c->out.total);
    json_error_t e;
    if (c->out.len > 0)
        c->report = json_loadb(c->out.buf, c->out.len, 0, &e);
}

void listen_loopback(ctx_t *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&a, sizeof a) ||
        listen(c->listen_fd, 16) || getsockname(c->listen_fd, (struct sockaddr *)&a, &len)) {
        perror("listening socket");
        exit(1);
    }
    c->port = ntohs(a.sin_port);
}

/* Run the worker on the job file just written (fd, or -1 when it could not be). */
static void run_written_job(ctx_t *c, const char *who, int fd, bool ok, bool via_stdin)
{
    if (fd >= 0)
        close(fd);
    if (fd < 0 || !ok) {
        hostile_fail(c, who, "cannot write %s", c->job_path);
        exit(1);
    }
    run_worker(c, who, via_stdin);
    remove(c->job_path);
    hostile_sweep(c, who);
}

void run_job(ctx_t *c, const char *who, json_t *job, bool via_stdin)
{
    /* 0600: a run (another user) must not read the job, its expected outputs included */
    int fd = open(c->job_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && json_dumpfd(job, fd, JSON_COMPACT) == 0;
    json_decref(job);
    run_written_job(c, who, fd, ok, via_stdin);
}

void run_job_text(ctx_t *c, const char *who, const char *text)
{
    int fd = open(c->job_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(text);
    bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
    run_written_job(c, who, fd, ok, false);
}

int hostile_main(int argc, char **argv, int (*run_case)(ctx_t *c))
{
    static char out[OUT_MAX], err[ERR_TAIL];
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\n", argv[0]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    ctx_t c = {.name = argv[1],
               .out = {.buf = out, .cap = OUT_MAX},
               .err = {.buf = err, .cap = ERR_TAIL, .keep_tail = true},
               .listen_fd = -1};
    snprintf(c.sandbox, sizeof c.sandbox, "%s/%s", JT_SANDBOX_ROOT, c.name);
    snprintf(c.job_path, sizeof c.job_path, "%s/%s.job.json", JT_SANDBOX_ROOT, c.name);
    if (access(JT_WORKER_BIN, X_OK) != 0 || access(JT_RUNNER_BIN, X_OK) != 0) {
        fprintf(stderr, "FAIL [%s]: %s or %s is not built\n", c.name, JT_WORKER_BIN, JT_RUNNER_BIN);
        return 1;
    }
    mkdir(JT_SANDBOX_ROOT, 0755);
    mkdir(c.sandbox, 0755);
    hostile_sweep(&c, NULL); /* an earlier failed run may have left something */
    gethostname(c.hostname, sizeof c.hostname - 1);
    int rc = run_case(&c);
    if (rc == SKIPPED)
        return SKIPPED;
    if (c.failures > 0 || rc != 0) {
        fprintf(stderr, "[%s] worker exit %d, %.2f s\n", c.name, c.exit_code, c.wall);
        print_tail("stdout", &c.out);
        print_tail("stderr", &c.err);
        rc = 1;
    } else {
        printf("[%s] ok: worker exit %d in %.2f s\n", c.name, c.exit_code, c.wall);
    }
    json_decref(c.report);
    return rc;
}
