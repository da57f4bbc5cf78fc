/* runner_client.c -- spawn jouletrace-runner and turn its frames into a validation result. */
#include "runner_client.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "compare.h"
#include "frame.h"
#include "json_text.h"
#include "protocol.h"
#include "value.h"

#define REPLY_MAX_BYTES JT_FRAME_MAX_BYTES
#define SPAWN_TIMEOUT_MS 10000
#define EXPECTED_SHOWN_BYTES 512

extern char **environ;

/* The only variables the runner inherits: the settings it reads. Everything
 * else of the worker's environment (the NATS URL with its credentials, tokens,
 * HOME, PATH) would reach the candidate through the runner's memory and
 * /proc/self/environ, so it stays behind. */
static const char *const RUNNER_ENV[] = {
    "JOULETRACE_LOG_LEVEL",          "JOULETRACE_SANDBOX_DIR",
    "JOULETRACE_SANDBOX_UID_BASE",   "JOULETRACE_SANDBOX_SLOTS",
    "JOULETRACE_OUTPUT_LIMIT_BYTES", "JOULETRACE_VALIDATION_BUDGET_SECONDS"};
#define RUNNER_ENV_COUNT (sizeof RUNNER_ENV / sizeof RUNNER_ENV[0])

/* envp for the runner: the entries of environ named in RUNNER_ENV, NULL-ended.
 * Points into environ; out has room for RUNNER_ENV_COUNT + 1 entries. */
static void runner_environment(char **out)
{
    size_t n = 0;
    for (char **e = environ; e != NULL && *e != NULL && n < RUNNER_ENV_COUNT; e++)
        for (size_t i = 0; i < RUNNER_ENV_COUNT; i++) {
            size_t len = strlen(RUNNER_ENV[i]);
            if (strncmp(*e, RUNNER_ENV[i], len) == 0 && (*e)[len] == '=') {
                out[n++] = *e;
                break;
            }
        }
    out[n] = NULL;
}

struct jt_runner {
    pid_t pid;
    pthread_mutex_t write_lock; /* commands come from the job thread and from cancel/lease */
    int cmd_fd;                 /* we write commands */
    int reply_fd;               /* we read frames */
    double budget_seconds;
    jt_runner_box_t box;
};

/* Whether text[0..len) is a path the worker may read CPU time from: under
 * /sys/fs/cgroup/, no ".." component, printable, short enough for out. */
static bool cgroup_path_ok(const char *text, size_t len, size_t cap)
{
    static const char root[] = "/sys/fs/cgroup/";
    if (len >= cap || len < sizeof root || memcmp(text, root, sizeof root - 1) != 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < 0x21 || text[i] > 0x7e)
            return false;
        bool dotdot = i > 0 && text[i - 1] == '/' && text[i] == '.' && i + 1 < len &&
                      text[i + 1] == '.' && (i + 2 == len || text[i + 2] == '/');
        if (dotdot)
            return false;
    }
    return true;
}

/* Read the "box" map of the start-up pong into *box. */
static void read_box(const msgpack_object *pong, jt_runner_box_t *box)
{
    const msgpack_object *b = jt_mp_find(pong, "box");
    long long slot = -1, features = 0;
    jt_mp_int(jt_mp_find(b, "slot"), &slot);
    jt_mp_int(jt_mp_find(b, "features"), &features);
    box->slot = slot >= -1 && slot <= 4096 ? (int)slot : -1;
    box->features = (unsigned)features & JT_BOX_ALL;
    const msgpack_object *cg = jt_mp_find(b, "cgroup");
    if (jt_mp_str_eq(cg, "v2") || jt_mp_str_eq(cg, "v1"))
        memcpy(box->cgroup, cg->via.str.ptr, 2);
    else
        snprintf(box->cgroup, sizeof box->cgroup, "none");
    const msgpack_object *cpu = jt_mp_find(b, "cpu_cgroup");
    box->cpu_cgroup[0] = '\0';
    if (cpu != NULL && cpu->type == MSGPACK_OBJECT_STR &&
        cgroup_path_ok(cpu->via.str.ptr, cpu->via.str.size, sizeof box->cpu_cgroup)) {
        memcpy(box->cpu_cgroup, cpu->via.str.ptr, cpu->via.str.size);
        box->cpu_cgroup[cpu->via.str.size] = '\0';
    }
}

const jt_runner_box_t *jt_runner_box(const jt_runner_t *r)
{
    return &r->box;
}

size_t jt_runner_box_missing(const jt_runner_box_t *box, const char **names, size_t cap)
{
    size_t n = 0;
    /* a root runner's boxes have their own uids and need no user namespace */
    unsigned needed = box->features & JT_BOX_SLOT_UID ? JT_BOX_ALL & ~JT_BOX_USER_NS : JT_BOX_ALL;
    for (unsigned bit = 1; bit <= JT_BOX_ALL && n < cap; bit <<= 1)
        if ((needed & bit) && !(box->features & bit) && jt_box_feature_name(bit) != NULL)
            names[n++] = jt_box_feature_name(bit);
    if (strcmp(box->cgroup, "none") == 0 && n < cap)
        names[n++] = "cgroup";
    return n;
}

