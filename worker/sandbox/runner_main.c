/* runner_main.c -- jouletrace-runner: single-threaded process that owns the embedded Python.
 *
 * Started by the worker with fork+exec as `jouletrace-runner IN_FD OUT_FD`.
 * It initialises Python once (isolated config), keeps one confined sandbox
 * child ready (sandbox_child.h), and serves commands read as frames on IN_FD,
 * one job at a time: it hands the job to the ready child, relays the child's
 * frames to OUT_FD, and ends every job with
 *   {"t":"end","ok":BOOL,"error":STR|nil}
 * Commands: {"op":"validate"|"measure", ...} (runner_command.h); while a job
 * runs, {"op":"cancel"} kills it and any other command is passed to the
 * sandbox child (the trial protocol of sandbox_trials.h); {"op":"ping"} ->
 * {"t":"pong"}. EOF on IN_FD ends the runner (killing a job in flight).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "frame.h"
#include "runner_command.h"
#include "log.h"
#include "protocol.h"
#include "pyvalue.h"
#include "runner_watch.h"
#include "sandbox_cgroup.h"
#include "sandbox_child.h"
#include "sandbox_slot.h"
#include "seccomp_filter.h"

#define COMMAND_MAX_BYTES (JT_MAX_BODY_BYTES + 64 * 1024)

typedef struct {
    int in_fd, out_fd;
    jt_config_t cfg;
    jt_sandbox_child_opts_t child_opts;
    jt_sandbox_child_t ready; /* pid 0 when none could be made */
    jt_sandbox_slot_t slot;   /* as root: this runner's box uids */
    jt_box_cgroup_t cgroup;   /* the slot's cgroup, when the host has one */
    unsigned features;        /* JT_BOX_* of the last child made */
} runner_t;

static int init_python(void)
{
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0;
    config.install_signal_handlers = 0;
    config.write_bytecode = 0;
    config.buffered_stdio = 1;
    /* The standard library of the libpython we link, not of whatever
     * python3 comes first on PATH (pyenv, a venv, ...). */
    PyStatus st = PyConfig_SetBytesString(&config, &config.home, JT_PYTHON_HOME);
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        jt_log_error("python initialisation failed: %s", st.err_msg ? st.err_msg : "?");
        return -1;
    }
    return jt_py_preload();
}

static int send_end(runner_t *r, bool ok, const char *error)
{
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 3, "end");
    jt_mp_pack_cstr(&f.pk, "ok");
    ok ? msgpack_pack_true(&f.pk) : msgpack_pack_false(&f.pk);
    jt_mp_pack_cstr(&f.pk, "error");
    jt_mp_pack_cstr(&f.pk, error);
    return jt_mp_frame_send(&f, r->out_fd) == JT_OK ? 0 : -1;
}

/* Make sure a confined child is waiting for the next job. */
static void prepare_child(runner_t *r)
{
    if (r->ready.pid > 0)
        return;
    char why[600];
    if (jt_sandbox_child_spawn(&r->child_opts, &r->ready, why, sizeof why) < 0) {
        jt_log_error("cannot prepare a sandbox child: %s", why);
        return;
    }
    if (jt_box_cgroup_add(&r->cgroup, r->ready.pid) < 0) {
        jt_log_warn("cannot move the sandbox child into its cgroup (%s); running without",
                    strerror(errno));
        jt_box_cgroup_close(&r->cgroup);
    }
}

/* {"t":"pong","box":{"slot":N,"features":BITS,"cgroup":"v2"|"v1"|"none","cpu_cgroup":DIR}}:
 * DIR is the cgroup directory that counts the box's CPU time, "" without one. */
