/* energy_harness.h -- test helper for the energy tests: fake tree, worker runs, retries. */
/*
 * Shared by test_energy_e2e.c and test_energy_trials.c. Include once, after
 * unit_main.h (static functions, cmocka's fail_msg). Every function runs on
 * the test's main thread. Each function here is used by both programs (an
 * unused static function is an error under JT_WERROR); a helper that only
 * one program needs lives in that program.
 *
 * Every case (argv[1]) is one ctest entry (tests/energy.cmake): it starts
 * fake_rapl on a fresh tmpfs root, driven by the busy time of the measurement
 * core, calibrates against it, and runs `jouletrace-worker measure` jobs with
 * the real runner, sandbox and trials. The test process, fake_rapl and the
 * worker stay on VALIDATE_CORE; only the sandbox runs on MEASURE_CORE. The
 * judged numbers are the result's medians.
 *
 * Anything else busy on the measurement core is charged as the candidate's
 * work, so each command waits for a quiet core and is watched
 * (energy_core_watch.h). A failed case is repeated (MAX_ATTEMPTS in all)
 * only when that attempt was disturbed; a failure on an undisturbed attempt
 * is final. */

#ifndef JT_TESTS_ENERGY_HARNESS_H
#define JT_TESTS_ENERGY_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "energy_core_watch.h"
#include "fake_rapl.h"
#include "fake_tree.h"

#define VALIDATE_CORE 0          /* the test, fake_rapl and the worker; never watched */
#define OUT_MAX (4u << 20)       /* stdout kept (a result is far smaller) */
#define ERR_TAIL (16u << 10)     /* stderr: the last bytes are kept */
#define JSON_TAIL_SHOWN 1500u    /* bytes of stdout shown on a failure */
#define COMMAND_DEADLINE_S 150.0 /* a worker command is killed after this */
#define MAX_OUTCOMES 10
#define MAX_ATTEMPTS 3 /* a failed attempt is repeated only when it was disturbed */

/* CPU work of one plain call: about 50-100 ms of Python on a current core,
 * so that a run's fork and exit (several ms here) stay small beside it. */
#define BURN_N 1000000L

/* Idle and active watts of the fake tree unless a case says otherwise. */
#define PKG_IDLE_W 10.0
#define PKG_ACTIVE_W 20.0
#define DRAM_IDLE_W 2.0
#define DRAM_ACTIVE_W 3.0

/* The candidates' shared work is BURN_SRC (energy_core_watch.h: the speed
 * probe runs it too). */
static const char PLAIN_SRC[] = BURN_SRC "def solve(n):\n"
                                         "    return burn(n)\n";

/* One finished worker command. */
typedef struct {
    char label[64];
    int exit_code; /* -1 when killed by a signal */
    char *out;     /* stdout, NUL-terminated, at most OUT_MAX bytes kept */
    size_t out_len, out_total;
    char err[ERR_TAIL + 1]; /* the tail of stderr */
    size_t err_len;
    double wall;
    long samples, foreign; /* scans of the measurement core; those that saw foreign tasks */
    json_t *json;          /* parsed stdout, NULL if none */
} outcome_t;

/* State of one case (one attempt at a time). */
typedef struct {
    char dir[128];     /* tmpfs directory of the attempt */
    char rapl[192];    /* the fake powercap root */
    char cal[192];     /* the calibration file */
    char sandbox[192]; /* JOULETRACE_SANDBOX_DIR */
    char job[192];     /* the job file of the last measure */
    jt_fake_rapl_t fake;
    pid_t spinner; /* a busy loop on the measurement core, 0 when none */
    outcome_t *outcomes[MAX_OUTCOMES];
    size_t n_outcomes;
    core_watch_t watch; /* what the attempt saw of the measurement core */
    bool failed;
    char failure[2048]; /* the first failed check */
} env_t;

/* What burn(n) of BURN_SRC returns. */
static long long burn_expected(long n)
{
    uint32_t s = 0;
    for (long i = 0; i < n; i++)
        s = s * 31u + (uint32_t)i;
    return (long long)s;
}

