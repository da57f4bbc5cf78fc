/* hostile_case.h -- one case of the sandbox tests: a hostile candidate through the worker.
 *
 * Each case is one process (argv[1] names it; exit 0 passed, 1 failed, 77 skipped) with its own
 * JOULETRACE_SANDBOX_DIR under the build tree. It runs `jouletrace-worker validate` on jobs of
 * candidates (hostile_job.h), captures what the worker prints, judges its report
 * (hostile_report.h), and checks that nothing the job started or wrote is left over. Failures are
 * counted and explained on stderr; the worker's output tails are printed once, when the case ends.
 * Paths come from tests/hostile.cmake (JT_WORKER_BIN, JT_RUNNER_BIN, JT_HOSTILE_DIR,
 * JT_SANDBOX_ROOT, compiled into jt-test-hostile).
 */
#ifndef JT_TESTS_HOSTILE_CASE_H
#define JT_TESTS_HOSTILE_CASE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define SKIPPED 77
#define BIG_FILE "jt_hostile_big.bin"

enum { ARG_NONE, ARG_PORT, ARG_FILE };

/* An accepted outcome: status, and an extended regex (case-insensitive) that
 * the message must match; NULL pattern = any message. */
typedef struct {
    const char *status;
    const char *pattern;
} expect_t;

/* A per-call hostile candidate: h_<kind>(arg) in hostile/candidates.py. */
typedef struct {
    const char *kind;
    expect_t ok[2];
    int arg;
    bool root_only;
    const char *expected; /* the test's expected output; NULL: "never returned" */
} hostile_t;

/* What was captured of one output stream: len bytes kept in buf (cap at most), total seen. */
typedef struct {
    char *buf;
    size_t cap, len, total;
    bool keep_tail; /* keep the last cap bytes instead of the first */
} stream_t;

/* State of one case and of its last worker command. */
typedef struct {
    const char *name;
    char sandbox[PATH_MAX]; /* this case's JOULETRACE_SANDBOX_DIR */
    char job_path[PATH_MAX];
    int failures;
    stream_t out;  /* the head of stdout */
    stream_t err;  /* the tail of stderr */
    int exit_code; /* -1 when killed by a signal */
    int term_signal;
    double wall;    /* seconds from fork to exit */
    json_t *report; /* parsed stdout, NULL if none */
    int listen_fd;  /* the tcp case's listening socket, -1 otherwise */
    int port;       /* its port */
    char hostname[256]; /* the host's name when the case began */
} ctx_t;

/* Record a failure of case c: which candidate (who) misbehaved and how. */
void hostile_fail(ctx_t *c, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A listening socket on a free 127.0.0.1 port, in this process, for the tcp candidate (its
 * port in c->port); exits when it cannot be made. */
void listen_loopback(ctx_t *c);

/* Write the job (consumed), run the worker on it (through stdin when via_stdin), then check
 * that the sandbox directory is empty and no process of the job is left (a failure of who).
 * Fills c->exit_code, wall, out, err and report. */
void run_job(ctx_t *c, const char *who, json_t *job, bool via_stdin);

/* The same for a job given as JSON text (written as is, passed by path): for
 * what jansson cannot hold, such as integers beyond 64 bits. */
void run_job_text(ctx_t *c, const char *who, const char *text);

/* Empty the sandbox directory, however deep its tree, and kill the job's processes. After a
 * command (who != NULL), what is left after a grace period counts as a failure of who. */
void hostile_sweep(ctx_t *c, const char *who);

/* The body of main(): prepare the case argv[1] (its sandbox directory swept of what an earlier
 * run left), run run_case on it, print the outcome. Returns main's exit status. */
int hostile_main(int argc, char **argv, int (*run_case)(ctx_t *c));

#endif
