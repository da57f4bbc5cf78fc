/* integrity_stand.c -- bench_integrity's stand: a drifting tree, worker commands, a reference. */
#include "integrity_stand.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process_harness.h"

#define STEP_MARGIN_S 0.3 /* the calibration ends at least this long before the step */
#define COMMAND_DEADLINE_S 400.0
#define CALIBRATE_TRIES 5

/* The reference program: JT_PYTHON_BIN -I -S -c REFERENCE_PY CODE_FILE ARGS_JSON (see
 * jt_integrity_reference). Like a fresh_process run it forks the interpreter with
 * the candidate compiled but not run, and the child runs the module and one
 * call, timing them with time.process_time(); 5 to 200 such runs, about 1 s of
 * CPU (3 s of wall time at most). Prints one JSON object. */
static const char REFERENCE_PY[] =
    "import json, os, sys, time\n"
    "code = compile(open(sys.argv[1]).read(), 'candidate', 'exec')\n"
    "args = json.loads(sys.argv[2])\n"
    "def run():\n"
    "    r, w = os.pipe()\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        os.close(r)\n"
    "        c = time.process_time()\n"
    "        ns = {'__name__': 'candidate'}\n"
    "        exec(code, ns)\n"
    "        out = ns['solve'](*args)\n"
    "        t = time.process_time() - c\n"
    "        os.write(w, json.dumps([t, out]).encode())\n"
    "        os._exit(0)\n"
    "    os.close(w)\n"
    "    data = b''\n"
    "    while True:\n"
    "        chunk = os.read(r, 65536)\n"
    "        if not chunk:\n"
    "            break\n"
    "        data += chunk\n"
    "    os.close(r)\n"
    "    os.waitpid(pid, 0)\n"
    "    return json.loads(data)\n"
    "xs, w0 = [], time.monotonic()\n"
    "while len(xs) < 5 or (sum(xs) < 1.0 and time.monotonic() - w0 < 3.0 and len(xs) < 200):\n"
    "    t, out = run()\n"
    "    xs.append(t)\n"
    "xs.sort()\n"
    "ts = os.times()\n"
    "print(json.dumps({'cpu_seconds': xs[len(xs) // 2], 'runs': len(xs),\n"
    "                  'process_cpu_seconds': time.process_time() + ts.children_user\n"
    "                  + ts.children_system, 'output': out}))\n";

int jt_integrity_stand_init(jt_integrity_stand_t *s)
{
    snprintf(s->rapl, sizeof s->rapl, "%s/rapl", s->dir);
    snprintf(s->cal, sizeof s->cal, "%s/cal.json", s->dir);
    snprintf(s->sandbox, sizeof s->sandbox, "%s/sandbox", s->dir);
    snprintf(s->job, sizeof s->job, "%s/job.json", s->dir);
    snprintf(s->code, sizeof s->code, "%s/candidate.py", s->dir);
    snprintf(s->out, sizeof s->out, "%s/stdout", s->dir);
    snprintf(s->err, sizeof s->err, "%s/stderr", s->dir);
    s->fake.pid = 0;
    if (mkdir(s->sandbox, 0755) != 0) {
        fprintf(stderr, "bench_integrity: mkdir %s: %s\n", s->sandbox, strerror(errno));
        return -1;
    }
    return 0;
}

int jt_integrity_pin(int core)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

