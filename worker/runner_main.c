/* runner_main.c -- jouletrace-runner: single-threaded process that owns the embedded Python.
 *
 * Started by the worker with fork+exec as `jouletrace-runner IN_FD OUT_FD`.
 * It initialises Python once (isolated config), then serves commands read as
 * frames on IN_FD, one job at a time: for each job it creates a working
 * directory, forks a confined sandbox child (jt_sandbox_enter_child) that runs
 * the gate, relays the child's frames to OUT_FD, and ends every job with
 *   {"t":"end","ok":BOOL,"error":STR|nil}
 * Commands: {"op":"validate"|"measure", code, function_name, inputs[],
 * timeout_seconds, memory_limit_mb, core, stop_on_first_failure,
 * same_process, task_id}; while a job runs, {"op":"cancel"} kills it and any
 * other command is passed to the sandbox child (the trial protocol of
 * sandbox_trials.h); {"op":"ping"} -> {"t":"pong"}. EOF on IN_FD ends the
 * runner (killing a job in flight).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "pyvalue.h"
#include "sandbox.h"
#include "sandbox_job.h"
#include "sandbox_trials.h"
#include "workdir.h"

#define COMMAND_MAX_BYTES (JT_MAX_BODY_BYTES + 64 * 1024)

typedef struct {
    int in_fd, out_fd;
    jt_config_t cfg;
    bool drop_privileges;
    uid_t uid;
    gid_t gid;
} runner_t;

static int init_python(void)
{
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0;
    config.install_signal_handlers = 0;
    config.write_bytecode = 0;
    config.buffered_stdio = 1;
    PyStatus st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        jt_log_error("python initialisation failed: %s", st.err_msg ? st.err_msg : "?");
        return -1;
    }
    return jt_py_preload();
}

static int send_end(runner_t *r, bool ok, const char *error)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    jt_mp_pack_cstr(&pk, "t");
    jt_mp_pack_cstr(&pk, "end");
    jt_mp_pack_cstr(&pk, "ok");
    ok ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    jt_mp_pack_cstr(&pk, "error");
    jt_mp_pack_cstr(&pk, error);
    jt_status_t s = jt_frame_write(r->out_fd, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return s == JT_OK ? 0 : -1;
}

/* The gate's inputs from the command, as blobs. */
typedef struct {
    bool measure;        /* "measure": trials; else "validate": the gate */
    bool same_process;
    jt_gate_spec_t spec;
    jt_blob_t *inputs;
    char *code;
    char *function_name;
    char *task_id;
    long long memory_limit_mb;
    long long core;
} gate_command_t;

static void gate_command_cleanup(gate_command_t *g)
{
    for (size_t i = 0; i < g->spec.n_inputs; i++)
        jt_blob_free(&g->inputs[i]);
    free(g->inputs);
    free(g->code);
    free(g->function_name);
    free(g->task_id);
    memset(g, 0, sizeof *g);
}

