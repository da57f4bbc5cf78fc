/* bench_integrity.c -- net energy under idle drift: the truth, the constant and local baselines.
 *
 * Runs tests' fake_rapl on tmpfs (package idle 40 W, +10 W while the measurement
 * core is busy; dram 3 W, +1 W), calibrates against it with `jouletrace-worker
 * calibrate`, then lets idle power drift: --step-after seconds after the tree's start (after
 * the calibration) every idle power steps by --idle-step-percent (5), then the
 * package's grows by --idle-ramp-wps (0.01 W/s). It then measures six candidates with
 * `jouletrace-worker measure` (rapl-sysfs, --trials trials of at least
 * --min-trial-seconds): CPU-bound work 1x, 2x and 4x, a 50 ms sleep, work
 * plus the sleep, and a memory-bound copy. The three CPU-bound candidates are measured in
 * --rounds interleaved rounds (5) in rotating order (1x 2x 4x, 2x 4x 1x, 4x 1x 2x, then
 * again); their rows show the medians over the rounds, with a line per round below them.
 * The targets' ratios and net power are taken within each round (its candidates ran about a
 * minute apart), then their median over the rounds: the VM's host slows the vCPU by
 * 1.6-1.8x for stretches of 10 s to a whole round, and such a stretch over one candidate's
 * measurement moves its truth and its estimates alike, which a ratio across rounds would
 * count against the method. A line beside the targets gives the same ratios of the runs' own
 * time, in the jobs and in the references: the energy ratios follow the work's cost. For each
 * candidate it prints
 *   - the true net energy per run. The fake charges active watts x busy time
 *     of the measurement core, so the candidate's true net energy per run is
 *     (10 W + 1 W) x the CPU seconds of its own part of a run: the module and
 *     one call, in a process forked from an interpreter holding the compiled
 *     code, as in fresh_process mode (a warm call in a long-lived process is
 *     cheaper: caches and the specialising interpreter warm). A python3
 *     reference (bench_python: the runner's shared libpython, not the faster
 *     /usr/bin/python3) on the measurement core times such runs with
 *     time.process_time(), just before and just after the candidate's
 *     measurement (their mean; the ratio shows how much the core's speed moved
 *     meanwhile). This is independent of the worker's windows and of both
 *     baselines, whereas the tree's truth over a trial would have to be split
 *     between the candidate, the harness and the idle power, the very split
 *     under test. The bench checks the reference once against the truth: the
 *     busy energy the tree charged while a reference ran must match its CPU time;
 *   - the constant-baseline estimate: quality.net_energy_constant_baseline_joules
 *     (the calibration's idle watts subtracted, the old method). A result without
 *     `quality` comes from a worker of the old method, whose statistics.median is that figure;
 *   - the local-baseline estimate: statistics.median (the median of net energy per run with
 *     the idle power measured between the trials), and energy_metrics.median_total_energy_joules
 *     when it differs (an upper bound for an unresolved candidate); "n/a" when absent;
 * then the targets beside both methods (2x the work 1.9 .. 2.1x the energy;
 * net power within 5 % of 11 W; a 50 ms sleep charged at most 5 % of 50 ms busy),
 * and the estimate meter over --cv-runs runs (10): the CV of a ~10 ms CPU-bound function
 * (target: <= 5 % in at least 9 of 10, resolved in all), and the README's example (target:
 * the same resolution every time, no negative headline, no resolved headline with a CV in
 * the hundreds).
 * The floor printed is the tree's resolution per trial: 11 W x its step of busy time, the
 * 1 ms update period where the core's busy time is counted in nanoseconds (schedstat, the
 * root cpuacct), a 10 ms /proc/stat tick where only ticks are there.
 *
 * The stand (the tree, worker commands, the reference) is integrity_stand.c; the tables are
 * integrity_report.c.
 * Everything runs in a child process group; the parent waits and, when the bench
 * ends or gets SIGINT, SIGTERM or SIGHUP, kills that group (fake_rapl, workers and
 * python3; the sandboxes die with their worker) and removes the temporary
 * directory (a SIGKILL of the parent leaves the directory behind; the processes
 * die with it through their parent-death signals).
 *
 * Exit 0 when the local baseline and the estimate meter meet every target, 1
 * otherwise (also while the worker has no local baseline), 2 on bad usage.
 * Usage: bench_integrity [--idle-step-percent P] [--idle-ramp-wps W] [--step-after S]
 *                        [--trials N] [--min-trial-seconds S] [--work N] [--cv-runs N]
 *                        [--rounds N]
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_guard.h"
#include "candidate.h"
#include "cpu_busy.h"
#include "floor_table.h"
#include "integrity_report.h"
#include "integrity_stand.h"
#include "json_path.h"
#include "process_harness.h"
#include "temp_dir.h"

#define BURN_DEF                                                                                   \
    "def burn(n):\n"                                                                               \
    "    s = 0\n"                                                                                  \
    "    for i in range(n):\n"                                                                     \
    "        s = (s * 31 + i) & 0xFFFFFFFF\n"                                                      \
    "    return s\n"

/* ---- measuring ------------------------------------------------------------------------- */

