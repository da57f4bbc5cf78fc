/* sandbox_job.c -- sandbox child: compile the candidate, fork runs, enforce wall clock and output caps. */
#include "sandbox_job.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "candidate_run.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "pyvalue.h"
#include "sandbox.h"
#include "validation.h"
#include "value.h"

#define RUN_FRAME_MAX_BYTES (JT_FRAME_MAX_BYTES / 2) /* a run's largest result frame */
#define STDERR_TAIL_BYTES 512

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One record as sent to the runner. output may be NULL (nil). */
static int emit_test(int out_fd, size_t index, const char *status, const msgpack_object *output,
                     const char *message, const char *repr, double seconds)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    jt_mp_pack_cstr(&pk, "t");
    jt_mp_pack_cstr(&pk, "test");
    jt_mp_pack_cstr(&pk, "i");
    msgpack_pack_uint64(&pk, index);
    jt_mp_pack_cstr(&pk, "status");
    jt_mp_pack_cstr(&pk, status);
    jt_mp_pack_cstr(&pk, "output");
    if (output != NULL)
        msgpack_pack_object(&pk, *output);
    else
        msgpack_pack_nil(&pk);
    jt_mp_pack_cstr(&pk, "message");
    jt_mp_pack_cstr(&pk, message);
    jt_mp_pack_cstr(&pk, "repr");
    jt_mp_pack_cstr(&pk, repr);
    jt_mp_pack_cstr(&pk, "seconds");
    msgpack_pack_double(&pk, seconds);
    int rc = jt_frame_write(out_fd, sb.data, sb.size) == JT_OK ? 0 : -1;
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* The same status and message for tests from..n-1. */
static int emit_rest(int out_fd, size_t from, size_t n, const char *status, const char *message)
{
    for (size_t i = from; i < n; i++)
        if (emit_test(out_fd, i, status, NULL, message, NULL, 0.0) < 0)
            return -1;
    return 0;
}

typedef struct {
    pid_t pid;
    int result_fd, stdout_fd, stderr_fd; /* read ends; -1 once closed */
    jt_frame_reader_t reader;
    long stdout_bytes, stderr_bytes;
    char stderr_tail[STDERR_TAIL_BYTES + 1];
    size_t stderr_tail_len;
} run_t;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_all_from(int lowfd)
{
    /* close_range(2) is Linux 5.9+; fall back to a loop over the fd limit. */
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = lowfd; fd < max; fd++)
        close(fd);
}

/* Fork a run that calls tests start..n-1. Returns 0 or -1 (errno set). */
static int run_start(run_t *run, PyObject *code, const jt_gate_spec_t *spec, size_t start)
{
    int res[2], out[2], err[2];
    if (pipe2(res, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(res[0]);
        close(res[1]);
        return -1;
    }
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(res[0]);
        close(res[1]);
        close(out[0]);
        close(out[1]);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    PyOS_BeforeFork();
    pid_t pid = fork();
    if (pid == 0) {
        PyOS_AfterFork_Child();
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 ||
            dup2(res[1], 3) < 0)
            _exit(71);
        close_all_from(4);
        char why[256];
        if (jt_sandbox_enter_run(parent, why, sizeof why) < 0) {
            dprintf(2, "sandbox: %s\n", why);
            _exit(72);
        }
        jt_run_spec_t rs = {.code = code,
                            .function_name = spec->function_name,
                            .inputs = spec->inputs,
                            .n_inputs = spec->n_inputs};
        jt_run_execute(&rs, start, 3);
    }
    PyOS_AfterFork_Parent();
    int saved = errno;
    close(res[1]);
    close(out[1]);
    close(err[1]);
    if (pid < 0) {
        close(res[0]);
        close(out[0]);
        close(err[0]);
        errno = saved;
        return -1;
    }
    memset(run, 0, sizeof *run);
    run->pid = pid;
    run->result_fd = res[0];
    run->stdout_fd = out[0];
    run->stderr_fd = err[0];
    fcntl(run->result_fd, F_SETFL, O_NONBLOCK);
    fcntl(run->stdout_fd, F_SETFL, O_NONBLOCK);
    fcntl(run->stderr_fd, F_SETFL, O_NONBLOCK);
    jt_frame_reader_init(&run->reader, RUN_FRAME_MAX_BYTES);
    return 0;
}

