/* test_validate_values.c -- what `jouletrace-worker validate` shows of values and errors. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "hostile_case.h"
#include "hostile_job.h"
#include "hostile_report.h"

/* One process runs one case (argv[1]), through the real worker, runner and sandbox. */

/* The text of field `key` of test_results[i], or "" when absent. */
static const char *result_text(json_t *results, size_t i, const char *key)
{
    const char *s = json_string_value(json_object_get(json_array_get(results, i), key));
    return s ? s : "";
}

/* A returned tuple is shown as a tuple (it compares equal to a list). */
static int case_tuple_result(ctx_t *c)
{
    json_t *job = hostile_job_new("def solve(x):\n    return (x, x * 2)\n", NULL, 10, 256);
    hostile_job_add(job, "pair", json_pack("[i]", 1), json_pack("[i, i]", 1, 2));
    hostile_job_add(job, "wrong", json_pack("[i]", 2), json_pack("[i, i]", 0, 0));
    run_job(c, "tuple_result", job, false);
    json_t *results = check_report(c, "tuple_result", 2, 1);
    if (results == NULL)
        return 0;
    check_record(c, results, 0, "pair", PASSED);
    if (strcmp(result_text(results, 0, "actual_output"), "(1, 2)") != 0)
        hostile_fail(c, "tuple_result", "actual_output %s, expected (1, 2)",
                     result_text(results, 0, "actual_output"));
    if (strcmp(result_text(results, 1, "actual_output"), "(2, 4)") != 0)
        hostile_fail(c, "tuple_result", "actual_output %s, expected (2, 4)",
                     result_text(results, 1, "actual_output"));
    return 0;
}

/* error_summary names the exception and its message, not the traceback's
 * first line; a chained exception gives the last one raised. */
static int case_exception_summary(ctx_t *c)
{
    json_t *job = hostile_job_new("def solve(x):\n"
                                  "    if x == 1:\n"
                                  "        raise ValueError('bad input %d' % x)\n"
                                  "    try:\n"
                                  "        {}['k']\n"
                                  "    except KeyError:\n"
                                  "        raise RuntimeError('while handling')\n",
                                  NULL, 10, 256);
    hostile_job_add(job, "plain", json_pack("[i]", 1), json_integer(1));
    hostile_job_add(job, "chained", json_pack("[i]", 2), json_integer(2));
    run_job(c, "exception_summary", job, false);
    json_t *results = check_report(c, "exception_summary", 2, 1);
    if (results == NULL)
        return 0;
    const char *summary = json_string_value(
        json_object_get(json_object_get(c->report, "validation"), "error_summary"));
    if (summary == NULL || strstr(summary, "plain (exception): ValueError: bad input 1") == NULL ||
        strstr(summary, "Traceback") != NULL)
        hostile_fail(c, "exception_summary", "error_summary %s", summary ? summary : "null");
    /* the record keeps the whole traceback */
    if (strstr(result_text(results, 1, "message"), "Traceback") == NULL ||
        strstr(result_text(results, 1, "message"), "RuntimeError: while handling") == NULL)
        hostile_fail(c, "exception_summary", "message of the chained test: %s",
                     result_text(results, 1, "message"));
    return 0;
}

/* 2**70 and -2**80 in inputs and expected outputs stay exact through JSON,
 * msgpack and Python; a wrong big answer is quoted exactly. The job is
 * written as JSON text: jansson itself holds 64-bit integers only. */
static int case_bigint(ctx_t *c)
{
    static const char job[] =
        "{\"candidate_code\": \"def solve(x, y):\\n    return [x * 2, y, (x, -x)]\\n\", "
        "\"test_cases\": ["
        "{\"test_id\": \"big\", \"inputs\": [1180591620717411303424, "
        "-1208925819614629174706176], \"expected_output\": [2361183241434822606848, "
        "-1208925819614629174706176, [1180591620717411303424, -1180591620717411303424]]},"
        "{\"test_id\": \"off_by_one\", \"inputs\": [1180591620717411303424, 0], "
        "\"expected_output\": [2361183241434822606849, 0, [1180591620717411303424, "
        "-1180591620717411303424]]}]}";
    run_job_text(c, "bigint", job);
    json_t *results = check_report(c, "bigint", 2, 1);
    if (results == NULL)
        return 0;
    check_record(c, results, 0, "big", PASSED);
    if (strcmp(result_text(results, 0, "actual_output"),
               "[2361183241434822606848, -1208925819614629174706176, "
               "(1180591620717411303424, -1180591620717411303424)]") != 0)
        hostile_fail(c, "bigint", "actual_output %s", result_text(results, 0, "actual_output"));
    if (strstr(result_text(results, 1, "message"), "expected [2361183241434822606849,") == NULL)
        hostile_fail(c, "bigint", "message of the wrong answer: %s",
                     result_text(results, 1, "message"));
    return 0;
}

static int run_case(ctx_t *c)
{
    if (strcmp(c->name, "bigint") == 0)
        return case_bigint(c);
    if (strcmp(c->name, "tuple_result") == 0)
        return case_tuple_result(c);
    if (strcmp(c->name, "exception_summary") == 0)
        return case_exception_summary(c);
    fprintf(stderr, "no test case named %s\n", c->name);
    return 1;
}

int main(int argc, char **argv)
{
    return hostile_main(argc, argv, run_case);
}