/* Decode a validate command; returns NULL or a reason it is malformed. */
static const char *gate_command_decode(const msgpack_object *cmd, const jt_config_t *cfg,
                                       gate_command_t *g)
{
    memset(g, 0, sizeof *g);
    const msgpack_object *inputs = jt_mp_find(cmd, "inputs");
    double timeout;
    g->code = jt_mp_strdup(jt_mp_find(cmd, "code"));
    g->function_name = jt_mp_strdup(jt_mp_find(cmd, "function_name"));
    g->task_id = jt_mp_strdup(jt_mp_find(cmd, "task_id")); /* optional */
    if (g->code == NULL || g->function_name == NULL)
        return "code and function_name must be strings";
    if (strlen(g->code) != jt_mp_find(cmd, "code")->via.str.size)
        return "code contains a NUL byte";
    if (inputs == NULL || inputs->type != MSGPACK_OBJECT_ARRAY || inputs->via.array.size == 0 ||
        inputs->via.array.size > JT_MAX_TEST_CASES)
        return "inputs must be a non-empty array of at most 1000 values";
    if (!jt_mp_number(jt_mp_find(cmd, "timeout_seconds"), &timeout) ||
        !(timeout >= JT_MIN_TIMEOUT_SECONDS && timeout <= JT_MAX_TIMEOUT_SECONDS))
        return "timeout_seconds out of range";
    if (!jt_mp_int(jt_mp_find(cmd, "memory_limit_mb"), &g->memory_limit_mb) ||
        g->memory_limit_mb < JT_MIN_MEMORY_LIMIT_MB || g->memory_limit_mb > JT_MAX_MEMORY_LIMIT_MB)
        return "memory_limit_mb out of range";
    if (!jt_mp_int(jt_mp_find(cmd, "core"), &g->core) || g->core < -1 || g->core >= CPU_SETSIZE)
        return "core out of range";
    const msgpack_object *stop = jt_mp_find(cmd, "stop_on_first_failure");
    const msgpack_object *same = jt_mp_find(cmd, "same_process");
    g->measure = jt_mp_str_eq(jt_mp_find(cmd, "op"), "measure");
    g->same_process = same != NULL && same->type == MSGPACK_OBJECT_BOOLEAN && same->via.boolean;
    g->inputs = calloc(inputs->via.array.size, sizeof *g->inputs);
    if (g->inputs == NULL)
        return "out of memory";
    for (uint32_t i = 0; i < inputs->via.array.size; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, inputs->via.array.ptr[i]);
        g->inputs[i].data = (uint8_t *)sb.data; /* sbuffer memory is malloc'd: the blob owns it */
        g->inputs[i].len = sb.size;
        g->spec.n_inputs = i + 1;
        if (sb.data == NULL)
            return "out of memory";
    }
    g->spec.code = g->code;
    g->spec.function_name = g->function_name;
    g->spec.inputs = g->inputs;
    g->spec.timeout_seconds = timeout;
    g->spec.output_limit_bytes = cfg->output_limit_bytes;
    g->spec.budget_seconds = cfg->validation_budget_seconds;
    g->spec.stop_on_first_failure = stop != NULL && stop->type == MSGPACK_OBJECT_BOOLEAN &&
                                    stop->via.boolean;
    return NULL;
}

/* In the sandbox child: confine, run the gate, leave. */
_Noreturn static void sandbox_child(runner_t *r, gate_command_t *g, const char *workdir,
                                    int cmd_fd, int out_fd, pid_t runner_pid)
{
    PyOS_AfterFork_Child();
    close(r->in_fd);
    close(r->out_fd);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
    }
    jt_sandbox_limits_t lim = {
        .core = (int)g->core,
        .workdir = workdir,
        .drop_privileges = r->drop_privileges,
        .uid = r->uid,
        .gid = r->gid,
        .memory_limit_bytes = (long)g->memory_limit_mb * 1024 * 1024,
        /* a backstop for the wall clock: every call may use its full timeout */
        .cpu_seconds = (long)(g->spec.timeout_seconds * (double)(g->spec.n_inputs + 1)) + 1,
    };
    if (lim.cpu_seconds > (long)r->cfg.validation_budget_seconds + 1)
        lim.cpu_seconds = (long)r->cfg.validation_budget_seconds + 1;
    if (g->measure) /* trials are bounded by the worker's own deadlines */
        lim.cpu_seconds = 24L * 3600;
    char why[256];
    if (jt_sandbox_enter_child(&lim, runner_pid, why, sizeof why) < 0) {
        jt_log(JT_LOG_ERROR, g->task_id, "sandbox set-up failed: %s", why);
        _exit(3);
    }
    /* From here on nothing of ours logs; keep compiler warnings about the
     * candidate's source out of the service's log stream. */
    if (devnull >= 0)
        dup2(devnull, 2);
    if (g->measure) {
        jt_trials_spec_t ts = {.code = g->spec.code,
                               .function_name = g->spec.function_name,
                               .inputs = g->spec.inputs,
                               .n_inputs = g->spec.n_inputs,
                               .timeout_seconds = g->spec.timeout_seconds,
                               .output_limit_bytes = g->spec.output_limit_bytes,
                               .same_process = g->same_process};
        _exit(jt_trials_serve(&ts, cmd_fd, out_fd) == 0 ? 0 : 4);
    }
    _exit(jt_gate_run(&g->spec, out_fd) == 0 ? 0 : 4);
}