/* Fill c's estimates from result r. A result with `quality` has both methods;
 * one without comes from a worker of the old method: its median is the
 * constant-baseline figure and there is no local one. */
static void read_estimates(candidate_t *c, const json_t *r)
{
    bool local = jt_json_at(r, "quality") != NULL;
    c->local_j = local ? jt_json_number_at(r, "statistics.median") : NAN;
    c->headline_j = local ? jt_json_number_at(r, "energy_metrics.median_total_energy_joules") : NAN;
    c->constant_j = local ? jt_json_number_at(r, "quality.net_energy_constant_baseline_joules")
                          : jt_json_number_at(r, "statistics.median");
    c->secs = jt_json_number_at(r, "energy_metrics.median_execution_time_seconds");
    c->repeats = jt_json_number_at(r, "statistics.repeats_per_trial");
}

/* Reference, measurement, reference for c (the first reference gives c->expected where it is
 * still NULL); 0 or -1. */
static int measure_candidate(jt_integrity_stand_t *s, candidate_t *c)
{
    if (jt_integrity_reference(s, c->code, c->args, &c->cpu[0], NULL,
                               c->expected ? NULL : &c->expected) != 0)
        return -1;
    json_t *job =
        json_pack("{s:s, s:[{s:o, s:O}], s:i, s:i, s:f, s:f}", "candidate_code", c->code,
                  "test_cases", "inputs", json_loads(c->args, 0, NULL), "expected_output",
                  c->expected, "energy_measurement_trials", s->opt.trials, "warmup_trials", 1,
                  "min_trial_seconds", s->opt.min_trial_s, "target_cv_percent", 0.0001);
    json_t *r = jt_integrity_measure(s, c->label, job, "rapl-sysfs", NULL);
    if (r == NULL || jt_integrity_reference(s, c->code, c->args, &c->cpu[1], NULL, NULL) != 0) {
        json_decref(r);
        return -1;
    }
    read_estimates(c, r);
    json_decref(r);
    c->true_j = BUSY_W * (c->cpu[0] + c->cpu[1]) / 2;
    double base = c->err_base_j > 0 ? c->err_base_j : c->true_j;
    c->err_constant = 100 * (c->constant_j - c->true_j) / base;
    c->err_local = 100 * (c->local_j - c->true_j) / base;
    fprintf(stderr, "[%s] true %.5f J/run, constant %.5f, local %.5f\n", c->label, c->true_j,
            c->constant_j, c->local_j);
    return 0;
}

/* The CPU-bound candidates c[CPU_1X .. CPU_4X] in s->opt.rounds rounds, round r in the order
 * that starts r places further on, into round[r][k]; then each of c's figures, errors
 * included, becomes the median of its rounds. 0 or -1. */
