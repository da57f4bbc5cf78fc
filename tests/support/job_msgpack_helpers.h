/* job_msgpack_helpers.h -- msgpack jobs built by hand for jt_job_from_msgpack, and what to expect.
 *
 * Each expect_* function and the *_ok ones fail the running cmocka case, with what came back on
 * stderr, when their expectation does not hold.
 */
#ifndef JT_TESTS_JOB_MSGPACK_HELPERS_H
#define JT_TESTS_JOB_MSGPACK_HELPERS_H

#include <msgpack.h>
#include <stddef.h>

#include "job.h"
#include "status.h"

/* A byte-string literal as (pointer, length); the length counts embedded NULs. */
#define LIT(s) (s), (sizeof(s) - 1)

/* A msgpack buffer and its packer (the caller frees sb with msgpack_sbuffer_destroy). */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} mp_t;

/* Start m empty. */
void mp_init(mp_t *m);

/* Pack the string s. */
void mp_str(mp_t *m, const char *s);

/* Append bytes[0..n) as they are (a value packed by hand). */
void mp_raw(mp_t *m, const char *bytes, size_t n);

/* Start m as {"candidate_code": "...", "test_cases": [{"inputs": INPUTS, "expected_output": 1}]},
 * plus one more top-level member (key, raw value bytes) when key is not NULL. The caller frees
 * m->sb. */
void mp_job_with(mp_t *m, const char *inputs, size_t inputs_len, const char *key, const char *value,
                 size_t value_len);

/* jt_job_from_msgpack refuses data[0..len) with code at path, with a message, and leaves the job
 * as jt_job_init made it. */
void expect_mp_error(const void *data, size_t len, jt_status_t code, const char *path);

/* expect_mp_error on mp_job_with(...). */
void expect_mp_job_error(const char *inputs, size_t inputs_len, const char *key, const char *value,
                         size_t value_len, jt_status_t code, const char *path);

/* jt_job_from_msgpack accepts data[0..len) into *job (the caller cleans it up). */
void mp_decode_ok(const void *data, size_t len, jt_job_t *job);

/* mp_decode_ok on mp_job_with(...). */
void mp_job_with_ok(const char *inputs, size_t inputs_len, const char *key, const char *value,
                    size_t value_len, jt_job_t *job);

#endif