/* Record the first failed check of the attempt; always returns false. */
static bool __attribute__((format(printf, 2, 3))) flunk(env_t *e, const char *fmt, ...)
{
    char msg[sizeof e->failure];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "CHECK FAILED: %s\n", msg);
    if (!e->failed) {
        e->failed = true;
        snprintf(e->failure, sizeof e->failure, "%s", msg);
    }
    return false;
}

/* ---- the result JSON ------------------------------------------------------------------ */

/* The value at a dotted path (array indexes allowed) under root, NULL when absent. */
static json_t *jpath(json_t *root, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    for (char *save = NULL, *key = strtok_r(buf, ".", &save); key && cur;
         key = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(key, NULL, 10))
                                 : json_object_get(cur, key);
    return cur;
}

/* A number of the result by dotted path (array indexes allowed), NAN when absent. */
static double num(const outcome_t *o, const char *path)
{
    json_t *v = jpath(o->json, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A string of the result by dotted path, "(absent)" when there is none. */
static const char *str(const outcome_t *o, const char *path)
{
    const char *s = json_string_value(jpath(o->json, path));
    return s ? s : "(absent)";
}

/* The judged figure, energy_metrics.median_total_energy_joules (net J per run);
 * NAN when absent. */
static double energy(const outcome_t *o)
{
    return num(o, "energy_metrics.median_total_energy_joules");
}

/* The numbers of one command, printed for every command. */
static void print_summary(const outcome_t *o)
{
    fprintf(stderr, "[%s] exit %d, %.1f s, foreign load on core %d in %ld of %ld scans", o->label,
            o->exit_code, o->wall, MEASURE_CORE, o->foreign, o->samples);
    if (o->json)
        fprintf(stderr, ", status %s", str(o, "status"));
    if (jpath(o->json, "error_type"))
        fprintf(stderr, " (%s: %.300s)", str(o, "error_type"), str(o, "error"));
    fputc('\n', stderr);
    if (!jpath(o->json, "energy_metrics"))
        return;
    fprintf(stderr,
            "  per run: total %.5f J (package %.5f, ram %.5f), %.5f s, power %.3f W; mode %s\n"
            "  statistics: trials %.0f, warmup %.0f, repeats %.0f, median %.5f, cv %.2f%%, "
            "stop '%s'\n"
            "  harness overhead %.5f J/run (package) %.5f s/run; meter %s, idle %.3f W\n",
            energy(o), num(o, "energy_metrics.median_package_energy_joules"),
            num(o, "energy_metrics.median_ram_energy_joules"),
            num(o, "energy_metrics.median_execution_time_seconds"),
            num(o, "energy_metrics.power_consumption_watts"), str(o, "repetition_mode"),
            num(o, "statistics.trials"), num(o, "statistics.warmup_trials"),
            num(o, "statistics.repeats_per_trial"), num(o, "statistics.median"),
            num(o, "statistics.cv_percent"), str(o, "statistics.early_stop_reason"),
            num(o, "harness_overhead_joules_per_run.package"),
            num(o, "harness_overhead_seconds_per_run"),
            str(o, "measurement_environment.meter_type"),
            num(o, "measurement_environment.calibration.idle_power_watts"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o->json, "trials"), i, t)
    {
        fprintf(stderr,
                "  trial %zu: %lld runs, %.4f s, gross package %.4f J, net %.5f J/run, "
                "%.5f s/run, %.3f W%s\n",
                i, (long long)json_integer_value(json_object_get(t, "repeats")),
                json_number_value(json_object_get(t, "seconds")),
                json_number_value(jpath(t, "gross_joules.package")),
                json_number_value(json_object_get(t, "net_total_joules_per_run")),
                json_number_value(json_object_get(t, "net_seconds_per_run")),
                json_number_value(json_object_get(t, "net_power_watts")),
                json_is_true(json_object_get(t, "outlier")) ? " (outlier)" : "");
    }
}

/* The last JSON_TAIL_SHOWN bytes of a command's stdout and its stderr tail. */
static void print_tails(const outcome_t *o)
{
    size_t shown = o->out_len < JSON_TAIL_SHOWN ? o->out_len : JSON_TAIL_SHOWN;
    fprintf(stderr, "---- [%s] stdout: %zu bytes, last %zu ----\n%.*s\n", o->label, o->out_total,
            shown, (int)shown, o->out + o->out_len - shown);
    fprintf(stderr, "---- [%s] stderr tail ----\n%.*s\n---- end [%s] ----\n", o->label,
            (int)o->err_len, o->err, o->label);
}

/* ---- processes ------------------------------------------------------------------------ */

/* Free an outcome and what it holds; NULL is allowed. */
static void outcome_free(outcome_t *o)
{
    if (o == NULL)
        return;
    json_decref(o->json);
    free(o->out);
    free(o);
}

/* Append stdout bytes, keeping the first OUT_MAX; out_total counts them all. */
static void keep_out(outcome_t *o, const char *data, size_t n)
{
    o->out_total += n;
    size_t k = n < OUT_MAX - o->out_len ? n : OUT_MAX - o->out_len;
    memcpy(o->out + o->out_len, data, k);
    o->out_len += k;
    o->out[o->out_len] = '\0';
}

/* Append stderr bytes, keeping the last ERR_TAIL. */
static void keep_err(outcome_t *o, const char *data, size_t n)
{
    if (n >= ERR_TAIL) {
        data += n - ERR_TAIL;
        n = ERR_TAIL;
    }
    if (o->err_len + n > ERR_TAIL) {
        size_t drop = o->err_len + n - ERR_TAIL;
        memmove(o->err, o->err + drop, o->err_len - drop);
        o->err_len -= drop;
    }
    memcpy(o->err + o->err_len, data, n);
    o->err_len += n;
    o->err[o->err_len] = '\0';
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

/* Run the worker with args (NULL-terminated, after the program name),
 * capturing its output and watching the measurement core meanwhile. The
 * outcome belongs to the attempt; NULL (failure recorded) when it could not run. */
static outcome_t *run_worker(env_t *e, const char *label, const char *const *args,
                             const char *const *extra)
{
    if (e->n_outcomes == MAX_OUTCOMES) {
        flunk(e, "too many worker commands in one case");
        return NULL;
    }
    outcome_t *o = calloc(1, sizeof *o);
    if (o == NULL || (o->out = malloc(OUT_MAX + 1)) == NULL) {
        free(o);
        flunk(e, "out of memory");
        return NULL;
    }
    o->out[0] = '\0';
    o->exit_code = -1;
    snprintf(o->label, sizeof o->label, "%s", label);
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
        struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
        int r = poll(p, 2, 20);
        if (exited && r == 0)
            break; /* exited, and nothing more to read: a descendant may hold the pipes */
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !p[i].revents)
                continue;
            char buf[65536];
            ssize_t got = read(fds[i], buf, sizeof buf);
            if (got > 0) {
                if (i == 0)
                    keep_out(o, buf, (size_t)got);
                else
                    keep_err(o, buf, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
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

/* Kill and reap the busy loop of start_spinner, if one runs. */
static void stop_spinner(env_t *e)
{
    if (e->spinner > 0) {
        kill(e->spinner, SIGKILL);
        waitpid(e->spinner, NULL, 0);
        e->spinner = 0;
    }
}

/* ---- the fake tree and calibration ----------------------------------------------------- */

/* Start fake_rapl on e->rapl, charging MEASURE_CORE's busy time at the given
 * active watts (idle: PKG_IDLE_W, DRAM_IDLE_W); false (failure recorded) if it
 * did not start. */
static bool start_fake(env_t *e, double active_watts, double dram_active_watts)
{
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.core = MEASURE_CORE;
    o.idle_watts = PKG_IDLE_W;
    o.active_watts = active_watts;
    o.dram_idle_watts = DRAM_IDLE_W;
    o.dram_active_watts = dram_active_watts;
    o.max_range_uj = 50000000; /* 50 J: trials cross wraps */
    if (jt_fake_rapl_start(e->rapl, &o, &e->fake) != 0)
        return flunk(e, "fake_rapl did not start on %s", e->rapl);
    return true;
}

/* Calibrate; a refusal because of a busy core or a noisy baseline is retried
 * twice (the load may belong to another program on this machine). False
 * (failure recorded) when the last try did not exit 0. */
static bool calibrate(env_t *e)
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

/* The usual start of a case: fake tree with the default watts, calibrated;
 * false (failure recorded) otherwise. */
static bool ready(env_t *e)
{
    return start_fake(e, PKG_ACTIVE_W, DRAM_ACTIVE_W) && calibrate(e);
}

/* ---- jobs ---------------------------------------------------------------------------- */

/* The trial parameters of a job. */
typedef struct {
    int trials;
    int warmup;
    double min_trial_seconds;
    double target_cv;
    const char *mode; /* NULL: the default (fresh_process) */
} shape_t;

/* Ratios are judged on 5 trials of at least 0.3 s, all of them measured. */
static const shape_t RATIO_SHAPE = {5, 1, 0.3, 0.0001, NULL};

/* A job of `code` in shape s with no test cases yet; the caller owns it. */
static json_t *job_new(const char *code, const shape_t *s)
{
    json_t *job =
        json_pack("{s:s, s:[], s:i, s:i, s:f, s:f}", "candidate_code", code, "test_cases",
                  "energy_measurement_trials", s->trials, "warmup_trials", s->warmup,
                  "min_trial_seconds", s->min_trial_seconds, "target_cv_percent", s->target_cv);
    if (job && s->mode)
        json_object_set_new(job, "repetition_mode", json_string(s->mode));
    return job;
}

/* Append a test case to job; inputs and expected are consumed. */
static void job_add(json_t *job, json_t *inputs, json_t *expected)
{
    json_array_append_new(json_object_get(job, "test_cases"),
                          json_pack("{s:o, s:o}", "inputs", inputs, "expected_output", expected));
}

/* A job of one test case: solve(n) == burn(n). */
static json_t *burn_job(const char *code, long n, const shape_t *s)
{
    json_t *job = job_new(code, s);
    job_add(job, json_pack("[I]", (json_int_t)n), json_integer(burn_expected(n)));
    return job;
}

/* Run `measure --meter METER` on job (consumed); prints the summary. NULL
 * (failure recorded) when the worker could not run. */
static outcome_t *measure_with(env_t *e, const char *label, json_t *job, const char *meter,
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

/* Measure a job that must complete; NULL (failure recorded) otherwise. */
static outcome_t *measure_ok(env_t *e, const char *label, json_t *job)
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

/* x / ref within lo .. hi. */
static bool expect_ratio(env_t *e, const char *what, double x, double ref, double lo, double hi)
{
    double r = x / ref;
    fprintf(stderr, "%s: %.5f / %.5f = %.3f (accepted %.3f .. %.3f)\n", what, x, ref, r, lo, hi);
    if (!(ref > 0) || !(r >= lo && r <= hi))
        return flunk(e, "%s: %.5f / %.5f = %.3f, outside %.3f .. %.3f", what, x, ref, r, lo, hi);
    return true;
}

/* The usual case: ready(), then measure a job that must complete. job is
 * consumed either way; NULL (failure recorded) unless it completed. */
static outcome_t *ready_measure(env_t *e, const char *label, json_t *job)
{
    if (ready(e))
        return measure_ok(e, label, job);
    json_decref(job);
    return NULL;
}

/* A comparison: ready(), job a, then job b only once a completed. Both jobs
 * are consumed either way. True when both completed, with *a_out and *b_out
 * set (the outcomes belong to the attempt); false (failure recorded), the
 * outputs untouched, otherwise. */
static bool ready_measure_pair(env_t *e, const char *label_a, json_t *job_a, const char *label_b,
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

/* ---- attempts -------------------------------------------------------------------------- */

/* Stop what the attempt started and remove its files. */
static void attempt_end(env_t *e)
{
    stop_spinner(e);
    if (e->fake.pid > 0 && jt_fake_rapl_stop(&e->fake) != 0)
        fprintf(stderr, "fake_rapl did not stop cleanly\n");
    e->fake.pid = 0;
    for (size_t i = 0; i < e->n_outcomes; i++)
        outcome_free(e->outcomes[i]);
    e->n_outcomes = 0;
    if (e->dir[0] != '\0') {
        char ready_file[300];
        snprintf(ready_file, sizeof ready_file, "%s.ready", e->rapl);
        unlink(ready_file);
        jt_fake_tree_remove(e->dir);
        e->dir[0] = '\0';
    }
}

/* Start an attempt: no failure, nothing watched yet, and a fresh tmpfs
 * directory with the fake root and the sandbox directory; false (failure
 * recorded) when the directories could not be made. */
static bool attempt_begin(env_t *e)
{
    e->failed = false;
    e->failure[0] = '\0';
    core_watch_init(&e->watch);
    if (jt_fake_tempdir(e->dir, sizeof e->dir) != 0) {
        e->dir[0] = '\0';
        return flunk(e, "cannot make a temporary directory");
    }
    snprintf(e->rapl, sizeof e->rapl, "%s/rapl", e->dir);
    snprintf(e->cal, sizeof e->cal, "%s/cal.json", e->dir);
    snprintf(e->sandbox, sizeof e->sandbox, "%s/sandbox", e->dir);
    snprintf(e->job, sizeof e->job, "%s/job.json", e->dir);
    if (mkdir(e->rapl, 0755) != 0 || mkdir(e->sandbox, 0755) != 0)
        return flunk(e, "mkdir in %s: %s", e->dir, strerror(errno));
    return true;
}

/* Run a case body. A failed attempt is repeated (MAX_ATTEMPTS in all) only
 * when it was disturbed; the failure shows every command's numbers and JSON
 * tail, and what was seen of the machine. */
static void run_case(void **state, void (*body)(env_t *))
{
    env_t *e = *state;
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        char why[256];
        if (attempt_begin(e))
            body(e);
        if (!e->failed) {
            print_environment(&e->watch);
            attempt_end(e);
            return;
        }
        bool again = disturbed(&e->watch, why, sizeof why) && attempt < MAX_ATTEMPTS;
        fprintf(stderr, "==== attempt %d failed: %s\n", attempt, e->failure);
        for (size_t i = 0; i < e->n_outcomes; i++) {
            print_summary(e->outcomes[i]);
            print_tails(e->outcomes[i]);
        }
        print_environment(&e->watch);
        attempt_end(e);
        if (again) {
            fprintf(stderr, "==== attempt %d was disturbed (%s): measuring again\n", attempt, why);
            continue;
        }
        fail_msg("%s (attempt %d; %s)", e->failure, attempt, why);
    }
}

/* cmocka setup: a zeroed env_t, and this process pinned to VALIDATE_CORE. */
static int setup(void **state)
{
    env_t *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -1;
    /* this process, fake_rapl and the worker live on the validate core */
    if (pin_to(0, VALIDATE_CORE) != 0) {
        fprintf(stderr, "sched_setaffinity(core %d): %s\n", VALIDATE_CORE, strerror(errno));
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

/* cmocka teardown: end what the last attempt left and free the env_t. */
static int teardown(void **state)
{
    env_t *e = *state;
    attempt_end(e);
    free(e);
    return 0;
}

/* One cmocka case per body: name(state) runs name_body through run_case. */
#define ENERGY_CASE(name)                                                                          \
    static void name(void **state)                                                                 \
    {                                                                                              \
        run_case(state, name##_body);                                                              \
    }

/* Its entry in the program's cmocka table, comma included: a fresh env_t per
 * case. A program lists its cases once, as X(name) lines of one macro (E2E_CASES):
 * E2E_CASES(ENERGY_CASE) defines them, {E2E_CASES(ENERGY_TEST)} is the table. */
#define ENERGY_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown),

#endif