static int measure_rounds(jt_integrity_stand_t *s, candidate_t *c,
                          candidate_t round[MAX_ROUNDS][N_CPU])
{
    int n = s->opt.rounds;
    for (int r = 0; r < n; r++) {
        fprintf(stderr, "[round %d of %d]\n", r + 1, n);
        for (int j = 0; j < N_CPU; j++) {
            int k = (j + r) % N_CPU;
            candidate_t *m = &round[r][k];
            *m = c[CPU_1X + k]; /* shares c's expected output once the first reference set it */
            int rc = measure_candidate(s, m);
            if (c[CPU_1X + k].expected == NULL)
                c[CPU_1X + k].expected = m->expected; /* c holds it from here on */
            if (rc != 0)
                return -1;
        }
    }
    enum { FIGURES = 10 };
    for (int k = 0; k < N_CPU; k++) {
        double v[FIGURES][MAX_ROUNDS];
        for (int r = 0; r < n; r++) {
            const candidate_t *m = &round[r][k];
            double f[FIGURES] = {m->cpu[0],       m->cpu[1],     m->true_j, m->constant_j,
                                 m->local_j,      m->headline_j, m->secs,   m->repeats,
                                 m->err_constant, m->err_local};
            for (int i = 0; i < FIGURES; i++)
                v[i][r] = f[i];
        }
        candidate_t *t = &c[CPU_1X + k];
        double *out[FIGURES] = {&t->cpu[0],       &t->cpu[1],     &t->true_j, &t->constant_j,
                                &t->local_j,      &t->headline_j, &t->secs,   &t->repeats,
                                &t->err_constant, &t->err_local};
        for (int i = 0; i < FIGURES; i++)
            *out[i] = integrity_median(v[i], n);
    }
    return 0;
}

/* cv_runs measurements of job_text with the estimate meter into runs[]. Returns the runs
 * completed. */
static int estimate_runs(jt_integrity_stand_t *s, const char *label, const char *job_text,
                         estimate_run_t *runs)
{
    static const char *const extra[] = {"JOULETRACE_METER=estimate", NULL};
    int done = 0;
    for (int i = 0; i < s->opt.cv_runs; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s, estimate run %d", label, i + 1);
        json_t *r = jt_integrity_measure(s, what, json_loads(job_text, 0, NULL), "estimate", extra);
        json_t *resolved = r ? jt_json_at(r, "quality.net_energy_resolved") : NULL;
        const char *verdict = r ? json_string_value(jt_json_at(r, "quality.verdict")) : NULL;
        runs[i].cv = r ? jt_json_number_at(r, "statistics.cv_percent") : NAN;
        runs[i].headline =
            r ? jt_json_number_at(r, "energy_metrics.median_total_energy_joules") : NAN;
        runs[i].resolved = json_is_boolean(resolved) ? json_is_true(resolved) : -1;
        snprintf(runs[i].verdict, sizeof runs[i].verdict, "%s", verdict ? verdict : "");
        done += r != NULL;
        json_decref(r);
    }
    return done;
}

/* ---- the bench -------------------------------------------------------------------------- */

/* The candidates, work N for 1x. */
static void make_candidates(candidate_t *c, long n)
{
    static const char *const labels[N_CANDIDATES] = {
        "cpu 1x", "cpu 2x", "cpu 4x", "sleep 50 ms", "cpu 1x + sleep 50 ms", "memory-bound copy"};
    memset(c, 0, N_CANDIDATES * sizeof *c);
    for (int i = 0; i < N_CANDIDATES; i++)
        c[i].label = labels[i];
    for (int i = CPU_1X; i <= CPU_4X; i++) {
        snprintf(c[i].code, sizeof c[i].code, BURN_DEF "def solve(n):\n    return burn(n)\n");
        snprintf(c[i].args, sizeof c[i].args, "[%ld]", n << (i - CPU_1X));
    }
    snprintf(c[SLEEP].code, sizeof c[SLEEP].code,
             "import time\ndef solve(x):\n    time.sleep(%g)\n    return x\n", SLEEP_S);
    snprintf(c[SLEEP].args, sizeof c[SLEEP].args, "[7]");
    c[SLEEP].err_base_j = BUSY_W * SLEEP_S; /* its truth is near 0: errors of 50 ms busy */
    snprintf(c[CPU_SLEEP].code, sizeof c[CPU_SLEEP].code,
             "import time\n" BURN_DEF "def solve(n):\n    r = burn(n)\n    time.sleep(%g)\n"
             "    return r\n",
             SLEEP_S);
    snprintf(c[CPU_SLEEP].args, sizeof c[CPU_SLEEP].args, "[%ld]", n);
    /* 16 MiB copied 16 times between two buffers, past the caches: bandwidth and page faults */
    snprintf(c[MEMORY].code, sizeof c[MEMORY].code,
             "def solve(n):\n"
             "    src = bytearray(b'\\x5a') * n\n"
             "    dst = bytearray(n)\n"
             "    for _ in range(16):\n"
             "        dst[:] = src\n"
             "    return dst[n // 2] + len(dst)\n");
    snprintf(c[MEMORY].args, sizeof c[MEMORY].args, "[%d]", 16 << 20);
}