static int send_pong(runner_t *r)
{
    char why[300];
    if (r->ready.pid > 0 && jt_sandbox_child_await_ready(&r->ready, why, sizeof why) == 0)
        r->features = r->ready.features;
    jt_mp_frame_t f;
    jt_mp_frame_begin(&f, 2, "pong");
    jt_mp_pack_cstr(&f.pk, "box");
    msgpack_pack_map(&f.pk, 4);
    jt_mp_pack_cstr(&f.pk, "slot");
    msgpack_pack_int(&f.pk, r->slot.index);
    jt_mp_pack_cstr(&f.pk, "features");
    msgpack_pack_unsigned_int(&f.pk, r->features);
    jt_mp_pack_cstr(&f.pk, "cgroup");
    jt_mp_pack_cstr(&f.pk, jt_cgroup_mode_name(r->cgroup.mode));
    jt_mp_pack_cstr(&f.pk, "cpu_cgroup");
    jt_mp_pack_cstr(&f.pk, jt_box_cgroup_cpu_dir(&r->cgroup));
    return jt_mp_frame_send(&f, r->out_fd) == JT_OK ? 0 : -1;
}

static int relay(runner_t *r, pid_t child, int job_fd, int child_cmd_fd, jt_runner_watch_t *watch,
                 bool *cancelled)
{
    jt_frame_reader_t job_reader, cmd_reader;
    jt_frame_reader_init(&job_reader, JT_FRAME_MAX_BYTES);
    jt_frame_reader_init(&cmd_reader, COMMAND_MAX_BYTES);
    int rc = 0;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = job_fd, .events = POLLIN},
                                {.fd = r->in_fd, .events = POLLIN}};
        int n = poll(pfd, 2, JT_WATCH_PERIOD_MS);
        if (n < 0 && errno != EINTR)
            break;
        if (watch->kill_reason == NULL && jt_runner_watch_check(watch, child) != NULL) {
            jt_log_warn("%s", watch->kill_reason);
            kill(child, SIGKILL); /* its frames so far are still relayed, then EOF */
        }
        if (n <= 0)
            continue;
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
                explicit_bzero(data, len);
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
                jt_runner_watch_frame(watch, data, len);
                jt_status_t ws = jt_frame_write(r->out_fd, data, len);
                explicit_bzero(data, len); /* the candidate's outputs */
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

/* Run one validate or measure command end to end. Returns -1 when the
 * runner must exit (the worker is gone). */
