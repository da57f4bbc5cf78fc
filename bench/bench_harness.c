/* bench_harness.c -- the harness's own cost per run (fork to exit, output transfer, scrub).
 *
 * Measures a trivial job with the estimate meter through the real runner and
 * trial protocol, and prints the null candidate's wall time per run (the
 * harness overhead the trials subtract) for both repetition modes, with the
 * median and p99 over the null trials' per-run times. Usage: bench_harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "job_json.h"
#include "measurer.h"
#include "platform_floor.h"
#include "python_floor.h"
#include "runner_client.h"
#include "stats.h"

#define PYTHON_FLOOR_RUNS 200

static const char job_fmt[] =
    "{\"candidate_code\": \"def solve(x):\\n  return x\\n\","
    " \"test_cases\": [{\"inputs\": [1], \"expected_output\": 1}],"
    " \"energy_measurement_trials\": 15, \"warmup_trials\": 1, \"target_cv_percent\": 0.001,"
    " \"min_trial_seconds\": 0.3, \"repetition_mode\": \"%s\"}";

static int run_mode(const jt_config_t *cfg, jt_measurer_t *ms, const char *mode)
{
    char body[512];
    snprintf(body, sizeof body, job_fmt, mode);
    jt_job_t job;
    jt_job_init(&job);
    jt_error_t err;
    if (jt_job_from_json(&job, body, strlen(body), &err) != JT_OK) {
        fprintf(stderr, "job: %s\n", err.message);
        return -1;
    }
    jt_runner_t *r;
    jt_measurement_t m;
    jt_measurement_init(&m);
    jt_status_t s = jt_runner_spawn(cfg, &r, &err);
    if (s == JT_OK) {
        s = jt_measurer_process(ms, r, &job, NULL, NULL, &m, &err);
        jt_runner_destroy(r);
    }
    if (s != JT_OK || !m.completed) {
        fprintf(stderr, "%s: %s\n", mode, s != JT_OK ? err.message : m.error_message);
        jt_job_cleanup(&job);
        jt_measurement_cleanup(&m);
        return -1;
    }
    /* The candidate is itself a null function: its gross seconds per run are
     * the harness cost; the measured overhead is the median of the null trials. */
    double per_run[JT_MAX_TRIALS];
    for (size_t k = 0; k < m.n_trials; k++)
        per_run[k] = m.trials[k].seconds / (double)m.trials[k].repeats * 1e6;
    jt_stats_t st;
    jt_stats_compute(per_run, m.n_trials, &st);
    double sorted_max = st.max;
    printf("%-16s %8lu %8zu %14.1f %14.1f %14.1f\n", mode, m.repeats_per_trial, m.n_trials,
           m.harness_overhead_seconds_per_run * 1e6, st.median, sorted_max);
    jt_measurement_cleanup(&m);
    jt_job_cleanup(&job);
    return 0;
}

int main(void)
{
    jt_config_t cfg;
    jt_error_t err;
    if (jt_config_load(&cfg, &err) != JT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 2;
    }
    jt_log_setup("bench", JT_LOG_WARN);
    snprintf(cfg.calibration_path, sizeof cfg.calibration_path, "/nonexistent/calibration.json");
    jt_measurer_keep_off_core(jt_measurer_pick_core(&cfg));
    jt_measurer_t *ms;
    if (jt_measurer_open(&cfg, "estimate", &ms, &err) != JT_OK) {
        fprintf(stderr, "meter: %s\n", err.message);
        return 1;
    }
    printf("%-16s %8s %8s %14s %14s %14s\n", "mode", "runs/tr", "trials", "overhead_us",
           "null_med_us", "null_max_us");
    int rc = run_mode(&cfg, ms, "fresh_process") | run_mode(&cfg, ms, "same_process");
    printf("overhead_us: median per-run wall time of the interleaved null trials (subtracted);\n"
           "null_*: per-run time of the candidate trials (the candidate is a null function).\n"
           "target: fresh_process harness cost <= 1000 us per run\n");
    jt_floor_print(8);
    jt_python_floor_t py;
    if (jt_python_floor_measure(PYTHON_FLOOR_RUNS, &py) == 0)
        printf("# a bare Python run (fork of an initialised interpreter, trivial module, one call,"
               " exit; no sandbox): %.2f ms median, %ld copy-on-write faults\n",
               py.median_ms, py.median_faults);
    jt_measurer_close(ms);
    return rc ? 1 : 0;
}