/* The README's example job. */
static const char README_JOB[] =
    "{\"candidate_code\": \"def solve(x):\\n  return x * x\\n\", \"function_name\": \"solve\","
    " \"test_cases\": [{\"test_id\": \"t1\", \"inputs\": [2], \"expected_output\": 4},"
    " {\"test_id\": \"t2\", \"inputs\": [7], \"expected_output\": 49}],"
    " \"energy_measurement_trials\": 3, \"timeout_seconds\": 20}";

/* Everything but the cleanup (main's parent does it): the tree, the calibration,
 * the candidates, the reference check, the estimate CVs, the tables. Exit code. */
static int bench_main(jt_integrity_stand_t *s)
{
    double load = jt_floor_table_load();
    if (jt_integrity_pin(s->other_core) != 0 || jt_integrity_calibrate_before_step(s) != 0)
        return 1;
    candidate_t c[N_CANDIDATES];
    static candidate_t round[MAX_ROUNDS][N_CPU];
    make_candidates(c, s->opt.work);
    if (measure_rounds(s, c, round) != 0)
        return 1;
    for (int i = CPU_4X + 1; i < N_CANDIDATES; i++)
        if (measure_candidate(s, &c[i]) != 0)
            return 1;
    double charged_j = NAN, cpu_j = NAN;
    if (jt_integrity_check_reference(s, c[CPU_1X].code, c[CPU_1X].args, &charged_j, &cpu_j) != 0)
        return 1;
    jt_fake_rapl_stop(&s->fake);

    /* the estimate meter: ~10 ms of CPU per run, and the README's example */
    double cpu_1x = (c[CPU_1X].cpu[0] + c[CPU_1X].cpu[1]) / 2;
    long n10 = (long)((double)s->opt.work * 0.010 / cpu_1x);
    n10 = n10 < 1000 ? 1000 : n10;
    json_t *job10 =
        json_pack("{s:s, s:[{s:[I], s:I}]}", "candidate_code", BURN_SOLVE_SRC, "test_cases",
                  "inputs", (json_int_t)n10, "expected_output", (json_int_t)jt_burn_expected(n10));
    char *job10_text = json_dumps(job10, JSON_COMPACT);
    json_decref(job10);
    estimate_run_t run10[MAX_CV_RUNS], run_readme[MAX_CV_RUNS];
    for (int i = 0; i < s->opt.cv_runs; i++)
        run10[i] = (estimate_run_t){.cv = NAN, .headline = NAN, .resolved = -1};
    if (job10_text != NULL)
        estimate_runs(s, "burn ~10 ms", job10_text, run10);
    estimate_runs(s, "README example", README_JOB, run_readme);
    free(job10_text);

    bool local = !isnan(c[CPU_1X].local_j);
    printf("bench_integrity: net energy per run while idle power drifts (fake_rapl, measurement "
           "core %d)\n",
           s->core);
    printf("# tree: package %.0f W idle, +%.0f W busy; dram %.0f W, +%.0f W; %.1f s after its "
           "start (after the calibration) idle %+.1f %%, then package %+.3f W/s\n",
           JT_STAND_IDLE_W, JT_STAND_ACTIVE_W, JT_STAND_DRAM_IDLE_W, JT_STAND_DRAM_ACTIVE_W,
           s->step_at, s->opt.step_percent, s->opt.ramp_wps);
    printf("# jobs: %d measured trials of >= %.2f s, 1 warmup; this worker's method: %s\n",
           s->opt.trials, s->opt.min_trial_s,
           local ? "local baseline (quality present)"
                 : "constant baseline only (no quality object: local n/a)");
    jt_cpu_busy_t busy; /* the source the tree counts the core's busy time from */
    jt_error_t err;
    bool ticks = jt_cpu_busy_init(&busy, s->core, NULL, &err) != JT_OK ||
                 busy.source == JT_CPU_BUSY_PROC_STAT;
    double step_s = ticks ? TICK_S : TREE_STEP_S;
    printf("# true J = (%.0f W + %.0f W) x CPU s of a forked run (python3 time.process_time() on "
           "core %d, before/after);\n#   err in %% of true J (sleep: of 50 ms busy, %.2f J); floor "
           "J/run = the tree's resolution, %.0f ms of busy time per trial (%s)\n",
           JT_STAND_ACTIVE_W, JT_STAND_DRAM_ACTIVE_W, s->core, BUSY_W * SLEEP_S, step_s * 1e3,
           ticks ? "a /proc/stat tick" : "its update period; busy time in ns");
    integrity_print_candidates(c, step_s);
    integrity_print_rounds(round, s->opt.rounds);
    printf("# reference check: while a cpu 1x reference ran, the tree charged %.4f J busy "
           "(package minus its idle model); %.0f W x its CPU s = %.4f J (ratio %.3f)\n",
           charged_j, JT_STAND_ACTIVE_W, cpu_j, charged_j / cpu_j);
    bool ok = integrity_print_targets(c, round, s->opt.rounds);
    printf("\n%-40s %8s %8s %12s %12s %s\n", "estimate meter: cv_percent of N runs", "median",
           "max", "<= 5 %", "target", "verdict");
    char label[64];
    snprintf(label, sizeof label, "burn(%ld), ~10 ms CPU", n10);
    ok &= integrity_cv_row(label, run10, s->opt.cv_runs);
    ok &= integrity_readme_row("README example (solve(x) = x * x)", run_readme, s->opt.cv_runs);
    jt_floor_table_print_load(load);
    for (int i = 0; i < N_CANDIDATES; i++)
        json_decref(c[i].expected);
    return ok ? 0 : 1;
}