/* Relay the child's frames until it closes its pipe; honour cancel/EOF on
 * the command pipe. Returns 0, -1 when the worker is gone (runner exits). */
static int relay(runner_t *r, pid_t child, int job_fd, int child_cmd_fd, bool *cancelled)
{
    jt_frame_reader_t job_reader, cmd_reader;
    jt_frame_reader_init(&job_reader, JT_FRAME_MAX_BYTES);
    jt_frame_reader_init(&cmd_reader, COMMAND_MAX_BYTES);
    int rc = 0;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = job_fd, .events = POLLIN}, {.fd = r->in_fd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents) {
            int done = 0;
            jt_status_t s = jt_frame_reader_read(&cmd_reader, r->in_fd, &done);
            if (s != JT_OK) { /* the worker is gone: stop the job, then the runner */
                kill(child, SIGKILL);
                rc = -1;
                pfd[1].fd = -1;
            } else if (done) {
                uint8_t *data;
                size_t len;
                jt_frame_reader_take(&cmd_reader, &data, &len);
                msgpack_unpacked cmd;
                if (jt_mp_unpack_one(&cmd, data, len)) {
                    if (jt_mp_str_eq(jt_mp_find(&cmd.data, "op"), "cancel")) {
                        *cancelled = true;
                        kill(child, SIGKILL);
                    } else if (child_cmd_fd >= 0 &&
                               jt_frame_write(child_cmd_fd, data, len) != JT_OK) {
                        kill(child, SIGKILL); /* the child is gone or stuck */
                    }
                    msgpack_unpacked_destroy(&cmd);
                }
                free(data);
            }
            if (rc < 0)
                break;
        }
        if (pfd[0].revents) {
            int done = 0;
            jt_status_t s = jt_frame_reader_read(&job_reader, job_fd, &done);
            if (s != JT_OK)
                break; /* EOF: the child is done (or died) */
            if (done) {
                uint8_t *data;
                size_t len;
                jt_frame_reader_take(&job_reader, &data, &len);
                jt_status_t ws = jt_frame_write(r->out_fd, data, len);
                free(data);
                if (ws != JT_OK) {
                    kill(child, SIGKILL);
                    rc = -1;
                    break;
                }
            }
        }
    }
    jt_frame_reader_cleanup(&job_reader);
    jt_frame_reader_cleanup(&cmd_reader);
    return rc;
}

