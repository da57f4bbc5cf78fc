/* bench_validate.c -- latency and throughput of the correctness gate through the sandbox.
 *
 * Validates a trivial job (the seed README's square example) N times through
 * one jouletrace-runner (fork from the pre-initialised interpreter per job),
 * and, side by side, the naive approach: start /usr/bin/python3 -I -S per job.
 * The sandbox runs twice: back to back (the next job arrives the moment the
 * last one ended, so the runner's preparation of the next confined child
 * competes with it), and paced (a 20 ms pause between jobs, as when jobs
 * arrive one at a time: the next child is ready). jobs/s counts busy time
 * only. Prints one table. Usage: bench_validate [N] (default 200).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "job_json.h"
#include "platform_floor.h"
#include "runner_client.h"
#include "validation.h"

static const char job_json[] =
    "{\"candidate_code\": \"def solve(x):\\n  return x * x\\n\","
    " \"test_cases\": [{\"test_id\": \"t1\", \"inputs\": [2], \"expected_output\": 4},"
    "                  {\"test_id\": \"t2\", \"inputs\": [7], \"expected_output\": 49}]}";

#define PACED_PAUSE_MS 20
#define FLOOR_MIB 8 /* about the runner's private memory */

static const char python_script[] =
    "def solve(x):\n  return x * x\n"
    "print(solve(2) == 4, solve(7) == 49)\n";

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *method;
    int n;
    double median_ms, p99_ms, jobs_per_s;
} row_t;

static row_t summarise(const char *method, double *lat, int n, double total)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    int p99 = (int)(0.99 * (n - 1) + 0.5);
    row_t r = {method, n, lat[n / 2] * 1e3, lat[p99] * 1e3, n / total};
    return r;
}

/* One job the naive way: a fresh interpreter, the source on the command line. */
static int python_once(void)
{
    int out[2];
    if (pipe(out) < 0)
        return -1;
    pid_t pid = fork();
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
    waitpid(pid, &status, 0);
    if (n <= 0 || strncmp(buf, "True True", 9) != 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

/* n validations through the runner, each pause_ms after the previous one
 * ended (0: back to back). Latency excludes the pause. */
static int sandbox_jobs(jt_runner_t *runner, const jt_job_t *job, const jt_config_t *cfg,
                        double *lat, int n, int pause_ms, const char *method, row_t *row)
{
    jt_error_t err;
    double busy = 0.0;
    for (int i = 0; i < n; i++) {
        if (pause_ms > 0) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = pause_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
        jt_validation_t v;
        jt_validation_init(&v);
        double s = now_seconds();
        if (jt_runner_validate(runner, job, cfg->validate_core, &v, &err) != JT_OK ||
            !v.is_correct) {
            fprintf(stderr, "validation failed: %s\n", err.message);
            return -1;
        }
        lat[i] = now_seconds() - s;
        busy += lat[i];
        jt_validation_cleanup(&v);
    }
    *row = summarise(method, lat, n, busy);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    if (n < 10)
        n = 10;
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
    double *lat = calloc((size_t)n, sizeof *lat);
    jt_runner_t *runner;
    if (lat == NULL || jt_runner_spawn(&cfg, &runner, &err) != JT_OK) {
        fprintf(stderr, "runner: %s\n", lat ? err.message : "no memory");
        return 1;
    }
    row_t sandbox, paced;
    if (sandbox_jobs(runner, &job, &cfg, lat, n, 0, "sandbox fork, back to back", &sandbox) < 0 ||
        sandbox_jobs(runner, &job, &cfg, lat, n, PACED_PAUSE_MS, "sandbox fork, paced 20 ms",
                     &paced) < 0)
        return 1;
    jt_runner_destroy(runner);

    double t0;
    t0 = now_seconds();
    for (int i = 0; i < n; i++) {
        double s = now_seconds();
        if (python_once() < 0) {
            fprintf(stderr, "python3 baseline failed\n");
            return 1;
        }
        lat[i] = now_seconds() - s;
    }
    row_t naive = summarise("/usr/bin/python3 -I -S per job", lat, n, now_seconds() - t0);

    printf("%-34s %6s %12s %10s %10s\n", "method", "jobs", "median_ms", "p99_ms", "jobs/s");
    const row_t *rows[] = {&sandbox, &paced, &naive};
    for (int i = 0; i < 3; i++)
        printf("%-34s %6d %12.3f %10.3f %10.1f\n", rows[i]->method, rows[i]->n,
               rows[i]->median_ms, rows[i]->p99_ms, rows[i]->jobs_per_s);
    printf("speedup (median): %.1fx; target: median <= 5 ms and >= 4x\n",
           naive.median_ms / sandbox.median_ms);
    jt_floor_print(FLOOR_MIB);
    printf("# a gate job is at least two process lifetimes (the sandbox child and its run),\n"
           "# each a fork, copy-on-write faults on every page Python writes, an exit and a wait.\n");
    free(lat);
    jt_job_cleanup(&job);
    return 0;
}
