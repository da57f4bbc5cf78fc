/* test_hostile.c -- hostile candidates through `jouletrace-worker validate` stay contained. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipe_pair.h"
#include "proc_scan.h"

/* One process runs one case (argv[1]); exit 0 passed, 1 failed, 77 skipped.
 * Paths come from tests/hostile.cmake. */

#define OUT_MAX (1u << 20)   /* stdout kept for parsing; a report never gets near this */
#define ERR_TAIL (64u << 10) /* stderr: only the last bytes are kept */
#define TAIL_SHOWN 3000u     /* bytes of each stream printed on failure */
#define HARD_DEADLINE_S 50.0 /* the worker is killed after this (ctest TIMEOUT is 60) */
#define DRAIN_S 1.0          /* after the worker exits, its pipes must close within this */
#define VANISH_S 2.0         /* leftover processes get this long to disappear */
#define SKIPPED 77
#define BIG_FILE "jt_hostile_big.bin"
#define ENV_NAME "JOULETRACE_SANDBOX_DIR"

enum { ARG_NONE, ARG_PORT, ARG_FILE };

/* An accepted outcome: status, and an extended regex (case-insensitive) that
 * the message must match; NULL pattern = any message. */
typedef struct {
    const char *status;
    const char *pattern;
} expect_t;

/* A per-call hostile candidate: h_<kind>(arg) in hostile/candidates.py. */
typedef struct {
    const char *kind;
    expect_t ok[2];
    int arg;
    bool root_only;
} hostile_t;

static const hostile_t HOSTILE[] = {
    {"call_loop", {{"timeout", NULL}}, ARG_NONE, false},
    {"memory", {{"memory_limit", NULL}}, ARG_NONE, false},
    {"fork_loop", {{"exception", "PermissionError|not permitted"}}, ARG_NONE, false},
    {"thread", {{"exception", "RuntimeError|can't start new thread"}}, ARG_NONE, false},
    {"tcp", {{"exception", NULL}}, ARG_PORT, false},
    {"big_file", {{"exception", "File too large"}}, ARG_FILE, false},
    {"big_print", {{"output_limit", NULL}}, ARG_NONE, false},
    {"print_loop", {{"output_limit", NULL}}, ARG_NONE, false},
    {"kill_parent", {{"exception", "PermissionError"}}, ARG_NONE, false},
    {"killpg", {{"exception", "PermissionError"}}, ARG_NONE, false},
    {"shadow", {{"exception", "PermissionError"}}, ARG_NONE, true},
    {"sys_exit", {{"exception", "SystemExit"}}, ARG_NONE, false},
    {"os_exit", {{"crashed", "(exit|code|status)[^0-9]*3([^0-9]|$)"}}, ARG_NONE, false},
    {"segfault", {{"crashed", "SIGSEGV"}}, ARG_NONE, false},
    {"recursion", {{"exception", "RecursionError"}, {"crashed", NULL}}, ARG_NONE, false},
    {"object", {{"not_serializable", NULL}}, ARG_NONE, false},
    {"set", {{"not_serializable", NULL}}, ARG_NONE, false},
};
#define N_HOSTILE (sizeof(HOSTILE) / sizeof(HOSTILE[0]))

/* What was captured of one output stream: len bytes kept in buf (cap at most), total seen. */
typedef struct {
    char *buf;
    size_t cap, len, total;
    bool keep_tail; /* keep the last cap bytes instead of the first */
} stream_t;

/* State of one case and of its last worker command. */
typedef struct {
    const char *name;
    char sandbox[PATH_MAX]; /* this case's JOULETRACE_SANDBOX_DIR */
    char job_path[PATH_MAX];
    int failures;
    stream_t out;  /* the head of stdout */
    stream_t err;  /* the tail of stderr */
    int exit_code; /* -1 when killed by a signal */
    int term_signal;
    double wall;    /* seconds from fork to exit */
    json_t *report; /* parsed stdout, NULL if none */
    int listen_fd;  /* the tcp case's listening socket, -1 otherwise */
    int port;       /* its port */
} ctx_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_tail(const char *label, const stream_t *s)
{
    size_t shown = s->len < TAIL_SHOWN ? s->len : TAIL_SHOWN;
    fprintf(stderr, "---- %s: %zu bytes in all, last %zu ----\n%.*s\n---- end of %s ----\n", label,
            s->total, shown, (int)shown, s->buf + s->len - shown, label);
}

