/* pipeline_record.h -- the pipeline tests' judgement of a task record: fields, numbers, blocks. */
#ifndef JT_TESTS_PIPELINE_RECORD_H
#define JT_TESTS_PIPELINE_RECORD_H

#include <jansson.h>
#include <stdbool.h>

#include "pipeline_fixture.h"

/* Print title and j (compact JSON, at most 6000 bytes; "(null)" for NULL) to stderr. */
void pl_show(const char *title, const json_t *j);

/* Every key of `keys` (NULL-terminated) is present in obj; else fail showing obj. */
void pl_require_keys(const pl_t *pl, const json_t *obj, const char *where, const char *const *keys);

/* A number at path in rec; fails when absent or not a number. */
double num_at(const pl_t *pl, const json_t *rec, const char *path);

/* The validation block of rec: every field, is_correct as correct, passed of total tests. */
void check_validation(const pl_t *pl, const json_t *rec, bool correct, long passed, long total);

/* Every field of a completed result (docs/measurement.md "The result"), measured with the
 * rapl-sysfs meter on core 1 of socket 0 with a calibration. */
void check_completed(const pl_t *pl, const json_t *rec, long tests);

#endif
