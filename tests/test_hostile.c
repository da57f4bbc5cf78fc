/* test_hostile.c -- hostile calls through `jouletrace-worker validate` stay contained. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostile_case.h"
#include "hostile_job.h"
#include "hostile_report.h"

/* One process runs one case (argv[1]): one hostile call of tests/hostile/candidates.py, or all of
 * them in one job (suite_leaves_nothing). Paths come from tests/hostile.cmake. */

static const hostile_t HOSTILE[] = {
    {"call_loop", {{"timeout", NULL}}, ARG_NONE, false},
    {"memory", {{"memory_limit", NULL}}, ARG_NONE, false},
    {"fork_loop", {{"exception", "PermissionError|not permitted"}}, ARG_NONE, false},
    {"thread", {{"exception", "RuntimeError|can't start new thread"}}, ARG_NONE, false},
    {"tcp", {{"exception", NULL}}, ARG_PORT, false},
    {"big_file", {{"exception", "File too large"}}, ARG_FILE, false},
    {"big_print", {{"output_limit", NULL}}, ARG_NONE, false},
    {"print_loop", {{"output_limit", NULL}}, ARG_NONE, false},
    {"kill_parent", {{"exception", "PermissionError"}}, ARG_NONE, false},
    {"killpg", {{"exception", "PermissionError"}}, ARG_NONE, false},
    {"shadow", {{"exception", "PermissionError"}}, ARG_NONE, true},
    {"sys_exit", {{"exception", "SystemExit"}}, ARG_NONE, false},
    {"os_exit", {{"crashed", "(exit|code|status)[^0-9]*3([^0-9]|$)"}}, ARG_NONE, false},
    {"segfault", {{"crashed", "SIGSEGV"}}, ARG_NONE, false},
    {"recursion", {{"exception", "RecursionError"}, {"crashed", NULL}}, ARG_NONE, false},
    {"object", {{"not_serializable", NULL}}, ARG_NONE, false},
    {"set", {{"not_serializable", NULL}}, ARG_NONE, false},
    /* the worker's environment (a NATS URL with its password) never reaches a run */
    {"secrets", {{"exception", "LookupError|no secret visible"}}, ARG_NONE, false},
    /* signals by proxy (a descriptor's owner and O_ASYNC) and limits of others */
    {"fcntl_setown", {{"exception", "PermissionError"}}, ARG_NONE, false},
    {"fcntl_async", {{"exception", "PermissionError"}}, ARG_NONE, false},
    {"prlimit_parent", {{"exception", "PermissionError"}}, ARG_NONE, false},
};
#define N_HOSTILE (sizeof(HOSTILE) / sizeof(HOSTILE[0]))

/* One hostile call, then a normal call in the same job that must still pass. */
static int case_hostile(ctx_t *c, const hostile_t *h)
{
    if (h->root_only && geteuid() != 0) {
        printf("skipped: %s needs root\n", h->kind);
        return SKIPPED;
    }
    bool loop = strcmp(h->kind, "call_loop") == 0;
    int timeout = loop ? 2 : 10;
    json_t *job = hostile_job_new(hostile_candidates(), NULL, timeout,
                                  strcmp(h->kind, "memory") == 0 ? 256 : 1024);
    hostile_job_add_call(job, h, c->port);
    hostile_job_add(job, "control", json_pack("[s, i]", "square", 7), json_integer(49));
    run_job(c, h->kind, job, false);
    json_t *results = check_report(c, h->kind, 2, 1);
    if (results) {
        check_record(c, results, 0, h->kind, h->ok);
        check_record(c, results, 1, "control", PASSED);
    }
    if (loop && c->wall > timeout + 1.0)
        hostile_fail(c, h->kind, "command took %.2f s, limit %d s + 1 s", c->wall, timeout);
    check_side_effects(c, h);
    return 0;
}

/* Every per-call hostile candidate in ONE job between two normal calls. */
static int case_suite(ctx_t *c)
{
    /* big_print spends 1-2 s building and encoding its 100 MiB string on a
     * quiet host, several seconds on a loaded 2-core one */
    const int timeout = 15;
    json_t *job = hostile_job_new(hostile_candidates(), NULL, timeout, 1024);
    size_t n = 0;
    hostile_job_add(job, "control_first", json_pack("[s, i]", "square", 3), json_integer(9));
    n++;
    for (size_t i = 0; i < N_HOSTILE; i++) {
        if (!HOSTILE[i].root_only || geteuid() == 0) {
            hostile_job_add_call(job, &HOSTILE[i], c->port);
            n++;
        }
    }
    hostile_job_add(job, "control_last", json_pack("[s, i]", "square", 7), json_integer(49));
    n++;
    run_job(c, "suite", job, false);
    json_t *results = check_report(c, "suite", n, 1);
    if (!results)
        return 0;
    size_t k = 0;
    check_record(c, results, k++, "control_first", PASSED);
    for (size_t i = 0; i < N_HOSTILE; i++) {
        if (!HOSTILE[i].root_only || geteuid() == 0)
            check_record(c, results, k++, HOSTILE[i].kind, HOSTILE[i].ok);
        check_side_effects(c, &HOSTILE[i]);
    }
    check_record(c, results, k, "control_last", PASSED);
    return 0;
}

static int run_case(ctx_t *c)
{
    const char *n = c->name;
    if (strcmp(n, "tcp") == 0 || strcmp(n, "suite_leaves_nothing") == 0)
        listen_loopback(c);
    for (size_t i = 0; i < N_HOSTILE; i++)
        if (strcmp(n, HOSTILE[i].kind) == 0)
            return case_hostile(c, &HOSTILE[i]);
    if (strcmp(n, "suite_leaves_nothing") == 0)
        return case_suite(c);
    fprintf(stderr, "no test case named %s\n", n);
    return 1;
}

int main(int argc, char **argv)
{
    return hostile_main(argc, argv, run_case);
}
