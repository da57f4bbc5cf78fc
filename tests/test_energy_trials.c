/* test_energy_trials.c -- energy tests of trials, repetition modes, meters and calibration. */
#include "unit_main.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "candidate.h"
#include "energy_case.h"
#include "energy_core_watch.h"
#include "energy_job.h"
#include "energy_outcome.h"
#include "energy_worker.h"
#include "json_path.h"

/* Each case runs `jouletrace-worker` on the moving fake tree the way
 * tests/support/energy_case.h describes, and judges what the result says of its
 * trials, its repetition mode, its meter, or the calibration file. */

/* ---- cases: the job's trial parameters ------------------------------------------------ */

/* The number of measured trials in the result's trials[]. */
static size_t trial_count(const outcome_t *o)
{
    return json_array_size(json_object_get(o->json, "trials"));
}

/* qsort order of doubles, ascending. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Every trial has repeats_per_trial runs and lasted at least min_seconds
 * (25 % grace for one trial: the runs per trial come from autorange's
 * windows before the trials, and a loaded host's speed moves between them);
 * the median trial did in full. */
static bool expect_trial_length(env_t *e, const outcome_t *o, double min_seconds)
{
    double secs[64];
    size_t i, n = 0;
    json_t *t;
    long long repeats = (long long)num(o, "statistics.repeats_per_trial");
    json_array_foreach(json_object_get(o->json, "trials"), i, t)
    {
        double x = json_number_value(json_object_get(t, "seconds"));
        long long r = json_integer_value(json_object_get(t, "repeats"));
        if (n < sizeof secs / sizeof secs[0])
            secs[n++] = x;
        if (r != repeats)
            return flunk(e, "[%s] trial %zu has %lld runs, statistics.repeats_per_trial %lld",
                         o->label, i, r, repeats);
        if (!(x >= 0.75 * min_seconds))
            return flunk(e, "[%s] trial %zu lasted %.4f s (%lld runs), min_trial_seconds %.2f",
                         o->label, i, x, r, min_seconds);
    }
    qsort(secs, n, sizeof secs[0], cmp_double);
    double median = n == 0 ? 0 : (n % 2 ? secs[n / 2] : (secs[n / 2 - 1] + secs[n / 2]) / 2);
    fprintf(stderr, "[%s] %lld runs per trial, median trial %.4f s (min_trial_seconds %.2f)\n",
            o->label, repeats, median, min_seconds);
    if (!(median >= min_seconds))
        return flunk(e, "[%s] median trial %.4f s < min_trial_seconds %.2f", o->label, median,
                     min_seconds);
    return true;
}

/* A tiny target CV is never reached: exactly energy_measurement_trials,
 * after the requested warmup, each trial at least min_trial_seconds. */
static void trials_max_reached_body(env_t *e)
{
    const shape_t s = {4, 2, 0.5, 0.0001, NULL};
    outcome_t *o = ready_measure(e, "4 trials, cv 0.0001", burn_job(PLAIN_SRC, BURN_N / 2, &s));
    if (o == NULL)
        return;
    double trials = num(o, "statistics.trials"), warmup = num(o, "statistics.warmup_trials");
    const char *reason = str(o, "statistics.early_stop_reason");
    if (trials != 4 || trial_count(o) != 4 || warmup != 2)
        flunk(e, "statistics.trials %.0f, trials[] %zu, warmup_trials %.0f: expected 4, 4, 2",
              trials, trial_count(o), warmup);
    if (strstr(reason, "max_trials") == NULL)
        flunk(e, "early_stop_reason '%s' does not say the maximum was reached", reason);
    expect_trial_length(e, o, 0.5);
}

