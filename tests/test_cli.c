/* test_cli.c -- end-to-end tests of the `jouletrace` command line client: the real binary run
 * as a subprocess against a real gateway (nats-server + jouletrace-gateway; a faked worker
 * heartbeat, or one real worker on the estimate meter for the case that measures). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "unit_main.h"

#include "gateway_fixture.h"
#include "gateway_http.h"
#include "gateway_worker.h"
#include "process_harness.h"
#include "temp_dir.h"

#define CLI_ARGS_MAX 24
#define CLI_OUT_MAX (256u << 10) /* bytes of a run's stdout or stderr kept */
#define CLI_RUN_S 60.0           /* a run that does not measure ends within this */
#define TOKEN "cli-test-token-0123456789abcdef"
/* The README's example (README "REST API"). */
#define README_JOB                                                                                 \
    "{\"candidate_code\": \"def solve(x):\\n  return x * x\\n\", \"function_name\": \"solve\",\n"  \
    " \"test_cases\": [{\"test_id\": \"t1\", \"inputs\": [2], \"expected_output\": 4},\n"          \
    "                {\"test_id\": \"t2\", \"inputs\": [7], \"expected_output\": 49}],\n"          \
    " \"energy_measurement_trials\": 3, \"timeout_seconds\": 20}\n"
#define BATCH_JOB                                                                                  \
    "{\"function_name\":\"solve\",\"test_cases\":[{\"inputs\":[7],\"expected_output\":49}],"       \
    "\"candidates\":[{\"candidate_id\":\"mul\",\"candidate_code\":\"def solve(x):\\n  return x "   \
    "* x\\n\"},{\"candidate_id\":\"pow\",\"candidate_code\":\"def solve(x):\\n  return x ** "      \
    "2\\n\"}],\"max_measurement_seconds\":60}"

/* One run of the client: exit code (-1 killed), stdout and stderr. */
typedef struct {
    int code;
    char *out, *err;
} cli_run_t;

static char case_dir[128]; /* the running case's files, removed by its teardown */

/* A file of the case's directory holding text (mode 0600 unless mode), its path into path. */
static void put_file(char *path, size_t cap, const char *name, const char *text, mode_t mode)
{
    snprintf(path, cap, "%s/%s", case_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode ? mode : 0600), 0);
}

