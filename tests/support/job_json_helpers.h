/* job_json_helpers.h -- bodies for jt_job_from_json and what to expect of it, for its tests.
 *
 * Each expect_* and assert_* function fails the running cmocka case, with the body and what
 * came back on stderr, when its expectation does not hold.
 */
#ifndef JT_TESTS_JOB_JSON_HELPERS_H
#define JT_TESTS_JOB_JSON_HELPERS_H

#include <stddef.h>

#include "job_json.h"
#include "text_builder.h"

#define CODE "\"def solve(a, b):\\n    return a + b\\n\""
#define TC "{\"inputs\":[1,2],\"expected_output\":3}"

/* The job is exactly as jt_job_init made it (a refused decode leaves nothing behind). */
void assert_job_clean(const jt_job_t *job);

/* A valid body plus extra top-level members (",\"k\":v"); malloc'd. */
char *body_with(const char *extra);

/* A valid body whose one test case has extra members; malloc'd. */
char *body_tc(const char *tc_extra);

/* jt_job_from_json refuses text[0..len) with code at path, with a message, and leaves the job
 * as jt_job_init made it. */
void expect_error_n(const char *text, size_t len, jt_status_t code, const char *path);

/* expect_error_n on the string text. */
void expect_error(const char *text, jt_status_t code, const char *path);

/* expect_error on a malloc'd body, then free it. */
void expect_error_free(char *text, jt_status_t code, const char *path);

/* jt_job_from_json refuses text with a message that contains fragment. */
void expect_message(const char *text, const char *fragment);

/* jt_job_from_json accepts text into *job (the caller cleans it up). */
void parse_ok(const char *text, jt_job_t *job);

/* parse_ok on a malloc'd body, then clean up the job and free the body. */
void expect_ok_free(char *text);

/* The blob holds exactly bytes[0..len). */
void assert_blob(const jt_blob_t *b, const char *bytes, size_t len);

/* Every optional field of job has its documented default. */
void assert_defaults(const jt_job_t *job);

#endif
