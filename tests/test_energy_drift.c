/* test_energy_drift.c -- energy checks while idle power drifts after the calibration.
 *
 * Each case runs on the moving fake tree with idle power that moves after the
 * calibration (tests/fake_rapl.c): package idle 40 W, +10 W for the busy
 * measurement core, dram 3 W, +1 W busy; STEP_AFTER_S seconds after the tree's start every
 * idle power steps up by 5 % (package 42 W, dram 3.15 W), then the package's
 * grows by 0.01 W per second. The calibration is taken before the step, so the
 * calibration's constant idle power is 2.15 W short during the trials: a
 * method that subtracts it charges 2.15 W x the window to the candidate,
 * one that measures idle power between the trials does not. The checks are
 * the "done when":
 *   (a) twice the work costs 1.9 .. 2.1 times the net energy (two jobs of each size);
 *   (b) a CPU-bound function's net power is the model's 10 W + 1 W within 5 %;
 *   (c) sleeping 50 ms is charged at most 5 % of 50 ms busy (11 W x 50 ms);
 *   (d) the result's quality names the drift (`baseline_drift`).
 * Judged on the result's medians (statistics.median: the median of net
 * energy per run, whether or not energy_metrics reports an upper bound);
 * the constant-baseline figure (quality.net_energy_constant_baseline_joules)
 * is printed beside them. The harness is tests/support/energy_case.h: a
 * case is repeated only when an attempt was disturbed.
 */
#include "unit_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "energy_case.h"
#include "energy_core_watch.h"
#include "energy_job.h"
#include "energy_outcome.h"
#include "energy_worker.h"
#include "json_path.h"

#define DRIFT_IDLE_W 40.0
#define DRIFT_ACTIVE_W 10.0
#define DRIFT_DRAM_IDLE_W 3.0
#define DRIFT_DRAM_ACTIVE_W 1.0
#define DRIFT_STEP_PERCENT 5.0
#define DRIFT_RAMP_WPS 0.01
/* The step comes this long after the tree's start: after a calibration of
 * 2 s and its speed probe, as a rule. When a calibration ends too late (the
 * machine is loaded), a fresh tree steps STEP_AFTER_S after the time that
 * calibration took. */
#define STEP_AFTER_S 6.0
#define STEP_MARGIN_S 0.3 /* the calibration must end this long before the step */
#define BUSY_W (DRIFT_ACTIVE_W + DRIFT_DRAM_ACTIVE_W) /* net power of a busy core */

/* Trials long enough for /proc/stat's 10 ms ticks (this VM has no
 * /proc/schedstat, so busy time comes in ticks): a tick is 2 % of a 0.5 s trial,
 * and the medians of 7 trials. All trials run (target CV 0.0001 %). */
static const shape_t DRIFT_SHAPE = {7, 1, 0.5, 0.0001, NULL};

/* (a) measures four jobs: 5 trials each. */
static const shape_t RATIO_DRIFT_SHAPE = {5, 1, 0.5, 0.0001, NULL};

/* A sleeping run is busy only a few ms, so a tick more or less is a large
 * share of its energy: 1 s trials, 11 of them, for (c). */
static const shape_t SLEEP_SHAPE = {11, 1, 1.0, 0.0001, NULL};

/* Start the drifting fake tree on e->rapl, stepping step_after_s seconds after
 * its start; false (failure recorded) if it did not start. */
static bool start_drifting_fake(env_t *e, double step_after_s)
{
    jt_fake_rapl_options_t o = jt_fake_rapl_defaults();
    o.core = MEASURE_CORE;
    o.idle_watts = DRIFT_IDLE_W;
    o.active_watts = DRIFT_ACTIVE_W;
    o.dram_idle_watts = DRIFT_DRAM_IDLE_W;
    o.dram_active_watts = DRIFT_DRAM_ACTIVE_W;
    o.max_range_uj = 50000000; /* 50 J: trials cross wraps */
    o.idle_step_percent = DRIFT_STEP_PERCENT;
    o.idle_step_after_s = step_after_s;
    o.idle_ramp_wps = DRIFT_RAMP_WPS;
    if (jt_fake_rapl_start(e->rapl, &o, &e->fake) != 0)
        return flunk(e, "fake_rapl did not start on %s", e->rapl);
    return true;
}

/* Seconds since the fake tree started, from its truth file; NAN if unreadable. */
static double tree_age(const env_t *e)
{
    jt_fake_truth_t t;
    for (int i = 0; i < 1000; i++) {
        if (jt_fake_truth_read(e->rapl, &t) == 0 && t.stable)
            return t.time - t.start;
        sleep_s(0.001);
    }
    return NAN;
}

/* The start of every case: a quiet measurement core, the drifting tree, a
 * calibration that ended before the step (a second try on a fresh tree with a
 * later step when the first ended too late), then a wait until the step is past.
 * False (failure recorded) otherwise. */