/* The text of the file at path, at most CLI_OUT_MAX bytes, NUL-terminated (caller frees). */
static char *slurp(const char *path)
{
    char *buf = calloc(1, CLI_OUT_MAX + 1);
    assert_non_null(buf);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, CLI_OUT_MAX, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* What the pseudo-terminal master fd holds now, at most CLI_OUT_MAX bytes (caller frees). */
static char *drain(int fd)
{
    char *buf = calloc(1, CLI_OUT_MAX + 1);
    assert_non_null(buf);
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n < CLI_OUT_MAX && poll(&p, 1, 200) == 1 && (p.revents & POLLIN)) {
        ssize_t k = read(fd, buf + n, CLI_OUT_MAX - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    return buf;
}

static void cli_free(cli_run_t *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* Run `jouletrace args...` (args NULL-terminated) with the test's environment minus
 * JOULETRACE_* plus env (may be NULL), within seconds; fails the case when it does not end in
 * time. With tty its stdout is a pseudo-terminal, whose output becomes r->out. */
static void run_cli_argv(cli_run_t *r, const char *const *env, double seconds,
                         const char *const *args, bool tty)
{
    char *argv[CLI_ARGS_MAX + 2];
    int n = 0;
    argv[n++] = (char *)JT_CLI_BIN;
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < CLI_ARGS_MAX);
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    char out[192], err[192];
    snprintf(out, sizeof out, "%s/cli.out", case_dir);
    snprintf(err, sizeof err, "%s/cli.err", case_dir);
    char **envp = jt_proc_envp("JOULETRACE_", env);
    assert_non_null(envp);
    int master = -1, slave = -1;
    if (tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(master >= 0);
        assert_int_equal(grantpt(master), 0);
        assert_int_equal(unlockpt(master), 0);
        slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(slave >= 0);
        struct termios t;
        assert_int_equal(tcgetattr(slave, &t), 0);
        t.c_oflag &= ~(tcflag_t)OPOST; /* the bytes as written: no "\n" -> "\r\n" */
        assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* async-signal-safe calls only: the test has NATS threads */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int o = tty ? slave : open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int i = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || i < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(i, 0) < 0)
            _exit(126);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    free(envp);
    int status = 0;
    if (!jt_proc_reap(pid, seconds, &status)) {
        kill(pid, SIGKILL);
        jt_proc_reap(pid, 5.0, &status);
        r->out = slurp(out);
        r->err = slurp(err);
        fail_msg("jouletrace %s did not end within %.0f s; stdout:\n%s\nstderr:\n%s",
                 argv[1] ? argv[1] : "", seconds, r->out, r->err);
    }
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->out = tty ? drain(master) : slurp(out);
    r->err = slurp(err);
    if (tty) {
        close(slave);
        close(master);
    }
}

/* run_cli_argv with the arguments listed, NULL last. */
static void run_cli(cli_run_t *r, const char *const *env, double seconds, ...)
{
    const char *args[CLI_ARGS_MAX + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, seconds);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n < CLI_ARGS_MAX);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    run_cli_argv(r, env, seconds, args, false);
}

/* Fail unless the run exited with code, showing its output. */
static void want_code(const cli_run_t *r, int code)
{
    if (r->code != code)
        fail_msg("jouletrace exited %d, want %d; stdout:\n%s\nstderr:\n%s", r->code, code, r->out,
                 r->err);
}

/* Fail unless text holds part. */
static void want_text(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("want \"%s\" in:\n%s", part, text);
}

static void url_of(const fx_t *fx, char *url, size_t cap)
{
    snprintf(url, cap, "http://127.0.0.1:%d", fx->port);
}

/* `jouletrace CMD FILE` (submit, batch) until the gateway's view saw the heartbeat (503 -> exit 3
 * meanwhile): exit 0 with the task id alone on stdout, copied into id (33 bytes); ready_s bounds
 * the wait. */
static void submit_ok(fx_t *fx, const char *cmd, const char *job, const char *const *env,
                      double ready_s, char *id)
{
    char url[64];
    url_of(fx, url, sizeof url);
    cli_run_t r;
    double deadline = jt_proc_now() + ready_s;
    for (;;) {
        run_cli(&r, env, CLI_RUN_S, "--url", url, cmd, job, NULL);
        if (r.code != 3 || jt_proc_now() > deadline)
            break;
        cli_free(&r);
        jt_proc_sleep_ms(100);
    }
    want_code(&r, 0);
    size_t len = strlen(r.out);
    if (len != 33 || r.out[32] != '\n' || strspn(r.out, "0123456789abcdef") != 32)
        fail_msg("%s printed \"%s\", want an id and a newline", cmd, r.out);
    memcpy(id, r.out, 32);
    id[32] = '\0';
    cli_free(&r);
}

/* The README job submitted with a faked calibrated worker: the gateway's URL (64 bytes) and
 * the queued task's id (33 bytes). */
static void queued_task(fx_t *fx, char *url, char *id)
{
    char job[256];
    url_of(fx, url, 64);
    put_file(job, sizeof job, "job.json", README_JOB, 0);
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    submit_ok(fx, "submit", job, NULL, 10.0, id);
}

/* ---- fixtures: the gateway's, plus the case's directory --------------------------------- */

static int make_case_dir(void)
{
    assert_int_equal(jt_temp_dir_make(case_dir, sizeof case_dir, "jt-cli"), 0);
    return 0;
}

static int setup(void **state)
{
    make_case_dir();
    return gateway_setup(state);
}

static int setup_tokens(void **state)
{
    static const char *const extra[] = {"JOULETRACE_API_TOKENS=" TOKEN, NULL};
    make_case_dir();
    return gateway_setup_auth(state, extra, "Authorization: Bearer " TOKEN);
}

static int teardown(void **state)
{
    int rc = gateway_teardown(state);
    jt_temp_dir_remove(case_dir);
    case_dir[0] = '\0';
    return rc;
}

static int setup_dir_only(void **state)
{
    *state = NULL;
    return make_case_dir();
}

static int teardown_dir_only(void **state)
{
    (void)state;
    jt_temp_dir_remove(case_dir);
    case_dir[0] = '\0';
    return 0;
}

/* ---- cases without a gateway ------------------------------------------------------------- */

/* A socket listening on a free 127.0.0.1 port that accepts nothing by itself; its URL into url. */
static int listen_loopback(char *url, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, cap, "http://127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

/* Bad command lines, unreadable files and bad tokens: exit 2, before any request. */
static void usage_errors(void **state)
{
    (void)state;
    static const char *const rows[][6] = {
        {NULL},
        {"frob", NULL},
        {"result", NULL},
        {"result", "a/b", NULL},
        {"result", "x", "y", NULL},
        {"submit", NULL},
        {"submit", "/nonexistent/job.json", NULL},
        {"compare", "a.py", "b.py", NULL},
        {"--timeout", "-1", "result", "abc", NULL},
        {"--timeout", "soon", "result", "abc", NULL},
        {"--url", "ftp://127.0.0.1:1", "result", "abc", NULL},
        {"--token", "short", "result", "abc", NULL},
        {"--bogus", "result", "abc", NULL},
        {"--task", "--batch", "result", "abc", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *const *a = rows[i];
        cli_run_t r;
        run_cli_argv(&r, NULL, CLI_RUN_S, a, false);
        if (r.code != 2 || !strstr(r.err, "jouletrace:"))
            fail_msg("row %zu (%s %s): exit %d, stderr:\n%s", i, a[0] ? a[0] : "",
                     a[0] && a[1] ? a[1] : "", r.code, r.err);
        assert_string_equal(r.out, "");
        cli_free(&r);
    }
    /* A token file others may read is refused, and its content never shown. */
    char path[256];
    put_file(path, sizeof path, "token", "# mine\n" TOKEN "\n", 0644);
    cli_run_t r;
    run_cli(&r, NULL, CLI_RUN_S, "--token-file", path, "result", "abc", NULL);
    want_code(&r, 2);
    want_text(r.err, "chmod 600");
    assert_null(strstr(r.err, TOKEN));
    cli_free(&r);
    const char *const env_file[] = {"JOULETRACE_TOKEN_FILE=/nonexistent/token", NULL};
    run_cli(&r, env_file, CLI_RUN_S, "result", "abc", NULL);
    want_code(&r, 2);
    cli_free(&r);
    /* --help lists the commands and the exit codes. */
    run_cli(&r, NULL, CLI_RUN_S, "--help", NULL);
    want_code(&r, 0);
    want_text(r.out, "compare A.py B.py --tests TESTS.json");
    want_text(r.out, "5  timeout");
    cli_free(&r);
}

/* Nothing listening: exit 3; a listener that never answers with --timeout 1: exit 5. */
static void unreachable_and_timeout(void **state)
{
    (void)state;
    char url[64];
    int port = jt_proc_free_port();
    assert_true(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    cli_run_t r;
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "result", "abc", NULL);
    want_code(&r, 3);
    want_text(r.err, url);
    cli_free(&r);
    char var[96];
    snprintf(var, sizeof var, "JOULETRACE_URL=%s", url);
    const char *const env_url[] = {var, NULL};
    run_cli(&r, env_url, CLI_RUN_S, "result", "abc", NULL);
    want_code(&r, 3);
    want_text(r.err, url);
    cli_free(&r);

    int s = listen_loopback(url, sizeof url);
    double t0 = jt_proc_now();
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--timeout", "1", "result", "abc", NULL);
    double took = jt_proc_now() - t0;
    close(s);
    want_code(&r, 5);
    want_text(r.err, "timed out");
    assert_true(took < 10.0);
    cli_free(&r);
}

/* A loopback server answering each connection with the next canned answer, then closing. */
typedef struct {
    int fd;
    const char *const *answers; /* NULL-terminated */
} nonsense_t;

static void *nonsense_serve(void *arg)
{
    nonsense_t *ns = arg;
    for (size_t i = 0; ns->answers[i] != NULL; i++) {
        int c = accept(ns->fd, NULL, NULL);
        if (c < 0)
            break;
        char req[8192];
        struct pollfd p = {.fd = c, .events = POLLIN};
        while (poll(&p, 1, 300) == 1 && read(c, req, sizeof req) > 0) /* the request, ignored */
            ;
        const char *a = ns->answers[i];
        if (write(c, a, strlen(a)) < 0)
            fprintf(stderr, "nonsense server: write: %s\n", strerror(errno));
        close(c);
    }
    return NULL;
}

/* A server that is not the API's (bad JSON, no envelope, broken events): exit 3 or 4 with a
 * reason, never a crash. */
static void server_talks_nonsense(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n[1,2",
        "HTTP/1.1 202 Accepted\r\nContent-Length: 14\r\n\r\n{\"task_id\": 5}",
        "HTTP/1.1 422 Unprocessable\r\nContent-Length: 13\r\n\r\noops\nmore text",
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hi\r\nevent: progress\r\n"
        "data: {not json\r\n\r\nevent: progress\ndata: [1]\n\nevent: result\ndata: 7\n\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n{\"status\":\"completed\"}",
        NULL};
    char url[64], job[256];
    int fd = listen_loopback(url, sizeof url);
    nonsense_t ns = {fd, answers};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, nonsense_serve, &ns), 0);
    put_file(job, sizeof job, "job.json", README_JOB, 0);
    cli_run_t r[4];
    run_cli(&r[0], NULL, CLI_RUN_S, "--url", url, "result", "abc", NULL);
    run_cli(&r[1], NULL, CLI_RUN_S, "--url", url, "submit", job, NULL);
    run_cli(&r[2], NULL, CLI_RUN_S, "--url", url, "result", "abc", NULL);
    run_cli(&r[3], NULL, CLI_RUN_S, "--url", url, "--timeout", "20", "watch", "abc", NULL);
    shutdown(fd, SHUT_RDWR);
    pthread_join(t, NULL);
    close(fd);
    want_code(&r[0], 3);
    want_text(r[0].err, "without a JSON record");
    want_code(&r[1], 3);
    want_text(r[1].err, "without a valid task_id");
    want_code(&r[2], 4);
    want_text(r[2].err, "HTTP 422 oops\n");
    want_code(&r[3], 0); /* the GET after the stream says completed */
    assert_string_equal(r[3].out,
                        "completed 100%\n"); /* the final line only: no event was a record */
    for (size_t i = 0; i < 4; i++)
        cli_free(&r[i]);
}

/* ---- cases against the gateway (no worker: a faked heartbeat) ---------------------------- */

/* submit prints the id; result --json prints the queued record as it is, result a summary;
 * watch of a queued task prints its line and ends with --timeout (exit 5); the NATS port is
 * no HTTP server (exit 3). */
static void submit_and_result(void **state)
{
    fx_t *fx = *state;
    char id[33], url[64], path[128];
    queued_task(fx, url, id);

    jt_curl_resp_t g;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    assert_int_equal(http(fx, "GET", path, NULL, -1, NULL, &g), 0);
    assert_int_equal(g.status, 200);
    jt_curl_resp_free(&g);

    cli_run_t r;
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "result", id, "--json", NULL);
    want_code(&r, 0);
    json_t *rec = json_loads(r.out, 0, NULL);
    if (!json_is_object(rec))
        fail_msg("result --json printed no JSON object:\n%s", r.out);
    assert_string_equal(jstr(rec, "task_id"), id);
    assert_string_equal(jstr(rec, "status"), "queued");
    json_decref(rec);
    cli_free(&r);

    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "result", id, NULL);
    want_code(&r, 0);
    want_text(r.out, "status      queued");
    want_text(r.out, id);
    cli_free(&r);

    /* The id names no batch; an unknown id is neither. */
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "result", "--batch", id, NULL);
    want_code(&r, 4);
    want_text(r.err, "HTTP 404 batch_not_found");
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--task", "result", "0123456789abcdef", NULL);
    want_code(&r, 4);
    want_text(r.err, "HTTP 404 task_not_found");
    cli_free(&r);

    /* watch: the stored record's line ("queued ...") and no end before the timeout. */
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--timeout", "2", "watch", id, NULL);
    want_code(&r, 5);
    if (strncmp(r.out, "queued", 6) != 0)
        fail_msg("watch printed \"%s\", want the line of the queued record", r.out);
    assert_null(strchr(r.out, '\r')); /* no bar outside a terminal */
    cli_free(&r);

    /* The NATS port answers with no HTTP. */
    const char *port = strrchr(fx->nats.url, ':');
    assert_non_null(port);
    char nats_url[64];
    snprintf(nats_url, sizeof nats_url, "http://127.0.0.1%s", port);
    run_cli(&r, NULL, CLI_RUN_S, "--url", nats_url, "--timeout", "5", "result", id, NULL);
    if (r.code != 3 && r.code != 5)
        fail_msg("a NATS port as the gateway: exit %d, want 3 (or 5)", r.code);
    cli_free(&r);
}