/* Kill (if still running) and reap the run; returns its wait status. */
static int run_finish(run_t *run, bool kill_it)
{
    if (kill_it)
        kill(run->pid, SIGKILL);
    int status = 0;
    while (waitpid(run->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close_fd(&run->result_fd);
    close_fd(&run->stdout_fd);
    close_fd(&run->stderr_fd);
    jt_frame_reader_cleanup(&run->reader);
    return status;
}

/* Drain one output pipe; returns the bytes read now (0 at EOF closes it). */
static long drain(run_t *run, int *fd, bool is_stderr)
{
    char buf[16384];
    long total = 0;
    for (;;) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break; /* EAGAIN: nothing more now */
        if (n == 0) {
            close_fd(fd);
            break;
        }
        total += n;
        if (is_stderr) {
            /* keep the tail for crash messages */
            size_t keep = (size_t)n > STDERR_TAIL_BYTES ? STDERR_TAIL_BYTES : (size_t)n;
            size_t have = run->stderr_tail_len;
            if (have + keep > STDERR_TAIL_BYTES) {
                size_t drop = have + keep - STDERR_TAIL_BYTES;
                memmove(run->stderr_tail, run->stderr_tail + drop, have - drop);
                have -= drop;
            }
            memcpy(run->stderr_tail + have, buf + (size_t)n - keep, keep);
            run->stderr_tail_len = have + keep;
            run->stderr_tail[run->stderr_tail_len] = '\0';
        }
        if (total > 1024 * 1024)
            break; /* come back after the deadline and the frame checks */
    }
    return total;
}

/* Text for a run that ended by itself without finishing. */
static void describe_exit(int status, const run_t *run, char *buf, size_t len)
{
    char what[128];
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(what, sizeof what, "run killed by signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
                 sig == SIGXCPU ? ": CPU time limit" : "");
    } else {
        snprintf(what, sizeof what, "run exited with code %d", WEXITSTATUS(status));
    }
    if (run->stderr_tail_len > 0)
        snprintf(buf, len, "%s; stderr: %s", what, run->stderr_tail);
    else
        snprintf(buf, len, "%s", what);
}

typedef enum { RUN_FINISHED, RUN_STOPPED, RUN_ABORTED } run_outcome_t;

/* Supervise one run from test `start`. On return *next is the first test
 * that still needs a run. RUN_STOPPED: no further run is needed (all tests
 * have records). RUN_ABORTED: out_fd broke. */