static int serve_job(runner_t *r, msgpack_object *cmd, uint8_t *frame, size_t len)
{
    jt_runner_command_t check;
    const char *bad = jt_runner_command_decode(cmd, &r->cfg, &check);
    jt_runner_watch_t watch;
    jt_runner_watch_start(&watch, !check.measure, check.spec.timeout_seconds, check.spec.n_inputs,
                          r->cfg.validation_budget_seconds);
    long memory_bytes = (long)check.memory_limit_mb * 1024 * 1024;
    jt_runner_command_cleanup(&check);
    if (bad != NULL)
        return send_end(r, false, bad);
    if (jt_box_cgroup_limit(&r->cgroup, memory_bytes) < 0)
        jt_log_warn("cannot set the box's cgroup memory limit: %s", strerror(errno));
    prepare_child(r);
    if (r->ready.pid <= 0)
        return send_end(r, false, "no sandbox child could be started (see the runner's log)");
    jt_sandbox_child_t child = r->ready;
    r->ready.pid = 0;
    char why[300];
    if (jt_sandbox_child_await_ready(&child, why, sizeof why) < 0) {
        jt_sandbox_child_reap(&child, true);
        jt_sandbox_child_remove_workdir(&child);
        return send_end(r, false, why);
    }
    r->features = child.features;
    bool cancelled = false;
    int rc = 0;
    bool sent = jt_frame_write(child.cmd_fd, frame, len) == JT_OK;
    /* The next child never holds another job's code, inputs or outputs: it is
     * forked only once this job's bytes are wiped. For a validation that is
     * now, before any output exists, so that its confinement is made while
     * this job runs and a job right behind does not wait for it; a
     * measurement's next child waits for the job's end (serve), so that its
     * set-up never runs beside the trials. */
    if (sent && watch.validate) {
        jt_mp_wipe(cmd);
        explicit_bzero(frame, len);
        prepare_child(r);
    }
    if (sent)
        rc = relay(r, child.pid, child.out_fd, child.cmd_fd, &watch, &cancelled);
    int status = jt_sandbox_child_reap(&child, cancelled || rc < 0);
    if (rc == 0 && !cancelled && watch.kill_reason != NULL && watch.validate) {
        /* the tests the killed box did not report, then a normal end */
        rc = jt_runner_watch_report(&watch, r->out_fd);
        status = 0;
    }
    if (rc < 0) {
        jt_sandbox_child_remove_workdir(&child);
        return -1;
    }
    int end;
    if (cancelled)
        end = send_end(r, false, "cancelled");
    else if (watch.kill_reason != NULL && !watch.validate)
        end = send_end(r, false, watch.kill_reason);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        end = send_end(r, true, NULL);
    else {
        char m[128];
        if (WIFSIGNALED(status))
            snprintf(m, sizeof m, "sandbox child killed by signal %d", WTERMSIG(status));
        else
            snprintf(m, sizeof m, "sandbox child failed (exit code %d)", WEXITSTATUS(status));
        end = send_end(r, false, m);
    }
    /* The working directory goes after the end is reported, but before the
     * next command is read: nothing of a job outlives it. */
    jt_sandbox_child_remove_workdir(&child);
    return end;
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
                rc = serve_job(r, &cmd.data, data, len);
            } else if (jt_mp_str_eq(op, "ping")) {
                rc = send_pong(r);
            } else if (jt_mp_str_eq(op, "cancel")) {
                rc = 0; /* nothing in flight */
            } else {
                rc = send_end(r, false, "unknown op");
            }
            /* the job's inputs must not linger in this process's free memory:
             * the zone's numbers as well as the frame's bytes */
            jt_mp_wipe(&cmd.data);
            msgpack_unpacked_destroy(&cmd);
        }
        explicit_bzero(data, len);
        free(data);
        if (rc < 0)
            return 0; /* the worker is gone */
        /* Nothing of the last job is left here: fork the next job's child now
         * (unless a validation made it already), while the worker reads the
         * answer, before the next command exists. */
        prepare_child(r);
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
    /* A session of its own: no controlling terminal reaches a box (TIOCSTI and
     * friends), and no terminal signal of the worker's shell reaches the runner. */
    (void)setsid();
    r.child_opts.cfg = &r.cfg;
    r.child_opts.runner_in_fd = r.in_fd;
    r.child_opts.runner_out_fd = r.out_fd;
    r.child_opts.slot_lock_fd = -1;
    r.child_opts.python_home = JT_PYTHON_HOME;
    r.slot.index = -1;
    char why[256];
    if (geteuid() == 0) {
        if (jt_sandbox_slot_claim(r.cfg.sandbox_uid_base, r.cfg.sandbox_slots, &r.slot, why,
                                  sizeof why) < 0) {
            jt_log_error("%s", why);
            return 2;
        }
        r.child_opts.drop_privileges = true;
        r.child_opts.supervisor_uid = r.slot.supervisor_uid;
        r.child_opts.run_uid = r.slot.run_uid;
        r.child_opts.slot_lock_fd = r.slot.lock_fd;
        if (jt_box_cgroup_open(&r.cgroup, r.slot.index, why, sizeof why) == JT_CGROUP_NONE)
            jt_log_info("boxes run without a cgroup: %s", why);
        else if (jt_box_cgroup_cpu_dir(&r.cgroup)[0] == '\0')
            jt_log_info("the box's cgroup counts no CPU time (no cpuacct); the estimate meter "
                        "counts the measurement core's busy time instead");
    }
    if (jt_filter_prepare(why, sizeof why) < 0) /* slower, not weaker: each child compiles */
        jt_log_warn("seccomp filters not precompiled: %s", why);
    if (r.slot.index >= 0 &&
        jt_filter_prepare_identity(r.slot.supervisor_uid, r.slot.run_uid, why, sizeof why) < 0)
        jt_log_warn("identity filter not precompiled: %s", why);
    if (init_python() < 0)
        return 1;
    jt_py_freeze_heap();
    prepare_child(&r);
    int rc = serve(&r);
    jt_sandbox_child_reap(&r.ready, true);
    jt_sandbox_child_remove_workdir(&r.ready);
    jt_box_cgroup_close(&r.cgroup);
    jt_sandbox_slot_release(&r.slot);
    /* No Py_Finalize: nothing to flush, and it would only cost time. */
    return rc;
}