/* A huge target CV is met at once: stop after the minimum of 3 trials. */
static void trials_early_stop_body(env_t *e)
{
    const shape_t s = {10, 0, 0.3, 100.0, NULL};
    outcome_t *o = ready_measure(e, "10 trials, cv 100", burn_job(PLAIN_SRC, BURN_N / 2, &s));
    if (o == NULL)
        return;
    double trials = num(o, "statistics.trials");
    const char *reason = str(o, "statistics.early_stop_reason");
    if (trials != 3 || trial_count(o) != 3)
        flunk(e, "statistics.trials %.0f, trials[] %zu: expected an early stop at 3 of 10", trials,
              trial_count(o));
    if (strstr(reason, "cv") == NULL || strstr(reason, "max_trials") != NULL)
        flunk(e, "early_stop_reason '%s' does not give the CV target as the reason", reason);
}

#define WARMUPS 8
/* Warmup trials are run, not only echoed: WARMUPS trials of >= 0.3 s make the job at least
 * 80 % of their minimum longer than none; the rest of two jobs differs by up to 0.6 s here,
 * too much for 4 (+0.959 s seen against +0.96 s). */
static void warmup_trials_run_body(env_t *e)
{
    const shape_t s0 = {3, 0, 0.3, 100.0, NULL}, s8 = {3, WARMUPS, 0.3, 100.0, NULL};
    const double accepted = WARMUPS * 0.3 * 0.8;
    outcome_t *none, *some;
    char label[32];
    snprintf(label, sizeof label, "warmup %d", WARMUPS);
    if (!ready_measure_pair(e, "warmup 0", burn_job(PLAIN_SRC, BURN_N / 2, &s0), label,
                            burn_job(PLAIN_SRC, BURN_N / 2, &s8), &none, &some))
        return;
    double w0 = num(none, "statistics.warmup_trials"), w8 = num(some, "statistics.warmup_trials");
    double t0 = num(none, "processing_time_seconds"), t8 = num(some, "processing_time_seconds");
    fprintf(stderr, "processing time: warmup 0 %.3f s, warmup %d %.3f s (accepted >= +%.2f s)\n",
            t0, WARMUPS, t8, accepted);
    if (w0 != 0 || w8 != WARMUPS)
        flunk(e, "statistics.warmup_trials %.0f and %.0f, expected 0 and %d", w0, w8, WARMUPS);
    if (!(t8 - t0 >= accepted))
        flunk(e, "%d warmup trials of >= 0.3 s added only %.3f s (%.3f s -> %.3f s)", WARMUPS,
              t8 - t0, t0, t8);
}

/* min_trial_seconds sets the length of a trial: 4x longer, ~4x the runs. */
static void min_trial_seconds_scales_body(env_t *e)
{
    const shape_t short_s = {3, 0, 0.3, 100.0, NULL}, long_s = {3, 0, 1.2, 100.0, NULL};
    outcome_t *short_trials, *long_trials;
    if (!ready_measure_pair(e, "min 0.3 s", burn_job(PLAIN_SRC, BURN_N / 2, &short_s), "min 1.2 s",
                            burn_job(PLAIN_SRC, BURN_N / 2, &long_s), &short_trials,
                            &long_trials) ||
        !expect_trial_length(e, short_trials, 0.3) || !expect_trial_length(e, long_trials, 1.2))
        return;
    double r3 = num(short_trials, "statistics.repeats_per_trial");
    double r12 = num(long_trials, "statistics.repeats_per_trial");
    if (!(r12 >= 3 * r3))
        flunk(e, "runs per trial %.0f at 0.3 s and %.0f at 1.2 s: expected about 4x", r3, r12);
}

/* ---- cases: modes, meters, calibration ------------------------------------------------- */

/* same_process makes R calls in one process, says so, and for a function
 * without state costs about what a fresh process per run costs. */