/* Record a failure: which candidate misbehaved and how. The stream tails are
 * printed once, when the case ends. */
static void __attribute__((format(printf, 3, 4)))
fail(ctx_t *c, const char *who, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL [%s] candidate %s: ", c->name, who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    c->failures++;
}

static bool matches(const char *pattern, const char *text)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
        return false;
    bool m = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

/* The hostile module, NUL-terminated in static storage; exits when unreadable. */
static const char *candidates(void)
{
    static char buf[256 << 10];
    FILE *f = fopen(JT_HOSTILE_DIR "/candidates.py", "rb");
    if (!f) {
        perror(JT_HOSTILE_DIR "/candidates.py");
        exit(1);
    }
    buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
    fclose(f);
    return buf;
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0)
        remove(path);
    return 0;
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

/* Empty the sandbox directory and kill the job's processes. After a run
 * (who != NULL), what is left after VANISH_S counts as a failure of candidate who. */
static void sweep(ctx_t *c, const char *who)
{
    char desc[4096];
    jt_scan_proc_t procs[256];
    int entries = list_dir(c->sandbox, desc, sizeof desc);
    if (who && entries != 0)
        fail(c, who, "sandbox directory %s %s:%s", c->sandbox,
             entries < 0 ? "was removed (it belongs to the caller)" : "not empty afterwards", desc);
    if (entries > 0)
        nftw(c->sandbox, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    double until = now() + (who ? VANISH_S : 0);
    size_t n;
    while ((n = scan_leftovers(c->sandbox, procs, 256, desc, sizeof desc)) > 0 && now() < until)
        usleep(20000);
    if (who && n > 0)
        fail(c, who, "%zu process(es) of the job still alive %.0f s after the command:%s", n,
             VANISH_S, desc);
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
        fail(c, who, "pipe: %s", strerror(errno));
        return;
    }
    double t0 = now();
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
        double t = now();
        if (!exited && waitpid(pid, &st, WNOHANG) == pid) {
            exited = true;
            c->wall = t - t0;
            drain_until = t + DRAIN_S;
        }
        if (!exited && !killed && t - t0 > HARD_DEADLINE_S) {
            fail(c, who, "worker still running after %.0f s; killed", HARD_DEADLINE_S);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true; /* reaped by the next waitpid */
        }
        if (exited && fds[0] < 0 && fds[1] < 0)
            break;
        if (exited && t > drain_until) {
            fail(c, who, "worker exited but its stdout/stderr stayed open (held by a descendant)");
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
        fail(c, who, "worker died of signal %d (%s)", c->term_signal, strsignal(c->term_signal));
    if (c->out.total > OUT_MAX)
        fail(c, who, "worker wrote %zu bytes on stdout (candidate output leaked?)", c->out.total);
    json_error_t e;
    if (c->out.len > 0)
        c->report = json_loadb(c->out.buf, c->out.len, 0, &e);
}

static json_t *job_new(const char *code, const char *function_name, int timeout, int memory_mb)
{
    json_t *job = json_pack("{s:s, s:[], s:i, s:i, s:b}", "candidate_code", code, "test_cases",
                            "timeout_seconds", timeout, "memory_limit_mb", memory_mb,
                            "stop_on_first_failure", 0);
    if (job && function_name)
        json_object_set_new(job, "function_name", json_string(function_name));
    return job;
}

static void job_add(json_t *job, const char *id, json_t *inputs, json_t *expected)
{
    json_array_append_new(
        json_object_get(job, "test_cases"),
        json_pack("{s:s, s:o, s:o}", "test_id", id, "inputs", inputs, "expected_output", expected));
}

/* Add h_<kind>(arg) as test <kind>. */
static void job_add_hostile(json_t *job, const hostile_t *h, int port)
{
    json_t *arg = h->arg == ARG_PORT   ? json_integer(port)
                  : h->arg == ARG_FILE ? json_string(BIG_FILE)
                                       : json_null();
    job_add(job, h->kind, json_pack("[s, o]", h->kind, arg), json_string("never returned"));
}

/* Check the report's shape and summary against the exit code and n tests;
 * returns test_results or NULL. */
static json_t *check_report(ctx_t *c, const char *who, size_t n, int want_exit)
{
    if (c->exit_code != want_exit)
        fail(c, who, "exit code %d, expected %d", c->exit_code, want_exit);
    json_t *v = json_object_get(c->report, "validation");
    json_t *results = json_object_get(v, "test_results");
    if (!json_is_object(c->report) ||
        !json_is_number(json_object_get(c->report, "processing_time_seconds")) ||
        !json_is_object(v) || !json_is_array(results)) {
        fail(c, who,
             "stdout is not a report {validation{..., test_results[]}, "
             "processing_time_seconds}");
        return NULL;
    }
    if (json_array_size(results) != n ||
        json_integer_value(json_object_get(v, "total_tests")) != (json_int_t)n) {
        fail(c, who, "%zu test_results / total_tests %lld, expected %zu", json_array_size(results),
             (long long)json_integer_value(json_object_get(v, "total_tests")), n);
        return NULL;
    }
    size_t passed = 0, i;
    json_t *rec;
    json_array_foreach(results, i, rec)
    {
        const char *status = json_string_value(json_object_get(rec, "status"));
        json_t *msg = json_object_get(rec, "message"), *secs = json_object_get(rec, "seconds");
        if (!json_is_string(json_object_get(rec, "test_id")) || !status ||
            !json_is_boolean(json_object_get(rec, "passed")) || !json_is_number(secs) ||
            json_number_value(secs) < 0 || !(json_is_string(msg) || json_is_null(msg)) ||
            !json_object_get(rec, "actual_output")) {
            fail(c, who, "test_results[%zu] lacks a field or has a wrong type", i);
            continue;
        }
        bool ok = json_is_true(json_object_get(rec, "passed"));
        if (ok != (strcmp(status, "passed") == 0))
            fail(c, who, "test_results[%zu]: passed=%d but status %s", i, ok, status);
        passed += ok;
    }
    bool correct = json_is_true(json_object_get(v, "is_correct"));
    if (json_integer_value(json_object_get(v, "passed_tests")) != (json_int_t)passed ||
        correct != (passed == n) || correct != (c->exit_code == 0))
        fail(c, who, "summary disagrees: passed_tests %lld, is_correct %d, %zu records passed",
             (long long)json_integer_value(json_object_get(v, "passed_tests")), correct, passed);
    return results;
}

/* Test record i must be test_id and end in one of the accepted outcomes. */
static void check_record(ctx_t *c, json_t *results, size_t i, const char *test_id,
                         const expect_t ok[2])
{
    json_t *rec = json_array_get(results, i);
    const char *id = json_string_value(json_object_get(rec, "test_id"));
    const char *status = json_string_value(json_object_get(rec, "status"));
    const char *msg = json_string_value(json_object_get(rec, "message"));
    if (!id || strcmp(id, test_id) != 0) {
        fail(c, test_id, "record %zu has test_id %s", i, id ? id : "(none)");
        return;
    }
    for (size_t k = 0; k < 2 && ok[k].status; k++) {
        if (!status || strcmp(status, ok[k].status) != 0)
            continue;
        if (ok[k].pattern && !(msg && matches(ok[k].pattern, msg)))
            fail(c, test_id, "status %s, but message \"%s\" does not match /%s/", status,
                 msg ? msg : "(null)", ok[k].pattern);
        return;
    }
    fail(c, test_id, "status %s (message \"%s\"), expected %s%s%s", status ? status : "(none)",
         msg ? msg : "(null)", ok[0].status, ok[1].status ? " or " : "",
         ok[1].status ? ok[1].status : "");
}

static const expect_t PASSED[2] = {{"passed", NULL}};

/* What the tcp and big_file candidates may have left outside the report. */
static void check_side_effects(ctx_t *c, const hostile_t *h)
{
    if (h->arg == ARG_PORT) {
        fcntl(c->listen_fd, F_SETFL, O_NONBLOCK);
        int fd = accept(c->listen_fd, NULL, NULL);
        if (fd >= 0) {
            fail(c, h->kind, "the test's listening socket on 127.0.0.1 accepted a connection");
            close(fd);
        }
    }
    if (h->arg == ARG_FILE && access(BIG_FILE, F_OK) == 0) {
        fail(c, h->kind, "%s exists in the test's working directory", BIG_FILE);
        remove(BIG_FILE);
    }
}

/* A listening socket on a free 127.0.0.1 port, in this process, for the tcp candidate. */
static void listen_loopback(ctx_t *c)
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

/* Write the job, run the worker on it (through stdin when via_stdin), check cleanup. */
static void run_job(ctx_t *c, const char *who, json_t *job, bool via_stdin)
{
    if (json_dump_file(job, c->job_path, JSON_COMPACT) != 0) {
        fail(c, who, "cannot write %s", c->job_path);
        exit(1);
    }
    json_decref(job);
    run_worker(c, who, via_stdin);
    remove(c->job_path);
    sweep(c, who);
}

/* One hostile call, then a normal call in the same job that must still pass. */
static int case_hostile(ctx_t *c, const hostile_t *h)
{
    if (h->root_only && geteuid() != 0) {
        printf("skipped: %s needs root\n", h->kind);
        return SKIPPED;
    }
    bool loop = strcmp(h->kind, "call_loop") == 0;
    int timeout = loop ? 2 : 10;
    json_t *job = job_new(candidates(), NULL, timeout, strcmp(h->kind, "memory") == 0 ? 256 : 1024);
    job_add_hostile(job, h, c->port);
    job_add(job, "control", json_pack("[s, i]", "square", 7), json_integer(49));
    run_job(c, h->kind, job, false);
    json_t *results = check_report(c, h->kind, 2, 1);
    if (results) {
        check_record(c, results, 0, h->kind, h->ok);
        check_record(c, results, 1, "control", PASSED);
    }
    if (loop && c->wall > timeout + 1.0)
        fail(c, h->kind, "command took %.2f s, limit %d s + 1 s", c->wall, timeout);
    check_side_effects(c, h);
    return 0;
}

/* Every per-call hostile candidate in ONE job between two normal calls. */
static int case_suite(ctx_t *c)
{
    /* big_print spends 1-2 s building and encoding its 100 MiB string on a
     * quiet host, several seconds on a loaded 2-core one */
    const int timeout = 15;
    json_t *job = job_new(candidates(), NULL, timeout, 1024);
    size_t n = 0;
    job_add(job, "control_first", json_pack("[s, i]", "square", 3), json_integer(9));
    n++;
    for (size_t i = 0; i < N_HOSTILE; i++) {
        if (!HOSTILE[i].root_only || geteuid() == 0) {
            job_add_hostile(job, &HOSTILE[i], c->port);
            n++;
        }
    }
    job_add(job, "control_last", json_pack("[s, i]", "square", 7), json_integer(49));
    n++;
    run_job(c, "suite", job, false);
    json_t *results = check_report(c, "suite", n, 1);
    if (!results)
        return 0;
    size_t k = 0;
    check_record(c, results, k++, "control_first", PASSED);
    for (size_t i = 0; i < N_HOSTILE; i++) {
        if (!HOSTILE[i].root_only || geteuid() == 0)
            check_record(c, results, k++, HOSTILE[i].kind, HOSTILE[i].ok);
        check_side_effects(c, &HOSTILE[i]);
    }
    check_record(c, results, k, "control_last", PASSED);
    return 0;
}

/* Top-level `while True: pass`: every test times out, and only once. */
static int case_module_loop(ctx_t *c)
{
    static const expect_t timeout_ok[2] = {{"timeout", NULL}};
    const int timeout = 2;
    json_t *job =
        job_new("while True:\n    pass\n\n\ndef solve(x):\n    return x\n", NULL, timeout, 256);
    job_add(job, "t1", json_pack("[i]", 1), json_integer(1));
    job_add(job, "t2", json_pack("[i]", 2), json_integer(2));
    job_add(job, "t3", json_pack("[i]", 3), json_integer(3));
    run_job(c, "module_loop", job, false);
    json_t *results = check_report(c, "module_loop", 3, 1);
    for (size_t i = 0; results && i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "t%zu", i + 1);
        check_record(c, results, i, id, timeout_ok);
    }
    if (c->wall > timeout + 1.0)
        fail(c, "module_loop", "command took %.2f s, limit %d s + 1 s", c->wall, timeout);
    return 0;
}

