/* sandbox_child.c -- fork a confined sandbox child that waits for its job, then runs it. */
#include "sandbox_child.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "runner_command.h"
#include "log.h"
#include "protocol.h"
#include "sandbox_confine.h"
#include "sandbox_identity.h"
#include "sandbox_trials.h"
#include "sandbox_workdir.h"

#define JOB_FRAME_MAX_BYTES (JT_MAX_BODY_BYTES + 64 * 1024)
#define READY_TIMEOUT_MS 10000 /* confinement takes milliseconds; a stuck child is given up */

enum { CHILD_OK = 0, CHILD_SETUP_FAILED = 3, CHILD_PIPE_BROKEN = 4, CHILD_BAD_JOB = 5 };

/* Close every descriptor above 2 but a and b. */
static void close_all_but(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    close_range(3, (unsigned)lo - 1, 0);
    close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0U, 0);
}

/* In the child: wait for the job, narrow the limits to it, run it. */
_Noreturn static void child_main(const jt_sandbox_child_opts_t *o, const char *workdir, int cmd_fd,
                                 int out_fd, pid_t runner, const uid_t *userns_ids)
{
    PyOS_AfterFork_Child();
    /* Keep only stdio and this child's two pipes: not the runner's pipes to
     * the worker, not the slot's lock, not the pipes of a box still running
     * beside it (a validation's next child is forked while it runs). */
    close_all_but(cmd_fd, out_fd);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
    }
    jt_sandbox_limits_t lim = {.workdir = workdir,
                               .drop_privileges = o->drop_privileges,
                               .supervisor_uid = o->supervisor_uid,
                               .run_uid = o->run_uid,
                               .python_home = o->python_home,
                               .user_namespace = userns_ids != NULL};
    char why[256];
    unsigned features = 0;
    if (userns_ids != NULL &&
        jt_identity_map_userns(userns_ids[0], userns_ids[1], why, sizeof why) < 0) {
        jt_log_error("sandbox set-up failed: %s", why);
        _exit(CHILD_SETUP_FAILED);
    }
    /* pid 1 of its own namespace does not see its parent (getppid() is 0) */
    if (jt_sandbox_enter_child(&lim, getpid() == 1 ? 0 : runner, &features, why, sizeof why) < 0) {
        jt_log_error("sandbox set-up failed: %s", why);
        _exit(CHILD_SETUP_FAILED);
    }
    jt_mp_frame_t ready;
    jt_mp_frame_begin(&ready, 2, "box");
    jt_mp_pack_cstr(&ready.pk, "features");
    msgpack_pack_unsigned_int(&ready.pk, features);
    if (jt_mp_frame_send(&ready, out_fd) != JT_OK)
        _exit(CHILD_PIPE_BROKEN);

    uint8_t *data;
    size_t len;
    if (jt_frame_read(cmd_fd, JOB_FRAME_MAX_BYTES, -1, &data, &len) != JT_OK)
        _exit(CHILD_OK); /* the runner discarded us */
    msgpack_unpacked msg;
    jt_runner_command_t job;
    if (!jt_mp_unpack_one(&msg, data, len) ||
        jt_runner_command_decode(&msg.data, o->cfg, &job) != NULL)
        _exit(CHILD_BAD_JOB); /* the runner checked it already */
    long cpu = (long)(job.spec.timeout_seconds * (double)(job.spec.n_inputs + 1)) + 1;
    if (cpu > (long)o->cfg->validation_budget_seconds + 1)
        cpu = (long)o->cfg->validation_budget_seconds + 1;
    if (job.measure) /* trials are bounded by the worker's own deadlines */
        cpu = 24L * 3600;
    if (jt_sandbox_apply_job((int)job.core, (long)job.memory_limit_mb * 1024 * 1024, cpu, why,
                             sizeof why) < 0) {
        jt_log(JT_LOG_ERROR, job.task_id, "sandbox set-up failed: %s", why);
        _exit(CHILD_SETUP_FAILED);
    }
    /* From here on nothing of ours logs; keep compiler warnings about the
     * candidate's source out of the service's log stream. */
    if (devnull >= 0)
        dup2(devnull, 2);
    int rc;
    if (job.measure) {
        jt_trials_spec_t ts = {.code = job.spec.code,
                               .function_name = job.spec.function_name,
                               .inputs = job.spec.inputs,
                               .n_inputs = job.spec.n_inputs,
                               .timeout_seconds = job.spec.timeout_seconds,
                               .output_limit_bytes = job.spec.output_limit_bytes,
                               .same_process = job.same_process};
        rc = jt_trials_serve(&ts, cmd_fd, out_fd);
    } else {
        rc = jt_gate_run(&job.spec, out_fd);
    }
    _exit(rc == 0 ? CHILD_OK : CHILD_PIPE_BROKEN);
}