/* cancel a queued task (exit 0), then again (409: exit 4); result and watch say cancelled
 * (exit 1). */
static void cancel(void **state)
{
    fx_t *fx = *state;
    char id[33], url[64];
    queued_task(fx, url, id);

    cli_run_t r;
    char want[96];
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "cancel", id, NULL);
    want_code(&r, 0);
    snprintf(want, sizeof want, "task %s cancelled\n", id);
    assert_string_equal(r.out, want);
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "cancel", id, NULL);
    want_code(&r, 4);
    want_text(r.err, "HTTP 409 task_already_final");
    want_text(r.err, "(field task_id)");
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "result", id, NULL);
    want_code(&r, 1);
    want_text(r.out, "status      cancelled");
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--timeout", "20", "watch", id, NULL);
    want_code(&r, 1);
    assert_string_equal(r.out, "cancelled\n");
    cli_free(&r);
}

/* watch on a terminal: one bar redrawn in place ("\r", erase line), ended by a newline, both
 * while it runs (--timeout: exit 5) and at the end (cancelled: exit 1). */
static void watch_on_a_terminal(void **state)
{
    fx_t *fx = *state;
    char id[33], url[64];
    queued_task(fx, url, id);
    const char *const running[] = {"--url", url, "--timeout", "2", "watch", id, NULL};
    cli_run_t r;
    run_cli_argv(&r, NULL, CLI_RUN_S, running, true);
    want_code(&r, 5);
    if (strncmp(r.out, "\r\033[K[", 5) != 0 || !strstr(r.out, "] queued") ||
        r.out[strlen(r.out) - 1] != '\n')
        fail_msg("want a bar of the queued task, then a newline; got \"%s\"", r.out);
    cli_free(&r);

    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "cancel", id, NULL);
    want_code(&r, 0);
    cli_free(&r);
    const char *const ended[] = {"--url", url, "--timeout", "20", "watch", id, NULL};
    run_cli_argv(&r, NULL, CLI_RUN_S, ended, true);
    want_code(&r, 1);
    if (strncmp(r.out, "\r\033[K[", 5) != 0 || !strstr(r.out, "] cancelled\n"))
        fail_msg("want the bar of the cancelled task and a newline; got \"%s\"", r.out);
    cli_free(&r);
}

