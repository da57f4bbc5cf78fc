/* test_hostile_module.c -- hostile and broken modules through `jouletrace-worker validate`. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "hostile_case.h"
#include "hostile_job.h"
#include "hostile_report.h"

/* One process runs one case (argv[1]): a module that loops, lacks the function or does not
 * parse, a correct one, a refused job. Paths come from tests/hostile.cmake. */

/* Top-level `while True: pass`: every test times out, and only once. */
static int case_module_loop(ctx_t *c)
{
    static const expect_t timeout_ok[2] = {{"timeout", NULL}};
    const int timeout = 2;
    json_t *job = hostile_job_new("while True:\n    pass\n\n\ndef solve(x):\n    return x\n", NULL,
                                  timeout, 256);
    hostile_job_add(job, "t1", json_pack("[i]", 1), json_integer(1));
    hostile_job_add(job, "t2", json_pack("[i]", 2), json_integer(2));
    hostile_job_add(job, "t3", json_pack("[i]", 3), json_integer(3));
    run_job(c, "module_loop", job, false);
    json_t *results = check_report(c, "module_loop", 3, 1);
    for (size_t i = 0; results && i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "t%zu", i + 1);
        check_record(c, results, i, id, timeout_ok);
    }
    if (c->wall > timeout + 1.0)
        hostile_fail(c, "module_loop", "command took %.2f s, limit %d s + 1 s", c->wall, timeout);
    return 0;
}

/* Module-wide failures: every test is an exception whose message matches pattern. */
static int case_every_test(ctx_t *c, const char *who, const char *code, const char *function_name,
                           const char *pattern)
{
    const expect_t ok[2] = {{"exception", pattern}};
    json_t *job = hostile_job_new(code, function_name, 10, 256);
    hostile_job_add(job, "t1", json_pack("[s, i]", "square", 3), json_integer(9));
    hostile_job_add(job, "t2", json_pack("[s, i]", "square", 4), json_integer(16));
    run_job(c, who, job, false);
    json_t *results = check_report(c, who, 2, 1);
    if (results) {
        check_record(c, results, 0, "t1", ok);
        check_record(c, results, 1, "t2", ok);
    }
    return 0;
}

/* A correct candidate, job on stdin; list, scalar and object argument conventions. */
static int case_baseline(ctx_t *c)
{
    json_t *job = hostile_job_new("def solve(x):\n    return x * x\n", NULL, 10, 256);
    hostile_job_add(job, "list", json_pack("[i]", 3), json_integer(9));
    hostile_job_add(job, "scalar", json_integer(4), json_integer(16));
    hostile_job_add(job, "kwargs", json_pack("{s:i}", "x", 5), json_integer(25));
    run_job(c, "baseline", job, true);
    json_t *results = check_report(c, "baseline", 3, 0);
    if (!results)
        return 0;
    check_record(c, results, 0, "list", PASSED);
    check_record(c, results, 1, "scalar", PASSED);
    check_record(c, results, 2, "kwargs", PASSED);
    json_t *v = json_object_get(c->report, "validation");
    if (json_number_value(json_object_get(v, "pass_rate")) != 100.0 ||
        !json_is_null(json_object_get(v, "error_summary")))
        hostile_fail(c, "baseline", "pass_rate should be 100 and error_summary null");
    return 0;
}

/* timeout_seconds out of range: exit 2 with a message, nothing run. */
static int case_bad_input(ctx_t *c)
{
    json_t *job = hostile_job_new("def solve(x):\n    return x\n", NULL, 0, 256);
    hostile_job_add(job, "t1", json_pack("[i]", 1), json_integer(1));
    run_job(c, "bad_input", job, false);
    if (c->exit_code != 2)
        hostile_fail(c, "bad_input", "timeout_seconds 0: exit code %d, expected 2", c->exit_code);
    if (c->err.total == 0)
        hostile_fail(c, "bad_input", "no message on stderr");
    return 0;
}

static int run_case(ctx_t *c)
{
    const char *n = c->name;
    if (strcmp(n, "module_loop") == 0)
        return case_module_loop(c);
    if (strcmp(n, "missing_function") == 0)
        return case_every_test(c, n, hostile_candidates(), "compute",
                               "compute.*(not found|not defined|missing|no function|no attribute)"
                               "|(not found|not defined|missing|no function).*compute");
    if (strcmp(n, "syntax_error") == 0)
        return case_every_test(c, n, "def solve(kind, arg)\n    return arg\n", NULL, "SyntaxError");
    if (strcmp(n, "baseline") == 0)
        return case_baseline(c);
    if (strcmp(n, "bad_input") == 0)
        return case_bad_input(c);
    fprintf(stderr, "no test case named %s\n", n);
    return 1;
}

int main(int argc, char **argv)
{
    return hostile_main(argc, argv, run_case);
}