/* Module-wide failures: every test is an exception whose message matches pattern. */
static int case_every_test(ctx_t *c, const char *who, const char *code, const char *function_name,
                           const char *pattern)
{
    const expect_t ok[2] = {{"exception", pattern}};
    json_t *job = job_new(code, function_name, 10, 256);
    job_add(job, "t1", json_pack("[s, i]", "square", 3), json_integer(9));
    job_add(job, "t2", json_pack("[s, i]", "square", 4), json_integer(16));
    run_job(c, who, job, false);
    json_t *results = check_report(c, who, 2, 1);
    if (results) {
        check_record(c, results, 0, "t1", ok);
        check_record(c, results, 1, "t2", ok);
    }
    return 0;
}

/* A correct candidate, job on stdin; list, scalar and object argument conventions. */
static int case_baseline(ctx_t *c)
{
    json_t *job = job_new("def solve(x):\n    return x * x\n", NULL, 10, 256);
    job_add(job, "list", json_pack("[i]", 3), json_integer(9));
    job_add(job, "scalar", json_integer(4), json_integer(16));
    job_add(job, "kwargs", json_pack("{s:i}", "x", 5), json_integer(25));
    run_job(c, "baseline", job, true);
    json_t *results = check_report(c, "baseline", 3, 0);
    if (!results)
        return 0;
    check_record(c, results, 0, "list", PASSED);
    check_record(c, results, 1, "scalar", PASSED);
    check_record(c, results, 2, "kwargs", PASSED);
    json_t *v = json_object_get(c->report, "validation");
    if (json_number_value(json_object_get(v, "pass_rate")) != 100.0 ||
        !json_is_null(json_object_get(v, "error_summary")))
        fail(c, "baseline", "pass_rate should be 100 and error_summary null");
    return 0;
}

