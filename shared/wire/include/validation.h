/* validation.h -- the correctness gate's result: one record per test case plus a summary. */
#ifndef JT_VALIDATION_H
#define JT_VALIDATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define JT_MAX_MESSAGE_BYTES 2048u       /* test_results[].message */
#define JT_MAX_ACTUAL_REPR_BYTES 1024u   /* test_results[].actual_output */

typedef enum {
    JT_TEST_PASSED = 0,
    JT_TEST_WRONG_ANSWER,
    JT_TEST_EXCEPTION,
    JT_TEST_TIMEOUT,
    JT_TEST_MEMORY_LIMIT,
    JT_TEST_OUTPUT_LIMIT,
    JT_TEST_CRASHED,
    JT_TEST_NOT_SERIALIZABLE,
    JT_TEST_NOT_RUN,          /* skipped by stop_on_first_failure or the validation budget */
    JT_TEST_STATUS_COUNT
} jt_test_status_t;

/* Wire name of a test status ("passed", "wrong_answer", ...); never NULL. */
const char *jt_test_status_name(jt_test_status_t s);

typedef struct {
    char *test_id;        /* owned */
    bool passed;
    jt_test_status_t status;
    char *message;        /* owned, may be NULL; <= JT_MAX_MESSAGE_BYTES */
    char *actual_output;  /* owned repr, may be NULL; <= JT_MAX_ACTUAL_REPR_BYTES */
    double seconds;       /* wall time of the call, taken outside the candidate */
} jt_test_result_t;

typedef struct {
    bool is_correct;
    size_t passed_tests;
    size_t total_tests;
    double pass_rate;     /* 0..100 */
    char *error_summary;  /* owned, NULL when correct */
    jt_test_result_t *results; /* total_tests records, in request order */
} jt_validation_t;

/* Zero *v. */
void jt_validation_init(jt_validation_t *v);

/* Free what *v owns and zero it. */
void jt_validation_cleanup(jt_validation_t *v);

/* Compute is_correct, passed_tests, pass_rate and error_summary from the
 * records (error_summary names the first failing test and its status and
 * message). Returns 0, or -1 when out of memory. */
int jt_validation_summarise(jt_validation_t *v);

/* The result as JSON: {is_correct, passed_tests, total_tests, pass_rate,
 * error_summary, test_results: [...]}. New reference, NULL on no memory. */
json_t *jt_validation_to_json(const jt_validation_t *v);

/* Copy at most max bytes of s into a new NUL-terminated string, cutting at a
 * UTF-8 character boundary and appending "..." when cut (within max).
 * Returns NULL when out of memory or s == NULL. */
char *jt_strndup_bounded(const char *s, size_t len, size_t max);

#endif