static run_outcome_t supervise(run_t *run, const jt_gate_spec_t *spec, size_t start, int out_fd,
                               double job_deadline, size_t *next)
{
    bool loaded = false;
    size_t current = start; /* test whose call is in progress (after "loaded") */
    double t_mark = now_seconds();
    double deadline = t_mark + spec->timeout_seconds;
    const char *fail_status = NULL;
    char message[JT_MAX_MESSAGE_BYTES];
    message[0] = '\0';
    bool killed = false;

    for (;;) {
        double now = now_seconds();
        if (now >= deadline || now >= job_deadline) {
            fail_status = "timeout";
            snprintf(message, sizeof message, "%s exceeded the %g s time limit%s",
                     loaded ? "the call" : "module-level code", spec->timeout_seconds,
                     now >= job_deadline && now < deadline ? " (validation budget exhausted)"
                                                           : "");
            killed = true;
            break;
        }
        struct pollfd pfd[3] = {{.fd = run->result_fd, .events = POLLIN},
                                {.fd = run->stdout_fd, .events = POLLIN},
                                {.fd = run->stderr_fd, .events = POLLIN}};
        double wait = (deadline < job_deadline ? deadline : job_deadline) - now;
        int pr = poll(pfd, 3, (int)(wait * 1000) + 1);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        if (run->stdout_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)))
            run->stdout_bytes += drain(run, &run->stdout_fd, false);
        if (run->stderr_fd >= 0 && (pfd[2].revents & (POLLIN | POLLHUP)))
            run->stderr_bytes += drain(run, &run->stderr_fd, true);
        if (run->stdout_bytes > spec->output_limit_bytes ||
            run->stderr_bytes > spec->output_limit_bytes) {
            fail_status = "output_limit";
            snprintf(message, sizeof message, "%s exceeded %ld bytes",
                     run->stdout_bytes > spec->output_limit_bytes ? "stdout" : "stderr",
                     spec->output_limit_bytes);
            killed = true;
            break;
        }
        if (run->result_fd < 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        int done = 0;
        jt_status_t s = jt_frame_reader_read(&run->reader, run->result_fd, &done);
        if (s == JT_ERR_EOF || s == JT_ERR_IO) {
            close_fd(&run->result_fd);
            break; /* the run ended: find out how below */
        }
        if (s == JT_ERR_TOO_LARGE) {
            fail_status = "output_limit";
            snprintf(message, sizeof message, "the return value exceeds %u bytes",
                     RUN_FRAME_MAX_BYTES);
            killed = true;
            break;
        }
        if (s != JT_OK) {
            fail_status = "crashed";
            snprintf(message, sizeof message, "sandbox error reading the run: %s",
                     jt_status_text(s));
            killed = true;
            break;
        }
        if (!done)
            continue;
        uint8_t *data;
        size_t len;
        jt_frame_reader_take(&run->reader, &data, &len);
        double arrived = now_seconds();
        msgpack_unpacked msg;
        bool ok = jt_mp_unpack_one(&msg, data, len);
        const msgpack_object *type = ok ? jt_mp_find(&msg.data, "t") : NULL;
        int step = -1; /* 0 = continue, 1 = finished, 2 = load error, 3 = protocol error */
        if (jt_mp_str_eq(type, "loaded") && !loaded) {
            loaded = true;
            step = 0;
        } else if (jt_mp_str_eq(type, "load_error") && !loaded) {
            char *st = jt_mp_strdup(jt_mp_find(&msg.data, "status"));
            char *m = jt_mp_strdup(jt_mp_find(&msg.data, "message"));
            const char *status = st && strcmp(st, "memory_limit") == 0 ? "memory_limit"
                                                                       : "exception";
            if (emit_rest(out_fd, start, spec->n_inputs, status, m ? m : "module failed") < 0)
                step = 4;
            else
                step = 2;
            free(st);
            free(m);
        } else if (jt_mp_str_eq(type, "result") && loaded) {
            long long index = -1;
            jt_mp_int(jt_mp_find(&msg.data, "i"), &index);
            const msgpack_object *status = jt_mp_find(&msg.data, "status");
            const msgpack_object *output = jt_mp_find(&msg.data, "output");
            char *m = jt_mp_strdup(jt_mp_find(&msg.data, "message"));
            char *r = jt_mp_strdup(jt_mp_find(&msg.data, "repr"));
            bool valid_status = jt_mp_str_eq(status, "ok") || jt_mp_str_eq(status, "exception") ||
                                jt_mp_str_eq(status, "memory_limit") ||
                                jt_mp_str_eq(status, "not_serializable");
            jt_error_t verr;
            bool is_ok = jt_mp_str_eq(status, "ok");
            if (index != (long long)current || !valid_status || output == NULL ||
                (is_ok && jt_value_check(output, "output", &verr) != JT_OK)) {
                step = 3;
            } else {
                char *st = jt_mp_strdup(status);
                if (emit_test(out_fd, current, st, is_ok ? output : NULL, m, r,
                              arrived - t_mark) < 0)
                    step = 4;
                else if (!is_ok && spec->stop_on_first_failure)
                    step = 5;
                else
                    step = 0;
                free(st);
                current++;
                t_mark = arrived;
            }
            free(m);
            free(r);
        } else if (jt_mp_str_eq(type, "finished") && loaded && current == spec->n_inputs) {
            step = 1;
        } else {
            step = 3;
        }
        if (ok)
            msgpack_unpacked_destroy(&msg);
        free(data);
        if (step == 0) {
            deadline = arrived + spec->timeout_seconds;
            continue;
        }
        if (step == 1) {
            run_finish(run, true);
            *next = spec->n_inputs;
            return RUN_FINISHED;
        }
        if (step == 2) {
            run_finish(run, true);
            *next = spec->n_inputs;
            return RUN_STOPPED;
        }
        if (step == 4) {
            run_finish(run, true);
            return RUN_ABORTED;
        }
        if (step == 5) {
            run_finish(run, true);
            *next = current;
            if (emit_rest(out_fd, current, spec->n_inputs, "not_run",
                          "skipped: stop_on_first_failure") < 0)
                return RUN_ABORTED;
            *next = spec->n_inputs;
            return RUN_STOPPED;
        }
        fail_status = "crashed";
        snprintf(message, sizeof message, "the run sent a malformed result frame");
        killed = true;
        break;
    }

    int wstatus = run_finish(run, killed);
    if (loaded && current >= spec->n_inputs) {
        /* every test has its record; only the goodbye was missing */
        *next = spec->n_inputs;
        return RUN_FINISHED;
    }
    if (fail_status == NULL) {
        fail_status = "crashed";
        describe_exit(wstatus, run, message, sizeof message);
    }
    if (!loaded) {
        /* module-level failure: it would fail the same way for every test */
        if (emit_rest(out_fd, start, spec->n_inputs, fail_status, message) < 0)
            return RUN_ABORTED;
        *next = spec->n_inputs;
        return RUN_STOPPED;
    }
    if (emit_test(out_fd, current, fail_status, NULL, message, NULL, now_seconds() - t_mark) < 0)
        return RUN_ABORTED;
    *next = current + 1;
    if (spec->stop_on_first_failure) {
        if (emit_rest(out_fd, *next, spec->n_inputs, "not_run", "skipped: stop_on_first_failure") <
            0)
            return RUN_ABORTED;
        *next = spec->n_inputs;
        return RUN_STOPPED;
    }
    return RUN_FINISHED;
}