void jt_integrity_sleep(double s)
{
    if (!(s > 0))
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- child processes -------------------------------------------------------------------- */

/* Run argv (argv[0] a path) with the stand's JOULETRACE_* settings plus extra
 * ("NAME=value", NULL-ended, may be NULL), stdout to s->out and stderr to
 * s->err, pinned to core (-1: inherited). Returns its exit code, or -1 when it
 * could not run, died of a signal or was killed at the deadline. */
static int run_child(jt_integrity_stand_t *s, char *const *argv, const char *const *extra, int core)
{
    char vars[5][256];
    const char *v[16];
    size_t n = 0;
    snprintf(vars[0], sizeof vars[0], "JOULETRACE_MEASURE_CORE=%d", s->core);
    snprintf(vars[1], sizeof vars[1], "JOULETRACE_VALIDATE_CORE=%d", s->other_core);
    snprintf(vars[2], sizeof vars[2], "JOULETRACE_POWERCAP_ROOT=%s", s->rapl);
    snprintf(vars[3], sizeof vars[3], "JOULETRACE_CALIBRATION=%s", s->cal);
    snprintf(vars[4], sizeof vars[4], "JOULETRACE_SANDBOX_DIR=%s", s->sandbox);
    for (; n < 5; n++)
        v[n] = vars[n];
    v[n++] = "JOULETRACE_LOG_LEVEL=warn";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
        v[n++] = extra[i];
    v[n] = NULL;
    char **envp = jt_proc_envp("JOULETRACE_", v);
    if (envp == NULL)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if ((core >= 0 && jt_integrity_pin(core) != 0) || freopen(s->out, "w", stdout) == NULL ||
            freopen(s->err, "w", stderr) == NULL || freopen("/dev/null", "r", stdin) == NULL)
            _exit(126);
        execve(argv[0], argv, envp);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(envp);
    if (pid < 0)
        return -1;
    int st = 0;
    if (!jt_proc_reap(pid, COMMAND_DEADLINE_S, &st)) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        fprintf(stderr, "bench_integrity: %s killed after %.0f s\n", argv[1], COMMAND_DEADLINE_S);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Say that `what` exited rc, with the tail of its stderr. */
static void show_err(const jt_integrity_stand_t *s, const char *what, int rc)
{
    fprintf(stderr, "bench_integrity: %s exited %d\n", what, rc);
    jt_proc_dump_log(what, s->err, 2000);
}

/* ---- the tree and the calibration ------------------------------------------------------- */

/* Start the tree, its idle power stepping s->step_at seconds after its start. 0, or -1. */
static int start_fake(jt_integrity_stand_t *s)
{
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.core = s->core;
    o.idle_watts = JT_STAND_IDLE_W;
    o.active_watts = JT_STAND_ACTIVE_W;
    o.dram_idle_watts = JT_STAND_DRAM_IDLE_W;
    o.dram_active_watts = JT_STAND_DRAM_ACTIVE_W;
    o.max_range_uj = 50000000; /* 50 J: trials cross wraps */
    o.idle_step_percent = s->opt.step_percent;
    o.idle_step_after_s = s->step_at;
    o.idle_ramp_wps = s->opt.ramp_wps;
    if (jt_fake_rapl_start(s->rapl, &o, &s->fake) != 0) {
        fprintf(stderr, "bench_integrity: fake_rapl did not start\n");
        return -1;
    }
    return 0;
}

/* The newest stable truth tick; -1 when none could be read. */
static int truth_now(const jt_integrity_stand_t *s, jt_fake_truth_t *t)
{
    for (int i = 0; i < 2000; i++) {
        if (jt_fake_truth_read(s->rapl, t) == 0 && t->stable)
            return 0;
        jt_integrity_sleep(0.001);
    }
    fprintf(stderr, "bench_integrity: cannot read %s/truth\n", s->rapl);
    return -1;
}

/* The tree's package idle joules from its start to t seconds (the model of tests/fake_rapl.c). */
static double idle_package_joules(const jt_integrity_stand_t *s, double t)
{
    double j = JT_STAND_IDLE_W * t, after = t - s->step_at;
    if (after > 0)
        j += JT_STAND_IDLE_W * s->opt.step_percent / 100.0 * after +
             s->opt.ramp_wps * after * after / 2.0;
    return j;
}

int jt_integrity_calibrate_before_step(jt_integrity_stand_t *s)
{
    char *argv[] = {(char *)JT_WORKER_BIN, "calibrate", "--seconds", "2", "--meter",
                    "rapl-sysfs",          "--out",     s->cal,      NULL};
    double age = NAN;
    s->step_at = s->opt.step_after_s;
    for (int attempt = 1; attempt <= 2; attempt++) {
        if (s->fake.pid > 0)
            jt_fake_rapl_stop(&s->fake);
        if (start_fake(s) != 0)
            return -1;
        /* refused while the core is busy: another program's load may pass */
        int rc = run_child(s, argv, NULL, -1);
        for (int tries = 2; tries <= CALIBRATE_TRIES && rc != 0; tries++) {
            fprintf(stderr, "bench_integrity: calibrate exited %d, trying again\n", rc);
            jt_integrity_sleep(2.0);
            rc = run_child(s, argv, NULL, -1);
        }
        if (rc != 0) {
            show_err(s, "calibrate", rc);
            return -1;
        }
        jt_fake_truth_t t;
        if (truth_now(s, &t) != 0)
            return -1;
        age = t.time - t.start;
        if (age < s->step_at - STEP_MARGIN_S)
            break;
        fprintf(stderr,
                "bench_integrity: the calibration ended %.2f s after the tree's start, "
                "past its step at %.1f s\n",
                age, s->step_at);
        if (attempt == 2)
            return -1;
        s->step_at = age + s->opt.step_after_s;
    }
    jt_integrity_sleep(s->step_at + STEP_MARGIN_S - age);
    return 0;
}

/* ---- the reference and the measurements ------------------------------------------------- */

/* Run the reference once: its JSON output (the caller owns it), or NULL. */
static json_t *run_reference(jt_integrity_stand_t *s, const char *code, const char *args)
{
    FILE *f = fopen(s->code, "w");
    if (f == NULL || fputs(code, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_integrity: cannot write %s\n", s->code);
        return NULL;
    }
    char *argv[] = {(char *)JT_PYTHON_BIN, "-I",    "-S",         "-c",
                    (char *)REFERENCE_PY,  s->code, (char *)args, NULL};
    int rc = run_child(s, argv, NULL, s->core);
    json_t *r = rc == 0 ? json_load_file(s->out, 0, NULL) : NULL;
    if (!json_is_number(json_object_get(r, "cpu_seconds"))) {
        show_err(s, "the reference", rc);
        json_decref(r);
        return NULL;
    }
    return r;
}

int jt_integrity_reference(jt_integrity_stand_t *s, const char *code, const char *args, double *cpu,
                           double *process_cpu, json_t **output)
{
    json_t *r = run_reference(s, code, args);
    if (r == NULL)
        return -1;
    *cpu = json_number_value(json_object_get(r, "cpu_seconds"));
    if (process_cpu != NULL)
        *process_cpu = json_number_value(json_object_get(r, "process_cpu_seconds"));
    if (output != NULL)
        *output = json_incref(json_object_get(r, "output"));
    json_decref(r);
    return 0;
}

int jt_integrity_check_reference(jt_integrity_stand_t *s, const char *code, const char *args,
                                 double *charged_j, double *cpu_j)
{
    jt_fake_truth_t t0, t1;
    double cpu, process_cpu;
    if (truth_now(s, &t0) != 0 ||
        jt_integrity_reference(s, code, args, &cpu, &process_cpu, NULL) != 0 ||
        truth_now(s, &t1) != 0)
        return -1;
    double got =
        (double)(jt_fake_truth_uj(&t1, "intel-rapl:0") - jt_fake_truth_uj(&t0, "intel-rapl:0")) *
        1e-6;
    *charged_j = got - (idle_package_joules(s, t1.time - t1.start) -
                        idle_package_joules(s, t0.time - t0.start));
    *cpu_j = JT_STAND_ACTIVE_W * process_cpu;
    return 0;
}

json_t *jt_integrity_measure(jt_integrity_stand_t *s, const char *label, json_t *job,
                             const char *meter, const char *const *extra)
{
    int rc = job != NULL ? json_dump_file(job, s->job, JSON_COMPACT) : -1;
    json_decref(job);
    if (rc != 0) {
        fprintf(stderr, "bench_integrity: cannot write %s\n", s->job);
        return NULL;
    }
    char *argv[] = {(char *)JT_WORKER_BIN, "measure", "--meter", (char *)meter, s->job, NULL};
    double t0 = jt_proc_now();
    rc = run_child(s, argv, extra, -1);
    json_t *r = json_load_file(s->out, 0, NULL);
    const char *status = json_string_value(json_object_get(r, "status"));
    if (rc != 0 || status == NULL || strcmp(status, "completed") != 0) {
        const char *error = json_string_value(json_object_get(r, "error"));
        fprintf(stderr, "[%s] %s: %s\n", label, status ? status : "no result", error ? error : "");
        show_err(s, label, rc);
        json_decref(r);
        return NULL;
    }
    fprintf(stderr, "[%s] %.1f s, %s meter\n", label, jt_proc_now() - t0, meter);
    return r;
}