static void runner_path(const jt_config_t *cfg, char *buf, size_t len)
{
    if (cfg->runner_path[0] != '\0') {
        snprintf(buf, len, "%s", cfg->runner_path);
        return;
    }
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(buf, len, "jouletrace-runner");
        return;
    }
    self[n] = '\0';
    snprintf(buf, len, "%s/jouletrace-runner", dirname(self));
}

jt_status_t jt_runner_spawn(const jt_config_t *cfg, jt_runner_t **out, jt_error_t *err)
{
    char path[600];
    runner_path(cfg, path, sizeof path);
    if (access(path, X_OK) < 0)
        return jt_error_set(err, JT_ERR_SANDBOX, "", "sandbox runner %s is not executable: %s",
                            path, strerror(errno));
    int cmd[2], reply[2];
    if (pipe2(cmd, O_CLOEXEC) < 0)
        return jt_error_set(err, JT_ERR_SYSTEM, "", "pipe: %s", strerror(errno));
    if (pipe2(reply, O_CLOEXEC) < 0) {
        close(cmd[0]);
        close(cmd[1]);
        return jt_error_set(err, JT_ERR_SYSTEM, "", "pipe: %s", strerror(errno));
    }
    char *envp[RUNNER_ENV_COUNT + 1];
    runner_environment(envp);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* The runner dies with us; its own children die with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
            _exit(127);
        /* dup without O_CLOEXEC so the descriptors survive exec */
        int in = dup(cmd[0]), outfd = dup(reply[1]);
        if (in < 0 || outfd < 0)
            _exit(127);
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", in);
        snprintf(b, sizeof b, "%d", outfd);
        signal(SIGPIPE, SIG_DFL);
        char *argv[] = {"jouletrace-runner", a, b, NULL};
        execve(path, argv, envp);
        _exit(127);
    }
    int saved = errno;
    close(cmd[0]);
    close(reply[1]);
    if (pid < 0) {
        close(cmd[1]);
        close(reply[0]);
        return jt_error_set(err, JT_ERR_SYSTEM, "", "fork: %s", strerror(saved));
    }
    jt_runner_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(cmd[1]);
        close(reply[0]);
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    }
    r->pid = pid;
    pthread_mutex_init(&r->write_lock, NULL);
    r->cmd_fd = cmd[1];
    r->reply_fd = reply[0];
    r->budget_seconds = cfg->validation_budget_seconds;

    static const uint8_t ping[] = {0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'};
    uint8_t *data = NULL;
    size_t len = 0;
    jt_status_t s = jt_runner_send(r, ping, sizeof ping);
    if (s == JT_OK)
        s = jt_frame_read(r->reply_fd, 1024, SPAWN_TIMEOUT_MS, &data, &len);
    msgpack_unpacked m;
    bool pong = s == JT_OK && jt_mp_unpack_one(&m, data, len);
    if (pong) {
        pong = jt_mp_str_eq(jt_mp_find(&m.data, "t"), "pong");
        if (pong)
            read_box(&m.data, &r->box);
        msgpack_unpacked_destroy(&m);
    }
    free(data);
    if (!pong) {
        jt_runner_destroy(r);
        return jt_error_set(err, JT_ERR_SANDBOX, "",
                            "sandbox runner %s did not start (see its log lines above)", path);
    }
    *out = r;
    return JT_OK;
}

void jt_runner_destroy(jt_runner_t *r)
{
    if (r == NULL)
        return;
    close(r->cmd_fd); /* EOF tells the runner to leave */
    close(r->reply_fd);
    for (int i = 0; i < 200; i++) {
        pid_t w = waitpid(r->pid, NULL, WNOHANG);
        if (w == r->pid || (w < 0 && errno == ECHILD))
            goto done;
        jt_clock_sleep(0.01);
    }
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
done:
    pthread_mutex_destroy(&r->write_lock);
    free(r);
}