/* Run one validate or measure command end to end. Returns -1 when the runner must exit. */
static int serve_job(runner_t *r, const msgpack_object *cmd)
{
    gate_command_t g;
    const char *bad = gate_command_decode(cmd, &r->cfg, &g);
    if (bad != NULL) {
        gate_command_cleanup(&g);
        return send_end(r, false, bad);
    }
    char workdir[512];
    if (jt_workdir_create(r->cfg.sandbox_dir, r->drop_privileges, r->uid, r->gid, workdir,
                          sizeof workdir) < 0) {
        char m[700];
        snprintf(m, sizeof m, "cannot create a working directory under %s: %s",
                 r->cfg.sandbox_dir, strerror(errno));
        gate_command_cleanup(&g);
        return send_end(r, false, m);
    }
    int p[2], c[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        jt_workdir_remove(workdir);
        gate_command_cleanup(&g);
        return send_end(r, false, "pipe failed");
    }
    if (pipe2(c, O_CLOEXEC) < 0) {
        close(p[0]);
        close(p[1]);
        jt_workdir_remove(workdir);
        gate_command_cleanup(&g);
        return send_end(r, false, "pipe failed");
    }
    pid_t self = getpid();
    fflush(NULL);
    PyOS_BeforeFork();
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        close(c[1]);
        sandbox_child(r, &g, workdir, c[0], p[1], self);
    }
    PyOS_AfterFork_Parent();
    close(p[1]);
    close(c[0]);
    if (child < 0) {
        close(p[0]);
        close(c[1]);
        jt_workdir_remove(workdir);
        gate_command_cleanup(&g);
        return send_end(r, false, "fork failed");
    }
    /* Free the job's memory now: later children must not inherit it. */
    gate_command_cleanup(&g);
    bool cancelled = false;
    int rc = relay(r, child, p[0], c[1], &cancelled);
    close(p[0]);
    close(c[1]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (jt_workdir_remove(workdir) < 0)
        jt_log_warn("could not remove the working directory %s: %s", workdir, strerror(errno));
    if (rc < 0)
        return -1;
    if (cancelled)
        return send_end(r, false, "cancelled");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return send_end(r, true, NULL);
    char m[128];
    if (WIFSIGNALED(status))
        snprintf(m, sizeof m, "sandbox child killed by signal %d", WTERMSIG(status));
    else
        snprintf(m, sizeof m, "sandbox child failed (exit code %d)", WEXITSTATUS(status));
    return send_end(r, false, m);
}

static int serve(runner_t *r)
{
    for (;;) {
        uint8_t *data;
        size_t len;
        jt_status_t s = jt_frame_read(r->in_fd, COMMAND_MAX_BYTES, -1, &data, &len);
        if (s == JT_ERR_EOF)
            return 0;
        if (s != JT_OK) {
            jt_log_error("reading a command failed: %s", jt_status_text(s));
            return 1;
        }
        msgpack_unpacked cmd;
        int rc;
        if (!jt_mp_unpack_one(&cmd, data, len)) {
            rc = send_end(r, false, "command is not one msgpack value");
        } else {
            const msgpack_object *op = jt_mp_find(&cmd.data, "op");
            if (jt_mp_str_eq(op, "validate") || jt_mp_str_eq(op, "measure")) {
                rc = serve_job(r, &cmd.data);
            } else if (jt_mp_str_eq(op, "ping")) {
                static const uint8_t pong[] = {0x81, 0xa1, 't', 0xa4, 'p', 'o', 'n', 'g'};
                rc = jt_frame_write(r->out_fd, pong, sizeof pong) == JT_OK ? 0 : -1;
            } else if (jt_mp_str_eq(op, "cancel")) {
                rc = 0; /* nothing in flight */
            } else {
                rc = send_end(r, false, "unknown op");
            }
            msgpack_unpacked_destroy(&cmd);
        }
        explicit_bzero(data, len);
        free(data);
        if (rc < 0)
            return 0; /* the worker is gone */
    }
}

int main(int argc, char **argv)
{
    runner_t r = {0};
    jt_error_t err;
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN_FD OUT_FD (started by jouletrace-worker)\n", argv[0]);
        return 2;
    }
    r.in_fd = atoi(argv[1]);
    r.out_fd = atoi(argv[2]);
    if (jt_config_load(&r.cfg, &err) != JT_OK) {
        fprintf(stderr, "jouletrace-runner: %s\n", err.message);
        return 2;
    }
    jt_log_setup("runner", r.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam(r.cfg.sandbox_user);
        if (pw == NULL || pw->pw_uid == 0) {
            jt_log_error("sandbox user '%s' does not exist or is root; set JOULETRACE_SANDBOX_USER",
                         r.cfg.sandbox_user);
            return 2;
        }
        r.drop_privileges = true;
        r.uid = pw->pw_uid;
        r.gid = pw->pw_gid;
    }
    if (init_python() < 0)
        return 1;
    int rc = serve(&r);
    /* No Py_Finalize: nothing to flush, and it would only cost time. */
    return rc;
}
