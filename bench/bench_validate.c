/* bench_validate.c -- gate latency through the sandbox beside the bare forked-Python run of a job.
 *
 * Validates a trivial job (the seed README's square example: solve(2) == 4,
 * solve(7) == 49) through one jouletrace-runner, back to back (the next job
 * arrives the moment the last one ended, so the runner's preparation of the
 * next confined child competes with it) and paced (a 20 ms pause before each
 * job, as when jobs arrive one at a time: the next child is ready).
 *
 * The floor is the bare forked-Python run of the same invocation: this
 * process initialises an interpreter as jouletrace-runner does (its settings,
 * its imports, the heap frozen), and each floor run forks it, executes the
 * job's module, calls solve(2) and solve(7), checks the results and leaves
 * with _exit; the parent times fork to reaped. The runs are pinned to the
 * gate's core (JOULETRACE_VALIDATE_CORE). This is the least any gate built
 * on a pre-initialised interpreter can cost: the same code, the same calls
 * and the same fork, copy-on-write faults, exit and wait, with no sandbox
 * and no protocol. It is fair to both sides: the process forked is the size
 * of jouletrace-runner (both about 11 MB resident, 4.3 MB of it anonymous,
 * with the same interpreter state), so a fork costs what the runner's does,
 * and all the gate adds (confinement, pipes, protocol) is what the ratio
 * shows. A gate job is at least two such process lifetimes (the confined
 * sandbox child and its run) plus the protocol, hence a target of 6.0x
 * (issue 9) rather than the harness's 3.0x.
 * "python3 per job" (start /usr/bin/python3 -I -S per job, the naive gate)
 * is printed for comparison only: it pays for interpreter start-up, which
 * the service never does per job.
 *
 * The figures are taken in rounds of ROUND jobs each: a block of floor runs,
 * a block back to back, a block paced, a block of python3, so that the load
 * of a shared machine falls on all of them alike. Latency excludes the
 * pause. Usage: bench_validate [N] (jobs per figure, default 200, at least
 * ROUND, rounded up to whole rounds). Exit status: 0 when every figure meets
 * its target, 1 when one misses it, 2 when a figure could not be measured.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_percentile.h"
#include "config.h"
#include "floor_table.h"
#include "job_json.h"
#include "platform_floor.h"
#include "python_floor.h"
#include "runner_client.h"
#include "validation.h"

static const char job_json[] =
    "{\"candidate_code\": \"def solve(x):\\n  return x * x\\n\","
    " \"test_cases\": [{\"test_id\": \"t1\", \"inputs\": [2], \"expected_output\": 4},"
    "                  {\"test_id\": \"t2\", \"inputs\": [7], \"expected_output\": 49}]}";

/* the same module and calls, checked in the run (bare floor and naive gate) */
static const char floor_source[] =
    "def solve(x):\n  return x * x\n"
    "if (solve(2), solve(7)) != (4, 49):\n  raise ValueError('wrong result')\n";
static const char python_script[] =
    "def solve(x):\n  return x * x\n"
    "print(solve(2) == 4, solve(7) == 49)\n";

#define ROUND 20
#define MAX_JOBS 100000
#define PACED_PAUSE_MS 20
#define FLOOR_MIB 8         /* about the runner's private memory */
#define GATE_TARGET_RATIO 6.0 /* issue 9: gate latency at most 6x the floor */