static bool drift_ready(env_t *e)
{
    double step = STEP_AFTER_S, age = NAN;
    for (int attempt = 1; attempt <= 2; attempt++) {
        if (e->fake.pid > 0 && jt_fake_rapl_stop(&e->fake) != 0)
            fprintf(stderr, "fake_rapl did not stop cleanly\n");
        e->fake.pid = 0;
        before_command(&e->watch); /* so that the calibration's own wait is short */
        if (!start_drifting_fake(e, step) || !calibrate(e))
            return false;
        age = tree_age(e);
        if (age < step - STEP_MARGIN_S)
            break;
        if (attempt == 2)
            return flunk(e,
                         "calibration ended %.2f s after the tree's start, past the step at "
                         "%.1f s",
                         age, step);
        fprintf(stderr,
                "calibration ended %.2f s after the tree's start, past the step at %.1f s\n", age,
                step);
        step = age + STEP_AFTER_S;
    }
    sleep_s(step + STEP_MARGIN_S - age);
    fprintf(stderr,
            "idle %.0f W (dram %.0f W) until %.1f s, then +%.0f %% and +%.2f W/s; calibration "
            "ended at %.2f s\n",
            DRIFT_IDLE_W, DRIFT_DRAM_IDLE_W, step, DRIFT_STEP_PERCENT, DRIFT_RAMP_WPS, age);
    return true;
}

/* drift_ready(), then measure a job that must complete; job is consumed either way. */
static outcome_t *drift_measure(env_t *e, const char *label, json_t *job)
{
    if (drift_ready(e))
        return measure_ok(e, label, job);
    json_decref(job);
    return NULL;
}

/* The median of net energy per run of the new method, statistics.median. */
static double median_net(const outcome_t *o)
{
    return num(o, "statistics.median");
}

/* The old method's figure beside it, NAN while the result has none. */
static double constant_net(const outcome_t *o)
{
    return num(o, "quality.net_energy_constant_baseline_joules");
}

/* One line per outcome: both methods and the quality verdict. A result
 * without `quality` comes from a worker of the old method: its median is then
 * the constant-baseline figure. */
static void print_methods(const outcome_t *o)
{
    bool local = jt_json_at(o->json, "quality") != NULL;
    fprintf(stderr,
            "[%s] net J per run: statistics.median %.5f (%s), headline %.5f%s, constant "
            "baseline %.5f; verdict %s, drift %.2f%%, calibration offset %.2f%%\n",
            o->label, median_net(o), local ? "local baseline" : "no quality: constant baseline",
            energy(o),
            json_is_true(jt_json_at(o->json, "energy_metrics.is_upper_bound")) ? " (upper bound)"
                                                                               : "",
            constant_net(o), str(o, "quality.verdict"), num(o, "quality.drift_percent"),
            num(o, "quality.calibration_offset_percent"));
}

/* (a) Twice the work costs twice the net energy per run. The core's speed on
 * this VM moves by several percent from one job to the next, as much as the
 * accepted band, so the jobs run in the order burn(N), burn(2N), burn(2N),
 * burn(N) and each size counts with the sum of its two: a steady change of
 * speed during the case weighs on both sizes alike. */
static void a_twice_the_work_body(env_t *e)
{
    static const char *const labels[4] = {"burn(N)", "burn(2N)", "burn(2N) again", "burn(N) again"};
    static const long work[4] = {BURN_N, 2 * BURN_N, 2 * BURN_N, BURN_N};
    outcome_t *o[4];
    for (int i = 0; i < 4; i++) {
        json_t *job = burn_job(PLAIN_SRC, work[i], &RATIO_DRIFT_SHAPE);
        o[i] = i == 0 ? drift_measure(e, labels[i], job) : measure_ok(e, labels[i], job);
        if (o[i] == NULL)
            return;
    }
    for (int i = 0; i < 4; i++)
        print_methods(o[i]);
    double one = median_net(o[0]) + median_net(o[3]), two = median_net(o[1]) + median_net(o[2]);
    fprintf(stderr, "constant baseline: burn(2N) / burn(N) = %.3f\n",
            (constant_net(o[1]) + constant_net(o[2])) / (constant_net(o[0]) + constant_net(o[3])));
    /* The energy can only follow the work as far as the core's time did: when this VM ran
     * 2x the work in a time outside 1.9-2.1x, the attempt is disturbed, not the meter. */
    double t_one = num(o[0], "energy_metrics.median_execution_time_seconds") +
                   num(o[3], "energy_metrics.median_execution_time_seconds");
    double t_two = num(o[1], "energy_metrics.median_execution_time_seconds") +
                   num(o[2], "energy_metrics.median_execution_time_seconds");
    fprintf(stderr, "time: burn(2N) / burn(N) = %.3f\n", t_two / t_one);
    if (!(t_two / t_one >= 1.9 && t_two / t_one <= 2.1))
        e->watch.work_off = true;
    expect_ratio(e, "burn(2N) / burn(N), net J per run, two jobs each", two, one, 1.9, 2.1);
}

