/* hostile_report.h -- the sandbox tests' judgement of the worker's report and side effects. */
#ifndef JT_TESTS_HOSTILE_REPORT_H
#define JT_TESTS_HOSTILE_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "hostile_case.h"

/* The accepted outcome of a normal call: passed. */
extern const expect_t PASSED[2];

/* Check the report's shape and summary against the exit code and n tests (failures of who);
 * returns test_results or NULL. */
json_t *check_report(ctx_t *c, const char *who, size_t n, int want_exit);

/* Test record i must be test_id and end in one of the accepted outcomes. */
void check_record(ctx_t *c, json_t *results, size_t i, const char *test_id, const expect_t ok[2]);

/* What candidate h may have left outside the report: a connection to the tcp case's socket, the
 * big file, jt-hostile-* files in the host's temporary directories (removed), a changed host
 * name. */
void check_side_effects(ctx_t *c, const hostile_t *h);

#endif