/* Refused requests: exit 4 with the error, its message and the field path. */
static void refusals(void **state)
{
    fx_t *fx = *state;
    static const struct {
        const char *cmd, *body, *says;
    } rows[] = {
        {"submit",
         "{\"candidate_code\":\"def solve(x):\\n  return x\\n\",\"function_name\":\"solve\","
         "\"test_cases\":[]}",
         "HTTP 422 validation_error"},
        {"submit", "{\"candidate_code\":", "HTTP 400 invalid_json"},
        {"submit",
         "{\"candidate_code\":\"def solve(x):\\n  return x\\n\",\"function_name\":\"solve\","
         "\"test_cases\":[{\"inputs\":[1],\"expected_output\":1}],\"timeout_seconds\":-3}",
         "(field timeout_seconds)"},
        {"batch",
         "{\"function_name\":\"solve\",\"test_cases\":[{\"inputs\":[1],\"expected_output\":1}],"
         "\"candidates\":[{\"candidate_id\":\"x\",\"candidate_code\":\"a\"},{\"candidate_id\":"
         "\"x\",\"candidate_code\":\"b\"}]}",
         "(field candidates[1].candidate_id)"},
        {"validate", "{\"function_name\":\"solve\"}", "HTTP 422 validation_error"},
    };
    char url[64], path[256];
    url_of(fx, url, sizeof url);
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    jt_proc_sleep_ms(2 * VIEW_REFRESH_MS);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        put_file(path, sizeof path, "body.json", rows[i].body, 0);
        cli_run_t r;
        run_cli(&r, NULL, CLI_RUN_S, "--url", url, rows[i].cmd, path, NULL);
        if (r.code != 4 || !strstr(r.err, rows[i].says))
            fail_msg("row %zu: exit %d, want 4 saying %s; stderr:\n%s", i, r.code, rows[i].says,
                     r.err);
        cli_free(&r);
    }
    /* The first row's field path. */
    put_file(path, sizeof path, "body.json", rows[0].body, 0);
    cli_run_t r;
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "submit", path, NULL);
    want_code(&r, 4);
    want_text(r.err, "(field test_cases)");
    cli_free(&r);
    /* compare wants the list of test cases. */
    char a[256], tests[256];
    put_file(a, sizeof a, "a.py", "def solve(x):\n  return x\n", 0);
    put_file(tests, sizeof tests, "tests.json", "{\"inputs\":[1]}", 0);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "compare", a, a, "--tests", tests, NULL);
    want_code(&r, 2);
    want_text(r.err, "list of test cases");
    cli_free(&r);
}