enum { FIG_FLOOR, FIG_BACK_TO_BACK, FIG_PACED, FIG_PYTHON3, N_FIGS };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One job the naive way: a fresh interpreter, the source on the command line. */
static int python_once(void)
{
    int out[2];
    if (pipe(out) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl("/usr/bin/python3", "python3", "-I", "-S", "-c", python_script, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char buf[64];
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    close(out[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (n <= 0 || strncmp(buf, "True True", 9) != 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

/* One validation through the runner; its latency in ms, or negative on failure. */
static double gate_once(jt_runner_t *runner, const jt_job_t *job, int core)
{
    jt_validation_t v;
    jt_validation_init(&v);
    jt_error_t err;
    double t0 = now_ms();
    jt_status_t s = jt_runner_validate(runner, job, core, &v, &err);
    double ms = now_ms() - t0;
    bool ok = s == JT_OK && v.is_correct;
    if (!ok)
        fprintf(stderr, "validation failed: %s\n", s != JT_OK ? err.message : "incorrect");
    jt_validation_cleanup(&v);
    return ok ? ms : -1.0;
}

/* One round: ROUND samples of each figure into lat[fig][first..]. */
static int round_of(jt_runner_t *runner, const jt_job_t *job, int core, jt_python_floor_t *fl,
                    double *lat[N_FIGS], int first)
{
    if (jt_python_floor_runs(fl, ROUND, lat[FIG_FLOOR] + first, NULL) < 0) {
        fprintf(stderr, "a bare Python run failed\n");
        return -1;
    }
    /* an unrecorded lead-in job, so that every recorded one follows another at once */
    if (gate_once(runner, job, core) < 0)
        return -1;
    for (int i = first; i < first + ROUND; i++)
        if ((lat[FIG_BACK_TO_BACK][i] = gate_once(runner, job, core)) < 0)
            return -1;
    for (int i = first; i < first + ROUND; i++) {
        struct timespec pause = {.tv_sec = 0, .tv_nsec = PACED_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
        if ((lat[FIG_PACED][i] = gate_once(runner, job, core)) < 0)
            return -1;
    }
    for (int i = first; i < first + ROUND; i++) {
        double t0 = now_ms();
        if (python_once() < 0) {
            fprintf(stderr, "python3 baseline failed\n");
            return -1;
        }
        lat[FIG_PYTHON3][i] = now_ms() - t0;
    }
    return 0;
}

static int print_table(double *lat[N_FIGS], int n)
{
    static const char *const names[N_FIGS] = {
        [FIG_FLOOR] = "floor: bare forked Python run of the job",
        [FIG_BACK_TO_BACK] = "gate latency, back to back",
        [FIG_PACED] = "gate latency, paced 20 ms",
        [FIG_PYTHON3] = "python3 -I -S per job (naive; no target)"};
    double med[N_FIGS], p99[N_FIGS], busy = 0.0;
    for (int i = 0; i < n; i++)
        busy += lat[FIG_BACK_TO_BACK][i];
    for (int f = 0; f < N_FIGS; f++) {
        p99[f] = jt_bench_percentile(lat[f], (size_t)n, 0.99);
        med[f] = jt_bench_percentile(lat[f], (size_t)n, 0.5);
    }
    jt_floor_table_header();
    int missed = 0;
    for (int f = 0; f < N_FIGS; f++) {
        bool gate = f == FIG_BACK_TO_BACK || f == FIG_PACED;
        missed |= jt_floor_table_row(names[f], n, med[f], p99[f], med[FIG_FLOOR],
                                     gate ? GATE_TARGET_RATIO : 0.0);
    }
    printf("# back to back: %.1f jobs/s of busy time; rounds of %d jobs per figure, interleaved\n",
           busy > 0 ? n * 1e3 / busy : 0.0, ROUND);
    printf("# floor: fork of an initialised interpreter pinned to the gate's core, the job's\n"
           "#   module, solve(2) and solve(7) checked, _exit, wait (no sandbox, no protocol)\n");
    printf("# target: gate latency <= %.1fx the floor (a gate job is at least two process\n"
           "#   lifetimes, the sandbox child and its run, plus the protocol)\n",
           GATE_TARGET_RATIO);
    return missed;
}

int main(int argc, char **argv)
{
    long want = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
    if (want < ROUND)
        want = ROUND;
    if (want > MAX_JOBS)
        want = MAX_JOBS;
    int rounds = (int)((want + ROUND - 1) / ROUND), n = rounds * ROUND;
    jt_config_t cfg;
    jt_error_t err;
    if (jt_config_load(&cfg, &err) != JT_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 2;
    }
    jt_log_setup("bench", JT_LOG_WARN);
    jt_job_t job;
    jt_job_init(&job);
    if (jt_job_from_json(&job, job_json, strlen(job_json), &err) != JT_OK) {
        fprintf(stderr, "job: %s\n", err.message);
        return 2;
    }
    int rc = 2;
    double load = jt_floor_table_load();
    jt_runner_t *runner = NULL;
    jt_python_floor_t fl = {0};
    double *lat[N_FIGS] = {0};
    for (int f = 0; f < N_FIGS; f++)
        if ((lat[f] = calloc((size_t)n, sizeof *lat[f])) == NULL) {
            fprintf(stderr, "no memory\n");
            goto out;
        }
    if (jt_python_floor_open(&fl, floor_source, cfg.validate_core) < 0) {
        fprintf(stderr, "python: the embedded interpreter could not be initialised\n");
        goto out;
    }
    if (jt_runner_spawn(&cfg, &runner, &err) != JT_OK) {
        fprintf(stderr, "runner: %s\n", err.message);
        goto out;
    }
    for (int r = 0; r < rounds; r++)
        if (round_of(runner, &job, cfg.validate_core, &fl, lat, r * ROUND) < 0)
            goto out;
    jt_runner_destroy(runner);
    runner = NULL;
    rc = print_table(lat, n);
    jt_floor_table_print_load(load);
    jt_floor_print(FLOOR_MIB);
out:
    jt_runner_destroy(runner);
    jt_python_floor_close(&fl);
    for (int f = 0; f < N_FIGS; f++)
        free(lat[f]);
    jt_job_cleanup(&job);
    return rc;
}
