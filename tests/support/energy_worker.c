/* energy_worker.c -- energy tests: worker commands, run and watched: calibrate, measure. */
#include "energy_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipe_pair.h"
#include "process_harness.h"

#define COMMAND_DEADLINE_S 150.0 /* a worker command is killed after this */

/* jt_pipe_sink_fn of run_worker: stdout and stderr into the outcome. */
static void keep_output(void *arg, int stream, const char *data, size_t n)
{
    if (stream == 0)
        outcome_keep_out(arg, data, n);
    else
        outcome_keep_err(arg, data, n);
}

/* In the child: drop every JOULETRACE_* variable, then set this case's and
 * the extra (name, value) pairs. */
static void child_environment(const env_t *e, const char *const *extra)
{
    extern char **environ;
    char names[64][128];
    size_t n = 0;
    for (char **v = environ; *v && n < 64; v++) {
        const char *eq = strchr(*v, '=');
        if (strncmp(*v, "JOULETRACE_", 11) == 0 && eq && (size_t)(eq - *v) < sizeof names[0])
            snprintf(names[n++], sizeof names[0], "%.*s", (int)(eq - *v), *v);
    }
    for (size_t i = 0; i < n; i++)
        unsetenv(names[i]);
    char core[16];
    snprintf(core, sizeof core, "%d", MEASURE_CORE);
    setenv("JOULETRACE_MEASURE_CORE", core, 1);
    snprintf(core, sizeof core, "%d", VALIDATE_CORE);
    setenv("JOULETRACE_VALIDATE_CORE", core, 1);
    setenv("JOULETRACE_POWERCAP_ROOT", e->rapl, 1);
    setenv("JOULETRACE_CALIBRATION", e->cal, 1);
    setenv("JOULETRACE_SANDBOX_DIR", e->sandbox, 1);
    setenv("JOULETRACE_METER", "rapl-sysfs", 1);
    setenv("JOULETRACE_LOG_LEVEL", "warn", 1);
    for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
        setenv(extra[i], extra[i + 1], 1);
}

outcome_t *run_worker(env_t *e, const char *label, const char *const *args,
                      const char *const *extra)
{
    if (e->n_outcomes == MAX_OUTCOMES) {
        flunk(e, "too many worker commands in one case");
        return NULL;
    }
    outcome_t *o = outcome_new(label);
    if (o == NULL) {
        flunk(e, "out of memory");
        return NULL;
    }
    e->outcomes[e->n_outcomes++] = o;

    const char *argv[16];
    size_t n = 0;
    argv[n++] = "jouletrace-worker";
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    int op[2], ep[2];
    if (pipe2(op, O_CLOEXEC) != 0) {
        flunk(e, "pipe: %s", strerror(errno));
        return NULL;
    }
    if (pipe2(ep, O_CLOEXEC) != 0) {
        close(op[0]);
        close(op[1]);
        flunk(e, "pipe: %s", strerror(errno));
        return NULL;
    }
    double t0 = jt_proc_now();
    pid_t pid = fork();
    if (pid < 0) {
        for (int i = 0; i < 2; i++) {
            close(op[i]);
            close(ep[i]);
        }
        flunk(e, "fork: %s", strerror(errno));
        return NULL;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(op[1], 1);
        dup2(ep[1], 2);
        child_environment(e, extra);
        signal(SIGPIPE, SIG_DFL);
        execv(JT_WORKER_BIN, (char *const *)argv);
        dprintf(2, "exec %s: %s\n", JT_WORKER_BIN, strerror(errno));
        _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    int fds[2] = {op[0], ep[0]};
    int st = 0;
    bool exited = false, killed = false;
    double next_scan = jt_proc_now();
    while (!exited || fds[0] >= 0 || fds[1] >= 0) {
        if (!exited && waitpid(pid, &st, WNOHANG) == pid) {
            exited = true;
            o->wall = jt_proc_now() - t0;
        }
        if (!exited && !killed && jt_proc_now() - t0 > COMMAND_DEADLINE_S) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true;
        }
        if (!exited && jt_proc_now() >= next_scan) {
            o->samples++;
            o->foreign += scan_foreign(&e->watch);
            next_scan = jt_proc_now() + SCAN_INTERVAL_S;
        }
        if (jt_pipe_pair_read(fds, 20, keep_output, o) == 0 && exited)
            break; /* exited, and nothing more to read: a descendant may hold the pipes */
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (WIFEXITED(st))
        o->exit_code = WEXITSTATUS(st);
    e->watch.samples += o->samples;
    e->watch.foreign += o->foreign;
    probe_speed(&e->watch);
    json_error_t je;
    if (o->out_len > 0)
        o->json = json_loadb(o->out, o->out_len, 0, &je);
    core_watch_note_result(&e->watch, o->json);
    if (killed)
        flunk(e, "[%s] worker still running after %.0f s; killed", label, COMMAND_DEADLINE_S);
    return o;
}

bool calibrate(env_t *e)
{
    const char *args[] = {"calibrate",  "--seconds", "2",    "--meter",
                          "rapl-sysfs", "--out",     e->cal, NULL};
    outcome_t *o = NULL;
    for (int attempt = 1; attempt <= 3; attempt++) {
        before_command(&e->watch);
        o = run_worker(e, "calibrate", args, NULL);
        if (o == NULL)
            return false;
        if (o->exit_code == 0 ||
            (strstr(o->err, "busy") == NULL && strstr(o->err, "varied") == NULL))
            break;
        fprintf(stderr, "calibrate refused (try %d): %s", attempt, o->err);
    }
    if (o->exit_code != 0)
        return flunk(e, "calibrate exited %d, expected 0: %s", o->exit_code, o->err);
    return true;
}

bool ready(env_t *e)
{
    return start_fake(e, PKG_ACTIVE_W, DRAM_ACTIVE_W) && calibrate(e);
}

outcome_t *measure_with(env_t *e, const char *label, json_t *job, const char *meter,
                        const char *const *extra)
{
    int rc = job ? json_dump_file(job, e->job, JSON_COMPACT) : -1;
    json_decref(job);
    if (rc != 0) {
        flunk(e, "[%s] cannot write the job file %s", label, e->job);
        return NULL;
    }
    const char *args[] = {"measure", "--meter", meter, e->job, NULL};
    before_command(&e->watch);
    outcome_t *o = run_worker(e, label, args, extra);
    if (o != NULL)
        print_summary(o);
    return o;
}

outcome_t *measure_ok(env_t *e, const char *label, json_t *job)
{
    outcome_t *o = measure_with(e, label, job, "rapl-sysfs", NULL);
    if (o == NULL)
        return NULL;
    if (o->exit_code != 0 || strcmp(str(o, "status"), "completed") != 0 || isnan(energy(o))) {
        flunk(e, "[%s] exit %d, status %s: expected a completed measurement", label, o->exit_code,
              str(o, "status"));
        return NULL;
    }
    return o;
}

outcome_t *ready_measure(env_t *e, const char *label, json_t *job)
{
    if (ready(e))
        return measure_ok(e, label, job);
    json_decref(job);
    return NULL;
}

bool ready_measure_pair(env_t *e, const char *label_a, json_t *job_a, const char *label_b,
                        json_t *job_b, outcome_t **a_out, outcome_t **b_out)
{
    outcome_t *a = ready_measure(e, label_a, job_a);
    if (a == NULL) {
        json_decref(job_b);
        return false;
    }
    outcome_t *b = measure_ok(e, label_b, job_b);
    if (b == NULL)
        return false;
    *a_out = a;
    *b_out = b;
    return true;
}