/* batch prints the batch id; result finds it as a batch (the task route says 404); cancel. */
static void batch_result_cancel(void **state)
{
    fx_t *fx = *state;
    char file[256], url[64], id[33];
    url_of(fx, url, sizeof url);
    put_file(file, sizeof file, "batch.json", BATCH_JOB, 0);
    put_heartbeat(fx, "w1", true, "rapl-sysfs");
    submit_ok(fx, "batch", file, NULL, 10.0, id);

    cli_run_t r;
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "result", id, NULL);
    want_code(&r, 0);
    want_text(r.out, "batch       ");
    want_text(r.out, id);
    want_text(r.out, "candidates  2:");
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "result", "--json", id, NULL);
    want_code(&r, 0);
    json_t *rec = json_loads(r.out, 0, NULL);
    assert_non_null(rec);
    assert_string_equal(jstr(rec, "batch_id"), id);
    json_decref(rec);
    cli_free(&r);

    char want[96];
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "cancel", id, NULL);
    want_code(&r, 0);
    snprintf(want, sizeof want, "batch %s cancelled\n", id);
    assert_string_equal(r.out, want);
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--batch", "--timeout", "20", "watch", id, NULL);
    want_code(&r, 1);
    want_text(r.out, "cancelled");
    cli_free(&r);
}