int jt_gate_run(const jt_gate_spec_t *spec, int out_fd)
{
    PyObject *code = Py_CompileString(spec->code, "<candidate>", Py_file_input);
    if (code == NULL) {
        int is_mem = 0;
        char *text = jt_py_exception_text(JT_MAX_MESSAGE_BYTES, &is_mem);
        int rc = emit_rest(out_fd, 0, spec->n_inputs, is_mem ? "memory_limit" : "exception", text);
        free(text);
        return rc;
    }
    double job_deadline = now_seconds() + spec->budget_seconds;
    size_t next = 0;
    while (next < spec->n_inputs) {
        if (now_seconds() >= job_deadline) {
            if (emit_rest(out_fd, next, spec->n_inputs, "not_run",
                          "skipped: validation budget exhausted") < 0)
                return -1;
            break;
        }
        run_t run;
        if (run_start(&run, code, spec, next) < 0) {
            char m[128];
            snprintf(m, sizeof m, "could not start a run: %s", strerror(errno));
            Py_DECREF(code);
            return emit_rest(out_fd, next, spec->n_inputs, "crashed", m);
        }
        run_outcome_t o = supervise(&run, spec, next, out_fd, job_deadline, &next);
        if (o == RUN_ABORTED) {
            Py_DECREF(code);
            return -1;
        }
        if (o == RUN_STOPPED)
            break;
    }
    Py_DECREF(code);
    return 0;
}