static void same_process_mode_body(env_t *e)
{
    shape_t s = RATIO_SHAPE;
    s.mode = "same_process";
    outcome_t *fresh, *same;
    if (!ready_measure_pair(e, "fresh_process", burn_job(PLAIN_SRC, BURN_N, &RATIO_SHAPE),
                            "same_process", burn_job(PLAIN_SRC, BURN_N, &s), &fresh, &same))
        return;
    if (strcmp(str(fresh, "repetition_mode"), "fresh_process") != 0 ||
        strcmp(str(same, "repetition_mode"), "same_process") != 0)
        flunk(e, "repetition_mode '%s' and '%s', expected fresh_process and same_process",
              str(fresh, "repetition_mode"), str(same, "repetition_mode"));
    expect_ratio(e, "same_process / fresh_process, net J per run", energy(same), energy(fresh),
                 0.85, 1.15);
}

/* Without a calibration file: exit 3 and a reason naming the remedy. */
static void not_calibrated_body(env_t *e)
{
    if (!start_fake(e, PKG_ACTIVE_W, DRAM_ACTIVE_W))
        return;
    outcome_t *o = measure_with(e, "no calibration", burn_job(PLAIN_SRC, BURN_N / 10, &RATIO_SHAPE),
                                "rapl-sysfs", NULL);
    if (o && (o->exit_code != 3 || strstr(o->err, "not calibrated") == NULL ||
              strstr(o->err, "not found") == NULL || strstr(o->err, "calibrate`") == NULL))
        flunk(e,
              "exit %d, stderr '%s': expected exit 3 with 'not calibrated', the reason (not "
              "found) and the command to run",
              o->exit_code, o->err);
}

/* Counters that stop moving (here: the fake tree's writer is stopped) fail
 * the task as meter_stalled instead of passing zeros off as a measurement. */
static void meter_stalled_body(env_t *e)
{
    if (!ready(e))
        return;
    kill(e->fake.pid, SIGSTOP);
    outcome_t *o = measure_with(e, "stalled meter", burn_job(PLAIN_SRC, BURN_N / 10, &RATIO_SHAPE),
                                "rapl-sysfs", NULL);
    kill(e->fake.pid, SIGCONT);
    if (o == NULL)
        return;
    const char *status = str(o, "status"), *type = str(o, "error_type");
    if (o->exit_code != 1 || strcmp(status, "failed") != 0 || strcmp(type, "meter_stalled") != 0 ||
        strstr(str(o, "error"), "stuck") == NULL)
        flunk(e, "exit %d, status %s, error_type %s (%s): expected exit 1, failed, meter_stalled",
              o->exit_code, status, type, str(o, "error"));
}

/* The estimate meter needs no calibration and labels its numbers: one busy
 * core draws the model's active watts. */
static void estimate_meter_body(env_t *e)
{
    const char *extra[] = {"JOULETRACE_ESTIMATE_IDLE_WATTS", "10",
                           "JOULETRACE_ESTIMATE_ACTIVE_WATTS", "15", NULL};
    outcome_t *o = measure_with(e, "estimate", burn_job(PLAIN_SRC, 2 * BURN_N, &RATIO_SHAPE),
                                "estimate", extra);
    if (o == NULL)
        return;
    bool estimated =
        json_is_true(jt_json_at(o->json, "measurement_environment.energy_is_estimated"));
    if (o->exit_code != 0 || strcmp(str(o, "status"), "completed") != 0) {
        flunk(e, "exit %d, status %s: --meter estimate must work without calibration", o->exit_code,
              str(o, "status"));
        return;
    }
    if (strcmp(str(o, "measurement_environment.meter_type"), "estimate") != 0 || !estimated)
        flunk(e, "meter_type '%s', energy_is_estimated %s: expected estimate, true",
              str(o, "measurement_environment.meter_type"), estimated ? "true" : "not true");
    double p = num(o, "energy_metrics.power_consumption_watts");
    fprintf(stderr, "estimate: power %.3f W, model active 15 W (accepted +-10%%)\n", p);
    if (!(fabs(p - 15.0) <= 1.5))
        flunk(e, "estimate meter: power %.3f W, expected the model's 15 W +-10%%", p);
}