/* A gateway with a token: 401 without (exit 4); the token from a chmod 600 file, from
 * JOULETRACE_TOKEN or --token works; a wrong one is 401. */
static void tokens(void **state)
{
    fx_t *fx = *state;
    char url[64], tok[256], job[256], id[33];
    url_of(fx, url, sizeof url);
    put_file(tok, sizeof tok, "token", "# the CLI's token\n\n  " TOKEN "  \n", 0600);
    put_file(job, sizeof job, "job.json", README_JOB, 0);
    put_heartbeat(fx, "w1", true, "rapl-sysfs");

    cli_run_t r;
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "submit", job, NULL);
    want_code(&r, 4);
    want_text(r.err, "HTTP 401 unauthorized");
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--token", TOKEN "x", "result", "abc", NULL);
    want_code(&r, 4);
    want_text(r.err, "HTTP 401");
    cli_free(&r);

    char var[300];
    snprintf(var, sizeof var, "JOULETRACE_TOKEN_FILE=%s", tok);
    const char *const env_file[] = {var, NULL};
    submit_ok(fx, "submit", job, env_file, 10.0, id);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--token-file", tok, "result", id, NULL);
    want_code(&r, 0);
    want_text(r.out, "status      queued");
    cli_free(&r);
    const char *const env_tok[] = {"JOULETRACE_TOKEN=" TOKEN, NULL};
    run_cli(&r, env_tok, CLI_RUN_S, "--url", url, "cancel", id, NULL);
    want_code(&r, 0);
    cli_free(&r);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "--token", TOKEN, "result", id, NULL);
    want_code(&r, 1); /* cancelled */
    cli_free(&r);
}

