/* sandbox_child.h -- a pre-forked, pre-confined sandbox child waiting for its job.
 *
 * The runner keeps one ready between jobs, so that a job's latency holds one
 * fork (the run) instead of two, and none of the confinement set-up. Used by
 * the runner process only.
 */
#ifndef JT_SANDBOX_CHILD_H
#define JT_SANDBOX_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

typedef struct {
    pid_t pid;          /* 0 when none */
    int cmd_fd;         /* runner -> child: the job command, then trial commands */
    int out_fd;         /* child -> runner: frames for the worker */
    char workdir[512];  /* removed by jt_sandbox_child_remove_workdir */
    bool confined;      /* its "box" frame arrived (jt_sandbox_child_await_ready) */
    unsigned features;  /* JT_BOX_* bits the child obtained (sandbox_confine.h) */
} jt_sandbox_child_t;

typedef struct {
    const jt_config_t *cfg;
    bool drop_privileges;            /* as root: the box's uids below */
    uid_t supervisor_uid, run_uid;   /* sandbox_slot.h */
    int runner_in_fd, runner_out_fd; /* closed in the child */
    int slot_lock_fd;                /* closed in the child; -1 when none */
    const char *python_home;         /* the interpreter's prefix (bound into the box) */
} jt_sandbox_child_opts_t;

/* Create a working directory and start a child (as root: pid 1 of a new pid
 * namespace) that confines itself (jt_sandbox_enter_child), reports what it
 * obtained in a {"t":"box","features":N} frame, and then blocks until the
 * runner writes one command frame to cmd_fd; it then applies the job's limits
 * and runs the gate or the trials. Returns 0, or -1 with a reason in err
 * (nothing left behind). */
int jt_sandbox_child_spawn(const jt_sandbox_child_opts_t *o, jt_sandbox_child_t *c, char *err,
                           size_t errlen);

/* Read the child's "box" frame (once; later calls return 0 at once): it is
 * confined and waits for its job, c->features says what it obtained.
 * Returns 0, or -1 with a reason in err (the child failed its set-up). */
int jt_sandbox_child_await_ready(jt_sandbox_child_t *c, char *err, size_t errlen);

/* Close the pipes, SIGKILL the child when kill_it, and wait for it. Returns
 * the wait status. The working directory stays until
 * jt_sandbox_child_remove_workdir (so the job's end can be reported first). */
int jt_sandbox_child_reap(jt_sandbox_child_t *c, bool kill_it);

/* Remove the child's working directory (after jt_sandbox_child_reap). */
void jt_sandbox_child_remove_workdir(jt_sandbox_child_t *c);

#endif