static jt_status_t send_job(jt_runner_t *r, const char *op, const jt_job_t *job, int core)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 10);
    jt_mp_pack_cstr(&pk, "op");
    jt_mp_pack_cstr(&pk, op);
    jt_mp_pack_cstr(&pk, "task_id");
    jt_mp_pack_cstr(&pk, job->task_id);
    jt_mp_pack_cstr(&pk, "code");
    msgpack_pack_str(&pk, job->candidate_code_len);
    msgpack_pack_str_body(&pk, job->candidate_code, job->candidate_code_len);
    jt_mp_pack_cstr(&pk, "function_name");
    jt_mp_pack_cstr(&pk, job->function_name ? job->function_name : JT_DEFAULT_FUNCTION_NAME);
    jt_mp_pack_cstr(&pk, "inputs");
    msgpack_pack_array(&pk, job->n_test_cases);
    for (size_t i = 0; i < job->n_test_cases; i++) /* blobs are one msgpack value each */
        msgpack_sbuffer_write(&sb, (const char *)job->test_cases[i].inputs.data,
                              job->test_cases[i].inputs.len);
    jt_mp_pack_cstr(&pk, "timeout_seconds");
    msgpack_pack_double(&pk, job->timeout_seconds);
    jt_mp_pack_cstr(&pk, "memory_limit_mb");
    msgpack_pack_int(&pk, job->memory_limit_mb);
    jt_mp_pack_cstr(&pk, "core");
    msgpack_pack_int(&pk, core);
    jt_mp_pack_cstr(&pk, "stop_on_first_failure");
    job->stop_on_first_failure ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    jt_mp_pack_cstr(&pk, "same_process");
    job->repetition_mode == JT_REPEAT_SAME_PROCESS ? msgpack_pack_true(&pk)
                                                   : msgpack_pack_false(&pk);
    jt_status_t s = sb.data ? jt_runner_send(r, sb.data, sb.size) : JT_ERR_NOMEM;
    msgpack_sbuffer_destroy(&sb);
    return s;
}

/* "expected X, got Y" for a wrong answer, bounded. */
static char *wrong_answer_message(const msgpack_object *expected, const char *actual_repr)
{
    jt_error_t e;
    json_t *j = jt_value_to_json(expected, &e);
    char *text = j ? jt_json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    char shown[EXPECTED_SHOWN_BYTES + 4];
    if (text == NULL)
        snprintf(shown, sizeof shown, "(unprintable)");
    else if (strlen(text) > EXPECTED_SHOWN_BYTES)
        snprintf(shown, sizeof shown, "%.*s...", EXPECTED_SHOWN_BYTES - 3, text);
    else
        snprintf(shown, sizeof shown, "%s", text);
    free(text);
    char buf[JT_MAX_MESSAGE_BYTES];
    snprintf(buf, sizeof buf, "expected %s, got %s", shown, actual_repr ? actual_repr : "?");
    return jt_strndup_bounded(buf, strlen(buf), JT_MAX_MESSAGE_BYTES);
}

static jt_test_status_t status_from_wire(const msgpack_object *o)
{
    static const char *const names[] = {"exception",    "timeout", "memory_limit",
                                        "output_limit", "crashed", "not_serializable",
                                        "not_run"};
    static const jt_test_status_t codes[] = {
        JT_TEST_EXCEPTION, JT_TEST_TIMEOUT,          JT_TEST_MEMORY_LIMIT, JT_TEST_OUTPUT_LIMIT,
        JT_TEST_CRASHED,   JT_TEST_NOT_SERIALIZABLE, JT_TEST_NOT_RUN};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (jt_mp_str_eq(o, names[i]))
            return codes[i];
    return JT_TEST_CRASHED;
}