/* ---- the case that measures: one real worker on the estimate meter ---------------------- */

static jt_proc_t worker; /* the real worker of the measuring case */

static int setup_worker(void **state)
{
    setup(state);
    fx_t *fx = *state;
    static char url[96], cal[256], sandbox[256];
    char dir[192];
    snprintf(dir, sizeof dir, "%s/sandbox", case_dir);
    assert_int_equal(chmod(case_dir, 0711), 0); /* the sandbox user reaches its directories */
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(url, sizeof url, "JOULETRACE_NATS_URL=%s", fx->nats.url);
    snprintf(cal, sizeof cal, "JOULETRACE_CALIBRATION=%s/no-calibration.json", case_dir);
    snprintf(sandbox, sizeof sandbox, "JOULETRACE_SANDBOX_DIR=%s", dir);
    const char *const vars[] = {url,
                                cal,
                                sandbox,
                                "JOULETRACE_WORKER_ID=cli-worker-1",
                                "JOULETRACE_METER=estimate",
                                "JOULETRACE_MEASURE_CORE=1",
                                "JOULETRACE_VALIDATE_CORE=0",
                                "JOULETRACE_LOG_LEVEL=info",
                                NULL};
    memset(&worker, 0, sizeof worker);
    snprintf(worker.id, sizeof worker.id, "worker");
    snprintf(worker.log, sizeof worker.log, "%s/worker.log", case_dir);
    char *argv[] = {(char *)JT_WORKER_BIN, (char *)"run", NULL};
    assert_int_equal(jt_proc_start(&worker, argv, vars, true), 0);
    return 0;
}

static int teardown_worker(void **state)
{
    int status = worker.pid ? jt_proc_stop(&worker.pid, SIGTERM, 30.0, true) : 0;
    bool clean = status == 0 || (status > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!clean || getenv("JT_TEST_VERBOSE"))
        jt_proc_dump_log("worker", worker.log, 8000);
    teardown(state);
    assert_true(clean);
    return 0;
}

/* The README example: submit --wait completes and prints its summary; watch of a fresh task
 * prints progress lines ending in completed; compare --wait completes with its ratio. */