/* (b) The net power of a CPU-bound function is the model's active power,
 * package and dram together (10 W + 1 W), within 5 %. */
static void b_cpu_power_body(env_t *e)
{
    outcome_t *o = drift_measure(e, "burn(2N)", burn_job(PLAIN_SRC, 2 * BURN_N, &DRIFT_SHAPE));
    if (o == NULL)
        return;
    print_methods(o);
    double p = num(o, "energy_metrics.power_consumption_watts");
    double secs = num(o, "energy_metrics.median_execution_time_seconds");
    double pkg = num(o, "energy_metrics.median_package_energy_joules");
    fprintf(stderr,
            "net power %.3f W, model %.1f W (accepted +-5%%); package alone %.3f W (model %.1f "
            "W); constant baseline %.3f W\n",
            p, BUSY_W, pkg / secs, DRIFT_ACTIVE_W, constant_net(o) / secs);
    if (!(fabs(p - BUSY_W) <= 0.05 * BUSY_W))
        flunk(e, "power_consumption_watts %.3f W, expected %.1f W +-5%%", p, BUSY_W);
}

/* (c) A function that sleeps 50 ms is charged at most 5 % of what 50 ms of
 * busy core costs (11 W x 50 ms = 0.55 J), either way of zero. */
static void c_sleep_is_free_body(env_t *e)
{
    static const char code[] = "import time\n"
                               "def solve(x):\n"
                               "    time.sleep(0.05)\n"
                               "    return x\n";
    json_t *job = job_new(code, &SLEEP_SHAPE);
    job_add(job, json_pack("[i]", 7), json_integer(7));
    outcome_t *o = drift_measure(e, "sleep 50 ms", job);
    if (o == NULL)
        return;
    print_methods(o);
    double busy = BUSY_W * 0.05, x = median_net(o);
    double secs = num(o, "energy_metrics.median_execution_time_seconds");
    fprintf(stderr,
            "sleep 50 ms: %.5f J per run = %+.2f%% of %.3f J (accepted +-5%%); constant baseline "
            "%.5f J = %+.2f%%; %.4f s per run\n",
            x, 100 * x / busy, busy, constant_net(o), 100 * constant_net(o) / busy, secs);
    if (!(secs >= 0.045 && secs <= 0.2))
        flunk(e, "sleep 50 ms: median execution time %.4f s per run, expected about 0.05 s", secs);
    if (!(fabs(x) <= 0.05 * busy))
        flunk(e, "sleep 50 ms: net energy per run %.5f J is %+.2f%% of %.3f J, outside +-5%%", x,
              100 * x / busy, busy);
}

/* Whether quality.verdict or one of quality.reasons[] names code. */
static bool quality_names(const outcome_t *o, const char *code)
{
    const char *verdict = json_string_value(jt_json_at(o->json, "quality.verdict"));
    if (verdict != NULL && strstr(verdict, code) != NULL)
        return true;
    size_t i;
    json_t *r;
    json_array_foreach(jt_json_at(o->json, "quality.reasons"), i, r)
    {
        char *text = json_dumps(r, JSON_ENCODE_ANY); /* a string or an object */
        bool hit = text != NULL && strstr(text, code) != NULL;
        free(text);
        if (hit)
            return true;
    }
    return false;
}

/* (d) The result says that idle power moved away from the calibration. */
static void d_quality_names_drift_body(env_t *e)
{
    outcome_t *o = drift_measure(e, "burn(N)", burn_job(PLAIN_SRC, BURN_N, &DRIFT_SHAPE));
    if (o == NULL)
        return;
    print_methods(o);
    json_t *reasons = jt_json_at(o->json, "quality.reasons");
    char *text = reasons ? json_dumps(reasons, JSON_COMPACT) : NULL;
    fprintf(stderr, "quality.verdict %s, quality.reasons %s\n", str(o, "quality.verdict"),
            text ? text : "(absent)");
    free(text);
    if (!quality_names(o, "baseline_drift"))
        flunk(e, "neither quality.verdict (%s) nor quality.reasons[] names baseline_drift",
              str(o, "quality.verdict"));
}

/* Every case of this program, in the order of tests/energy.cmake. */
#define DRIFT_CASES(X)                                                                             \
    X(a_twice_the_work)                                                                            \
    X(b_cpu_power)                                                                                 \
    X(c_sleep_is_free)                                                                             \
    X(d_quality_names_drift)

DRIFT_CASES(ENERGY_CASE)

static const struct CMUnitTest tests[] = {DRIFT_CASES(ENERGY_TEST)};

JT_UNIT_MAIN(tests)