/* A fork into a new pid namespace whose pid 1 the child is: runs then see
 * no process outside the box, and the kernel refuses their signals to it
 * (init of a namespace only takes the signals it handles). As root that is
 * all; otherwise the child also gets a user namespace of its own where the
 * host allows one (*userns set), in which it may make the box's other
 * namespaces and mounts. Plain fork() when neither can be had. The runner is
 * single-threaded, so the raw clone is as safe as fork here. */
static pid_t start_child(bool as_root, bool *userns)
{
    *userns = false;
    long flags = CLONE_NEWPID | SIGCHLD | (as_root ? 0 : CLONE_NEWUSER);
    long pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (pid >= 0) {
        *userns = !as_root;
        return (pid_t)pid;
    }
    if (errno != EPERM && errno != EINVAL && errno != ENOSPC && errno != EUSERS)
        return -1;
    return fork();
}

int jt_sandbox_child_await_ready(jt_sandbox_child_t *c, char *err, size_t errlen)
{
    if (c->confined)
        return 0;
    uint8_t *data = NULL;
    size_t len = 0;
    jt_status_t s = jt_frame_read(c->out_fd, 256, READY_TIMEOUT_MS, &data, &len);
    msgpack_unpacked m;
    long long features = -1;
    if (s == JT_OK && jt_mp_unpack_one(&m, data, len)) {
        if (jt_mp_str_eq(jt_mp_find(&m.data, "t"), "box") &&
            !jt_mp_int(jt_mp_find(&m.data, "features"), &features))
            features = -1;
        msgpack_unpacked_destroy(&m);
    }
    free(data);
    if (features < 0) {
        snprintf(err, errlen, "the sandbox child did not get ready (%s; see its log line)",
                 s == JT_OK ? "unexpected frame" : jt_status_text(s));
        return -1;
    }
    c->features = (unsigned)features;
    c->confined = true;
    return 0;
}

int jt_sandbox_child_spawn(const jt_sandbox_child_opts_t *o, jt_sandbox_child_t *c, char *err,
                           size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->cmd_fd = c->out_fd = -1;
    if (jt_workdir_create(o->cfg->sandbox_dir, o->drop_privileges, o->run_uid, o->run_uid,
                          c->workdir, sizeof c->workdir) < 0) {
        snprintf(err, errlen, "cannot create a working directory under %s: %s",
                 o->cfg->sandbox_dir, strerror(errno));
        return -1;
    }
    int out[2], cmd[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        jt_workdir_remove(c->workdir);
        return -1;
    }
    if (pipe2(cmd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(out[0]);
        close(out[1]);
        jt_workdir_remove(c->workdir);
        return -1;
    }
    pid_t runner = getpid();
    const uid_t outside[2] = {geteuid(), getegid()}; /* what a user namespace maps to */
    bool userns;
    fflush(NULL);
    PyOS_BeforeFork();
    pid_t pid = start_child(o->drop_privileges, &userns);
    if (pid == 0) {
        close(out[0]);
        close(cmd[1]);
        child_main(o, c->workdir, cmd[0], out[1], runner, userns ? outside : NULL);
    }
    int saved = errno;
    PyOS_AfterFork_Parent();
    close(out[1]);
    close(cmd[0]);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(saved));
        close(out[0]);
        close(cmd[1]);
        jt_workdir_remove(c->workdir);
        return -1;
    }
    c->pid = pid;
    c->cmd_fd = cmd[1];
    c->out_fd = out[0];
    return 0;
}

int jt_sandbox_child_reap(jt_sandbox_child_t *c, bool kill_it)
{
    int status = 0;
    if (c->pid <= 0)
        return 0;
    if (kill_it)
        kill(c->pid, SIGKILL);
    if (c->cmd_fd >= 0)
        close(c->cmd_fd); /* a waiting child reads EOF and leaves */
    if (c->out_fd >= 0)
        close(c->out_fd);
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    c->pid = 0;
    c->cmd_fd = c->out_fd = -1;
    return status;
}

void jt_sandbox_child_remove_workdir(jt_sandbox_child_t *c)
{
    if (c->workdir[0] != '\0' && jt_workdir_remove(c->workdir) < 0)
        jt_log_warn("could not remove the working directory %s: %s", c->workdir,
                    strerror(errno));
    c->workdir[0] = '\0';
}