static void end_to_end_estimate(void **state)
{
    fx_t *fx = *state;
    char url[64], job[256], id[33], a[256], b[256], tests[256];
    url_of(fx, url, sizeof url);
    put_file(job, sizeof job, "job.json", README_JOB, 0);
    submit_ok(fx, "submit", job, NULL, 120.0, id); /* once the worker's heartbeat is seen */

    cli_run_t r;
    run_cli(&r, NULL, 300.0, "--url", url, "--timeout", "240", "submit", "--wait", job, NULL);
    want_code(&r, 0);
    want_text(r.out, "status      completed");
    want_text(r.out, "validation  correct: 2/2 tests passed");
    want_text(r.out, "J per run");
    want_text(r.out, "meter estimate");
    want_text(r.out, "quality     ");
    want_text(r.out, "statistics  ");
    want_text(r.out, "proxies     ");
    fprintf(stderr, "submit --wait printed:\n%s", r.out); /* the summary, kept in the test log */
    cli_free(&r);

    /* watch the first task (queued behind nothing, or done by now) and a fresh one. */
    submit_ok(fx, "submit", job, NULL, 10.0, id);
    run_cli(&r, NULL, 300.0, "--url", url, "--timeout", "240", "watch", id, NULL);
    want_code(&r, 0);
    size_t lines = 0;
    for (const char *p = r.out; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    const char *last = r.out + strlen(r.out);
    while (last > r.out && last[-1] == '\n')
        last--;
    while (last > r.out && last[-1] != '\n')
        last--;
    if (strncmp(last, "completed", 9) != 0 || lines < 2)
        fail_msg("watch printed %zu lines, want progress ending in completed:\n%s", lines, r.out);
    want_text(r.out, "100%");
    cli_free(&r);

    /* validate: correct (exit 0), then a wrong function (exit 1, the failed test named). */
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "validate", job, NULL);
    want_code(&r, 0);
    want_text(r.out, "validation  correct: 2/2 tests passed");
    cli_free(&r);
    char wrong[256];
    put_file(wrong, sizeof wrong, "wrong.json",
             "{\"candidate_code\": \"def solve(x):\\n  return x + x\\n\", \"function_name\": "
             "\"solve\", \"test_cases\": [{\"test_id\": \"t1\", \"inputs\": [2], "
             "\"expected_output\": 4}, {\"test_id\": \"t2\", \"inputs\": [7], "
             "\"expected_output\": 49}]}",
             0);
    run_cli(&r, NULL, CLI_RUN_S, "--url", url, "validate", wrong, NULL);
    want_code(&r, 1);
    want_text(r.out, "validation  incorrect: 1/2 tests passed");
    want_text(r.out, "t2 ");
    cli_free(&r);

    /* compare: 1x against 2x the work (enough of it to stand above a run's fixed cost). */
    put_file(
        a, sizeof a, "a.py",
        "def solve(x):\n  s = 0\n  for i in range(100000):\n    s += i\n  return x * x + s * 0\n",
        0);
    put_file(
        b, sizeof b, "b.py",
        "def solve(x):\n  s = 0\n  for i in range(200000):\n    s += i\n  return x * x + s * 0\n",
        0);
    put_file(tests, sizeof tests, "tests.json",
             "[{\"test_id\": \"t1\", \"inputs\": [7], \"expected_output\": 49}]\n", 0);
    run_cli(&r, NULL, 420.0, "--url", url, "--timeout", "400", "compare", a, b, "--tests", tests,
            "--function", "solve", "--max-seconds", "30", "--wait", NULL);
    want_code(&r, 0);
    want_text(r.out, "status      completed");
    want_text(r.out, "rank  interval");
    want_text(r.out, "comparison  B/A");
    fprintf(stderr, "compare --wait printed:\n%s", r.out);
    cli_free(&r);
}

#define CASE(f, s, t) cmocka_unit_test_setup_teardown(f, s, t)

static const struct CMUnitTest tests[] = {
    CASE(usage_errors, setup_dir_only, teardown_dir_only),
    CASE(unreachable_and_timeout, setup_dir_only, teardown_dir_only),
    CASE(server_talks_nonsense, setup_dir_only, teardown_dir_only),
    CASE(submit_and_result, setup, teardown),
    CASE(cancel, setup, teardown),
    CASE(watch_on_a_terminal, setup, teardown),
    CASE(refusals, setup, teardown),
    CASE(batch_result_cancel, setup, teardown),
    CASE(tokens, setup_tokens, teardown),
    CASE(end_to_end_estimate, setup_worker, teardown_worker),
};

JT_UNIT_MAIN(tests)