/* Calibration on a quiet core recovers the fake tree's idle power. */
static void calibrate_recovers_idle_body(env_t *e)
{
    if (!ready(e))
        return;
    json_error_t je;
    json_t *cal = json_load_file(e->cal, 0, &je);
    double idle = json_number_value(json_object_get(cal, "idle_power_watts"));
    double dram = json_number_value(jt_json_at(cal, "domains.dram.median_watts"));
    const char *type = json_string_value(json_object_get(cal, "meter_type"));
    const char *stamp = json_string_value(json_object_get(cal, "timestamp"));
    json_int_t core = json_integer_value(json_object_get(cal, "measurement_core"));
    json_int_t valid = json_integer_value(json_object_get(cal, "valid_until_days"));
    fprintf(stderr, "calibration: idle %.4f W, dram %.4f W, meter %s, core %lld, %s, %lld days\n",
            idle, dram, type ? type : "?", (long long)core, stamp ? stamp : "?", (long long)valid);
    bool ok = cal != NULL && idle >= PKG_IDLE_W * 0.99 && idle <= PKG_IDLE_W * 1.05 &&
              dram >= DRAM_IDLE_W * 0.99 && dram <= DRAM_IDLE_W * 1.05 && type &&
              strcmp(type, "rapl-sysfs") == 0 && core == MEASURE_CORE && valid == 7 && stamp &&
              stamp[0] != '\0' && stamp[strlen(stamp) - 1] == 'Z';
    if (!ok)
        flunk(e,
              "calibration file %s: idle %.4f W (fake %.1f W), dram %.4f W (fake %.1f W), meter "
              "%s, core %lld, timestamp %s, valid_until_days %lld",
              e->cal, idle, PKG_IDLE_W, dram, DRAM_IDLE_W, type ? type : "?", (long long)core,
              stamp ? stamp : "?", (long long)valid);
    json_decref(cal);
}

/* A busy loop pinned to the measurement core, until stop_spinner (attempt_end
 * stops it too); false (failure recorded) when it could not start. */
static bool start_spinner(env_t *e)
{
    pid_t pid = fork();
    if (pid < 0)
        return flunk(e, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (pin_to(0, MEASURE_CORE) != 0)
            _exit(1);
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    e->spinner = pid;
    return true;
}

/* Calibration refuses while the measurement core is busy. */
static void calibrate_refuses_busy_core_body(env_t *e)
{
    const char *args[] = {"calibrate",  "--seconds", "2",    "--meter",
                          "rapl-sysfs", "--out",     e->cal, NULL};
    if (!start_fake(e, PKG_ACTIVE_W, DRAM_ACTIVE_W) || !start_spinner(e))
        return;
    sleep_s(0.2);
    outcome_t *o = run_worker(e, "calibrate while busy", args, NULL);
    stop_spinner(e);
    if (o == NULL)
        return;
    bool written = access(e->cal, F_OK) == 0;
    fprintf(stderr, "calibrate while busy: exit %d, file %s, stderr %s", o->exit_code,
            written ? "written" : "absent", o->err);
    if (o->exit_code == 0 || strstr(o->err, "busy") == NULL || written)
        flunk(e,
              "calibrate with core %d busy: exit %d, file %s, stderr '%s': expected a refusal "
              "that says the core was busy, and no file",
              MEASURE_CORE, o->exit_code, written ? "written" : "absent", o->err);
}

/* Every case of this program, in the order of tests/energy.cmake. */
#define TRIALS_CASES(X)                                                                            \
    X(trials_max_reached)                                                                          \
    X(trials_early_stop)                                                                           \
    X(warmup_trials_run)                                                                           \
    X(min_trial_seconds_scales)                                                                    \
    X(same_process_mode)                                                                           \
    X(not_calibrated)                                                                              \
    X(meter_stalled)                                                                               \
    X(estimate_meter)                                                                              \
    X(calibrate_recovers_idle)                                                                     \
    X(calibrate_refuses_busy_core)

TRIALS_CASES(ENERGY_CASE)

static const struct CMUnitTest tests[] = {TRIALS_CASES(ENERGY_TEST)};

JT_UNIT_MAIN(tests)