/* Turn one "test" frame into the record of test case tc. */
static jt_status_t record_test(const jt_test_case_t *tc, const jt_tolerance_t *tol,
                               const msgpack_object *msg, jt_test_result_t *rec, jt_error_t *err)
{
    const msgpack_object *status = jt_mp_find(msg, "status");
    const msgpack_object *message = jt_mp_find(msg, "message");
    const msgpack_object *repr = jt_mp_find(msg, "repr");
    rec->test_id = strdup(tc->test_id);
    if (rec->test_id == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    double seconds = 0;
    jt_mp_number(jt_mp_find(msg, "seconds"), &seconds);
    rec->seconds = seconds;
    if (repr != NULL && repr->type == MSGPACK_OBJECT_STR)
        rec->actual_output =
            jt_strndup_bounded(repr->via.str.ptr, repr->via.str.size, JT_MAX_ACTUAL_REPR_BYTES);
    if (!jt_mp_str_eq(status, "ok")) {
        rec->status = status_from_wire(status);
        rec->passed = false;
        if (message != NULL && message->type == MSGPACK_OBJECT_STR)
            rec->message = jt_strndup_bounded(message->via.str.ptr, message->via.str.size,
                                              JT_MAX_MESSAGE_BYTES);
        return JT_OK;
    }
    msgpack_unpacked expected;
    if (!jt_mp_unpack_one(&expected, tc->expected_output.data, tc->expected_output.len))
        return jt_error_set(err, JT_ERR_INVALID, "expected_output", "expected_output is corrupt");
    const msgpack_object *actual = jt_mp_find(msg, "output");
    rec->passed = actual != NULL && jt_values_equal(actual, &expected.data, tol);
    rec->status = rec->passed ? JT_TEST_PASSED : JT_TEST_WRONG_ANSWER;
    if (!rec->passed)
        rec->message = wrong_answer_message(&expected.data, rec->actual_output);
    msgpack_unpacked_destroy(&expected);
    return JT_OK;
}

jt_status_t jt_runner_validate(jt_runner_t *r, const jt_job_t *job, int core, jt_validation_t *v,
                               jt_error_t *err)
{
    jt_tolerance_t tol = {.abs_tol = job->abs_tol, .rel_tol = job->rel_tol};
    v->results = calloc(job->n_test_cases, sizeof *v->results);
    if (v->results == NULL)
        return jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
    v->total_tests = job->n_test_cases;
    jt_status_t s = send_job(r, "validate", job, core);
    if (s != JT_OK)
        return jt_error_set(err, s, "", "sending the job to the sandbox runner failed");
    /* The runner enforces the budget; this only guards against a hung runner. */
    double deadline = jt_clock_now() + r->budget_seconds + job->timeout_seconds + 30.0;
    size_t next = 0;
    for (;;) {
        int wait_ms = jt_clock_ms(deadline - jt_clock_now()); /* 0 once the deadline passed */
        if (wait_ms == 0)
            return jt_error_set(err, JT_ERR_TIMEOUT, "", "the sandbox runner stopped answering");
        uint8_t *data;
        size_t len;
        s = jt_frame_read(r->reply_fd, REPLY_MAX_BYTES, wait_ms, &data, &len);
        if (s != JT_OK)
            return jt_error_set(err, s, "", "reading from the sandbox runner failed: %s",
                                jt_status_text(s));
        msgpack_unpacked m;
        if (!jt_mp_unpack_one(&m, data, len)) {
            free(data);
            return jt_error_set(err, JT_ERR_PROTOCOL, "", "the sandbox runner sent a bad frame");
        }
        const msgpack_object *type = jt_mp_find(&m.data, "t");
        long long index = -1;
        if (jt_mp_str_eq(type, "test") && jt_mp_int(jt_mp_find(&m.data, "i"), &index) &&
            index == (long long)next && next < job->n_test_cases) {
            s = record_test(&job->test_cases[next], &tol, &m.data, &v->results[next], err);
            next++;
        } else if (jt_mp_str_eq(type, "end")) {
            const msgpack_object *ok = jt_mp_find(&m.data, "ok");
            char *why = jt_mp_strdup(jt_mp_find(&m.data, "error"));
            if (ok == NULL || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean)
                s = jt_error_set(err, JT_ERR_SANDBOX, "", "sandbox failed: %s",
                                 why ? why : "no reason given");
            else if (next != job->n_test_cases)
                s = jt_error_set(err, JT_ERR_SANDBOX, "", "sandbox reported %zu of %zu tests", next,
                                 job->n_test_cases);
            free(why);
            msgpack_unpacked_destroy(&m);
            free(data);
            if (s != JT_OK)
                return s;
            return jt_validation_summarise(v) == 0
                       ? JT_OK
                       : jt_error_set(err, JT_ERR_NOMEM, "", "out of memory");
        } else {
            s = jt_error_set(err, JT_ERR_PROTOCOL, "", "unexpected frame from the sandbox runner");
        }
        msgpack_unpacked_destroy(&m);
        free(data);
        if (s != JT_OK)
            return s;
    }
}

jt_status_t jt_runner_start_measure(jt_runner_t *r, const jt_job_t *job, int core, jt_error_t *err)
{
    jt_status_t s = send_job(r, "measure", job, core);
    if (s != JT_OK)
        return jt_error_set(err, s, "", "sending the job to the sandbox runner failed");
    return JT_OK;
}

jt_status_t jt_runner_send(jt_runner_t *r, const void *data, size_t len)
{
    pthread_mutex_lock(&r->write_lock);
    jt_status_t s = jt_frame_write(r->cmd_fd, data, len);
    pthread_mutex_unlock(&r->write_lock);
    return s;
}

jt_status_t jt_runner_recv(jt_runner_t *r, int timeout_ms, uint8_t **data, msgpack_unpacked *msg)
{
    size_t len;
    jt_status_t s = jt_frame_read(r->reply_fd, REPLY_MAX_BYTES, timeout_ms, data, &len);
    if (s != JT_OK)
        return s;
    if (!jt_mp_unpack_one(msg, *data, len)) {
        free(*data);
        *data = NULL;
        return JT_ERR_PROTOCOL;
    }
    return JT_OK;
}

jt_status_t jt_runner_cancel(jt_runner_t *r)
{
    static const uint8_t cancel[] = {0x81, 0xa2, 'o', 'p', 0xa6, 'c', 'a', 'n', 'c', 'e', 'l'};
    return jt_runner_send(r, cancel, sizeof cancel);
}