/* timeout_seconds out of range: exit 2 with a message, nothing run. */
static int case_bad_input(ctx_t *c)
{
    json_t *job = job_new("def solve(x):\n    return x\n", NULL, 0, 256);
    job_add(job, "t1", json_pack("[i]", 1), json_integer(1));
    run_job(c, "bad_input", job, false);
    if (c->exit_code != 2)
        fail(c, "bad_input", "timeout_seconds 0: exit code %d, expected 2", c->exit_code);
    if (c->err.total == 0)
        fail(c, "bad_input", "no message on stderr");
    return 0;
}

static int run_case(ctx_t *c)
{
    const char *n = c->name;
    for (size_t i = 0; i < N_HOSTILE; i++)
        if (strcmp(n, HOSTILE[i].kind) == 0)
            return case_hostile(c, &HOSTILE[i]);
    if (strcmp(n, "suite_leaves_nothing") == 0)
        return case_suite(c);
    if (strcmp(n, "module_loop") == 0)
        return case_module_loop(c);
    if (strcmp(n, "missing_function") == 0)
        return case_every_test(c, n, candidates(), "compute",
                               "compute.*(not found|not defined|missing|no function|no attribute)"
                               "|(not found|not defined|missing|no function).*compute");
    if (strcmp(n, "syntax_error") == 0)
        return case_every_test(c, n, "def solve(kind, arg)\n    return arg\n", NULL, "SyntaxError");
    if (strcmp(n, "baseline") == 0)
        return case_baseline(c);
    if (strcmp(n, "bad_input") == 0)
        return case_bad_input(c);
    fprintf(stderr, "no test case named %s\n", n);
    return 1;
}

int main(int argc, char **argv)
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
    sweep(&c, NULL); /* an earlier failed run may have left something */
    if (strcmp(c.name, "tcp") == 0 || strcmp(c.name, "suite_leaves_nothing") == 0)
        listen_loopback(&c);
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