/* jt_bench_guard_run's body: the bench in its own process group. */
static int guarded_main(void *arg)
{
    return bench_main(arg);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_integrity [--idle-step-percent P] [--idle-ramp-wps W] "
                    "[--step-after S]\n"
                    "       [--trials N] [--min-trial-seconds S] [--work N] [--cv-runs N]\n"
                    "       [--rounds N]\n");
    exit(2);
}

static double parse_num(const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "bench_integrity: bad number \"%s\"\n", s);
        usage();
    }
    return v;
}

static jt_integrity_options_t parse_options(int argc, char **argv)
{
    jt_integrity_options_t o = {.step_percent = 5,
                                .ramp_wps = 0.01,
                                .step_after_s = 6,
                                .min_trial_s = 0.5,
                                .trials = 9,
                                .cv_runs = 10,
                                .rounds = 5,
                                .work = 1000000};
    static const struct option opts[] = {
        {"idle-step-percent", required_argument, NULL, 'P'},
        {"idle-ramp-wps", required_argument, NULL, 'W'},
        {"step-after", required_argument, NULL, 'S'},
        {"trials", required_argument, NULL, 't'},
        {"min-trial-seconds", required_argument, NULL, 'm'},
        {"work", required_argument, NULL, 'n'},
        {"cv-runs", required_argument, NULL, 'c'},
        {"rounds", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'P':
            o.step_percent = parse_num(optarg, -100, 1000);
            break;
        case 'W':
            o.ramp_wps = parse_num(optarg, 0, 100);
            break;
        case 'S':
            o.step_after_s = parse_num(optarg, 1, 600);
            break;
        case 't':
            o.trials = (int)parse_num(optarg, 1, 50);
            break;
        case 'm':
            o.min_trial_s = parse_num(optarg, 0, 10);
            break;
        case 'n':
            o.work = (long)parse_num(optarg, 1000, 1e8);
            break;
        case 'c':
            o.cv_runs = (int)parse_num(optarg, 1, MAX_CV_RUNS);
            break;
        case 'r':
            o.rounds = (int)parse_num(optarg, 1, MAX_ROUNDS);
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    return o;
}

int main(int argc, char **argv)
{
    jt_integrity_stand_t stand;
    memset(&stand, 0, sizeof stand);
    stand.opt = parse_options(argc, argv);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    stand.core = cores > 1 ? (int)cores - 1 : 0;
    stand.other_core = 0;
    if (jt_temp_dir_make(stand.dir, sizeof stand.dir, "jt-integrity") != 0) {
        fprintf(stderr, "bench_integrity: temporary directory %s: %s\n", stand.dir,
                strerror(errno));
        return 1;
    }
    if (jt_integrity_stand_init(&stand) != 0) {
        jt_temp_dir_remove(stand.dir);
        return 1;
    }
    /* fake_rapl, the worker, python3: killed with the group, the directory removed */
    return jt_bench_guard_run(stand.dir, guarded_main, &stand);
}
